import { errors } from '../core/errors.js';

/** Plain-text tables for the terminal: fixed columns, no colours (output is often piped). */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** A JSON object given on the command line, e.g. --metadata '{"model":"A300"}'. */
export function parseJsonObject(flag: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(flag, text, `use a JSON object, e.g. ${flag} '{"model": "MySmartMeter A300"}'`);
  }
  return value as Record<string, unknown>;
}

export function parseCount(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    return invalid(flag, text, `use a whole number of at least ${min}`);
  }
  return Number(text);
}

function invalid(flag: string, text: string, problem: string): never {
  throw errors.configInvalid(`${flag} ${JSON.stringify(text)}`, problem);
}
