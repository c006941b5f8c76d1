import { isIP } from 'node:net';

/**
 * Parsers for single settings. Flags and environment variables arrive as strings, file values as
 * JSON/YAML values; each parser accepts both and throws `Invalid` saying what is allowed.
 */
export class Invalid extends Error {
  override readonly name = 'Invalid';
}

export type Parser<T> = (raw: unknown) => T;

export const port: Parser<number> = (raw) => {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : undefined;
  if (text === undefined || !/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new Invalid('use a port number from 0 to 65535 (0 picks a free port)');
  }
  return Number(text);
};

// Rules out URLs and `host:port`, which people paste by habit.
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export const host: Parser<string> = (raw) => {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (isIP(text) === 0 && !HOST_NAME.test(text)) {
    throw new Invalid('use a host name or IP address to bind to, e.g. 0.0.0.0, 127.0.0.1 or ::');
  }
  return text;
};

export const nonEmptyPath: Parser<string> = (raw) => {
  if (typeof raw !== 'string' || raw.trim() === '' || raw.includes('\0')) {
    throw new Invalid('use a directory path');
  }
  return raw;
};

export function oneOf<T extends string>(allowed: readonly T[], note = ''): Parser<T> {
  return (raw) => {
    const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
    const found = allowed.find((value) => value === text);
    if (found === undefined) throw new Invalid(`use one of ${allowed.join(', ')}${note}`);
    return found;
  };
}

/** Secrets are never echoed back in messages; see configInvalid's callers. */
export function secret(what: string, minLength: number): Parser<string> {
  return (raw) => {
    if (typeof raw !== 'string' || raw.length < minLength || /\s/.test(raw)) {
      throw new Invalid(`use ${what} of at least ${minLength} characters without spaces`);
    }
    return raw;
  };
}

export const filePath: Parser<string> = (raw) => {
  if (typeof raw !== 'string' || raw.trim() === '' || raw.includes('\0')) {
    throw new Invalid('use the path of a PEM file');
  }
  return raw;
};

/** A limit: an integer (or, with `fractional`, any number) of at least `min`. */
export function limitValue(min: number, fractional = false): Parser<number> {
  return (raw) => {
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
    const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(value) || value < min || (!fractional && !Number.isInteger(value)) || value > Number.MAX_SAFE_INTEGER) {
      throw new Invalid(`use ${fractional ? 'a number' : 'a whole number'} of at least ${min}`);
    }
    return value;
  };
}

/** A connection URL with one of the given schemes; never echoed (it may hold a password). */
export function serviceUrl(what: string, schemes: readonly string[], example: string): Parser<string> {
  return (raw) => {
    const text = typeof raw === 'string' ? raw.trim() : '';
    const ok = text.split(',').every((part) => {
      try {
        return schemes.includes(new URL(part.trim()).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    });
    if (!ok) throw new Invalid(`use a ${what} URL (${schemes.map((s) => `${s}://`).join(' or ')}), e.g. ${example}`);
    return text;
  };
}

/** Node IDs appear in the database and in NATS subjects' payloads: keep them short and plain. */
export const nodeId: Parser<string> = (raw) => {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(text)) throw new Invalid('use 1-64 letters, digits, ".", "_", ":" or "-", e.g. tether-1');
  return text;
};

/** An absolute http(s) URL without query or fragment; kept without its trailing slash. */
export const httpUrl: Parser<string> = (raw) => {
  const text = typeof raw === 'string' ? raw.trim() : '';
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '') throw new Invalid('use an http:// or https:// URL without query, e.g. https://tether.example.com');
  return text.replace(/\/+$/, '');
};
