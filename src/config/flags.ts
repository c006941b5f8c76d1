import { parseArgs } from 'node:util';
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
      throw errors.configInvalid(`option ${token.rawName}`, `there is no such option; allowed: ${allowed}`);
    }
    if (known.type === 'string') {
      // A missing value makes parseArgs take the next option as the value (`--port --host x`).
      const missing = token.value === undefined || (token.inlineValue !== true && token.value.startsWith('-') && token.value.length > 1);
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
