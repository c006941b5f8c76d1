/**
 * docs/architecture.md's folder table is checked against the imports of src/, so it cannot drift:
 * every source file sits in a folder of the table, and each row's "depends on" names exactly the
 * table folders its files import (type-only and dynamic imports count).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { packageRoot } from '../../src/platform/package-root.js';
import { formatDependsOn, importGraph, parseDependsOn, readFolderTable } from './imports.js';

const root = packageRoot();
const srcRoot = path.join(root, 'src');
const rows = readFolderTable(fs.readFileSync(path.join(root, 'docs/architecture.md'), 'utf8'));
const folders = rows.map((row) => row.folder);
const graph = importGraph(srcRoot, folders);

test('the folder table lists existing folders, each once', () => {
  assert.ok(rows.length > 10, 'docs/architecture.md has no folder table');
  assert.deepEqual(folders.filter((folder, i) => folders.indexOf(folder) !== i), [], 'folders listed twice');
  assert.deepEqual(folders.filter((folder) => !fs.existsSync(path.join(srcRoot, folder))), [], 'rows for folders that do not exist');
});

test('every source file under src/ belongs to a folder of the table', () => {
  assert.deepEqual(graph.unplaced, [], 'add a row to the folder table of docs/architecture.md for these files');
});

test('each row\'s "depends on" matches the imports of its files', () => {
  const wrong: string[] = [];
  for (const row of rows) {
    const written = parseDependsOn(row.dependsOn);
    const actual = graph.dependsOn.get(row.folder)!;
    const unknown = written.filter((name) => !folders.includes(name));
    const missing = [...actual].filter((name) => !written.includes(name));
    const extra = written.filter((name) => folders.includes(name) && !actual.has(name));
    if (unknown.length + missing.length + extra.length === 0) continue;
    const because = missing.map((name) => `${name} (e.g. ${graph.example.get(`${row.folder} → ${name}`)})`);
    wrong.push(
      `docs/architecture.md:${row.line} src/${row.folder}/: write "${formatDependsOn(actual, folders)}"` +
        (because.length > 0 ? `; imported but not listed: ${because.join(', ')}` : '') +
        (extra.length > 0 ? `; listed but not imported: ${extra.join(', ')}` : '') +
        (unknown.length > 0 ? `; not a folder of the table: ${unknown.join(', ')}` : ''),
    );
  }
  assert.deepEqual(wrong, []);
});

test('only the composition root imports the dashboard', () => {
  const importers = [...graph.dependsOn].filter(([folder, targets]) => folder !== 'platform' && targets.has('dashboard')).map(([folder]) => folder);
  assert.deepEqual(importers, []);
});
