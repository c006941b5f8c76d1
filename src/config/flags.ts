import { parseArgs } from 'node:util';
import { didYouMean } from '../core/did-you-mean.js';
import { errors } from '../core/errors.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export type FlagValues<S extends FlagSpec> = {
  [K in keyof S]?: S[K]['type'] extends 'string' ? string : boolean;
};

/**
 * node:util parseArgs with one-line errors that name the option. Parsing is lenient and the
 * checks are done here on the tokens, so messages do not depend on Node's wording.
 */
export function parseFlags<S extends FlagSpec>(
  argv: string[],
  spec: S,
  options: { maxPositionals?: number; usage?: string } = {},
): { values: FlagValues<S>; positionals: string[] } {
  const { values, positionals, tokens } = parseArgs({ args: argv, options: spec, strict: false, allowPositionals: true, tokens: true });
  const see = options.usage ?? 'see --help';
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const known = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    if (known === undefined) {
      const allowed = Object.keys(spec).map((name) => `--${name}`).join(', ');
      const near = didYouMean(token.name, Object.keys(spec), (name) => `--${name}`);
      throw errors.configInvalid(`option ${token.rawName}`, `there is no such option${near}; allowed: ${allowed}`);
    }
    if (known.type === 'string') {
      // A missing value makes parseArgs take the next option as the value (`--port --host x`), but
      // values may begin with a dash: base64url tokens do about once in 64 (`--token -Abc…`).
      const missing = token.value === undefined || (token.inlineValue !== true && looksLikeOption(token.value, spec));
      if (missing) throw errors.configInvalid(`option ${token.rawName}`, `it needs a value (${see})`);
    } else if (token.inlineValue === true) {
      throw errors.configInvalid(`option ${token.rawName}`, `it takes no value (${see})`);
    }
  }
  const max = options.maxPositionals ?? 0;
  if (positionals.length > max) {
    const extra = positionals[max]!;
    throw errors.configInvalid(`argument "${extra}"`, max === 0 ? `this command takes no arguments (${see})` : `too many arguments (${see})`);
  }
  return { values: values as FlagValues<S>, positionals };
}

/**
 * Whether a value taken after a string option is rather the next option: one of this command's
 * (`--host`, `--host=x`, `-h`), or a word-like `--name` / `-n`. Random values such as tokens
 * (`-Abc3_x…`, mixed case and digits) are not mistaken for options.
 */
function looksLikeOption(value: string, spec: FlagSpec): boolean {
  if (!value.startsWith('-') || value.length === 1) return false;
  const name = value.startsWith('--') ? value.slice(2).split('=')[0]! : undefined;
  if (name !== undefined && Object.hasOwn(spec, name)) return true;
  if (Object.values(spec).some((flag) => flag.short !== undefined && value === `-${flag.short}`)) return true;
  return /^--?[a-z][a-z-]*(=.*)?$/.test(value);
}
