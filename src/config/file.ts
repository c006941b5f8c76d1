import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../core/errors.js';

/**
 * Reads the config file: `.json` as JSON, anything else as YAML (a superset of JSON).
 * Resolves with the top-level mapping; an empty file is an empty mapping.
 */
export async function readConfigFile(file: string, source: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'the file does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : `it cannot be read (${code ?? 'unknown error'})`;
    throw errors.configInvalid(`${source} "${file}"`, `${problem}; point it at a YAML or JSON config file`);
  }
  const value = path.extname(file).toLowerCase() === '.json' ? parseJson(file, text) : await parseYaml(file, text);
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw errors.configInvalid(`config file ${file}`, 'the top level must be a mapping of settings, e.g. "mqttPort: 1883"');
  }
  return value as Record<string, unknown>;
}

function parseJson(file: string, text: string): unknown {
  try {
    return text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw errors.configInvalid(`config file ${file}`, `it is not valid JSON (${oneLine((err as Error).message)})`);
  }
}

async function parseYaml(file: string, text: string): Promise<unknown> {
  const { parseDocument } = await import('yaml');
  // With prettyErrors (the default) the first line of a message names the line and column.
  const doc = parseDocument(text, { uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    throw errors.configInvalid(`config file ${file}`, `it is not valid YAML (${oneLine(first.message)})`);
  }
  return doc.toJS();
}

function oneLine(message: string): string {
  return message.split('\n')[0]!.replace(/[.:]\s*$/, '');
}
