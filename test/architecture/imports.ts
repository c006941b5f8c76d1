/**
 * The folder table of docs/architecture.md against the imports of src/: which table folder each
 * source file belongs to (the longest folder of the table that holds it), and which other table
 * folders its imports reach (type-only and dynamic imports count: a type is a dependency too).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface FolderRow {
  /** Folder under src/ without slashes at either end, e.g. `storage/postgres`. */
  folder: string;
  /** The "depends on" cell as written. */
  dependsOn: string;
  /** Line of the row in the document (1-based). */
  line: number;
}

const ROW = /^\|\s*`src\/([^`]+?)\/?`\s*\|(.*)\|([^|]*)\|\s*$/;

/** The rows of the first table whose header has a "depends on" column. */
export function readFolderTable(markdown: string): FolderRow[] {
  const rows: FolderRow[] = [];
  markdown.split('\n').forEach((text, index) => {
    const match = ROW.exec(text);
    if (match) rows.push({ folder: match[1]!, dependsOn: match[3]!.trim(), line: index + 1 });
  });
  return rows;
}

/** `core, storage (the interfaces), bus` → core, storage, bus; `nothing` → none. Parenthesised notes are ignored. */
export function parseDependsOn(cell: string): string[] {
  const plain = cell.replace(/\([^)]*\)/g, '').replace(/`/g, '').trim();
  if (plain === 'nothing' || plain === '') return [];
  return plain.split(',').map((name) => name.trim().replace(/\/$/, '')).filter((name) => name.length > 0);
}

const SOURCE = /\.(ts|tsx)$/;

export function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') files.push(...sourceFiles(full));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      files.push(full);
    }
  }
  return files;
}

/** Relative imports of one file, resolved to paths under `root` (extension dropped). */
export function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.(js|ts|tsx|json)$/, ''));
}

/** The table folder holding `file` (the longest match), or undefined when no row holds it. */
export function folderOf(srcRoot: string, file: string, folders: readonly string[]): string | undefined {
  const relative = path.relative(srcRoot, file).split(path.sep).join('/');
  let best: string | undefined;
  for (const folder of folders) {
    if (relative.startsWith(`${folder}/`) && (best === undefined || folder.length > best.length)) best = folder;
  }
  return best;
}

export interface ImportGraph {
  /** Table folder → the other table folders its files import. */
  dependsOn: Map<string, Set<string>>;
  /** Source files no row of the table holds. */
  unplaced: string[];
  /** Every import edge between two folders, for messages: `from → to` with one example file each. */
  example: Map<string, string>;
}

export function importGraph(srcRoot: string, folders: readonly string[]): ImportGraph {
  const dependsOn = new Map(folders.map((folder) => [folder, new Set<string>()]));
  const unplaced: string[] = [];
  const example = new Map<string, string>();
  for (const file of sourceFiles(srcRoot)) {
    const from = folderOf(srcRoot, file, folders);
    if (from === undefined) {
      unplaced.push(path.relative(srcRoot, file));
      continue;
    }
    for (const target of importsOf(file)) {
      if (!target.startsWith(srcRoot + path.sep)) continue;
      const to = folderOf(srcRoot, target + '.ts', folders);
      if (to === undefined || to === from) continue;
      dependsOn.get(from)!.add(to);
      const key = `${from} → ${to}`;
      if (!example.has(key)) example.set(key, path.relative(srcRoot, file));
    }
  }
  return { dependsOn, unplaced, example };
}

/** The order the table lists dependencies in: the table's own row order. */
export function formatDependsOn(dependencies: Iterable<string>, folders: readonly string[]): string {
  const sorted = [...dependencies].sort((a, b) => folders.indexOf(a) - folders.indexOf(b));
  return sorted.length === 0 ? 'nothing' : sorted.join(', ');
}
