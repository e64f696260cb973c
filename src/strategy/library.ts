/**
 * The built-in strategy library: readable strategies in the package's `strategies/` folder,
 * one file each, run exactly as a participant's copy of the file would be (the same runners,
 * the same sandbox: no trusted shortcut), so `sieve baselines` scores what a user gets with
 * `sieve strategy show NAME > mine.sql`. Each file's first comment line is its summary; its
 * header says what it does, when it helps and which tasks it applies to.
 *
 * Adding one is a file in strategies/ and one line here. Import-free but for node: and the
 * package root, so `sieve strategy list` stays cheap.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../util/package-root.ts';

export type LibraryTask = 'selection' | 'relabel' | 'ranking';

export interface LibraryEntry {
  name: string;
  /** File name in strategies/ (the extension gives the kind). */
  file: string;
  /** Tasks it applies to (the exports it has, for code; what it returns, for SQL). */
  tasks: readonly LibraryTask[];
  /** What the challenge's pool must have besides features and labels. */
  needs?: 'groups';
}

/** One line per strategy. */
export const LIBRARY: readonly LibraryEntry[] = [
  { name: 'dedupe', file: 'dedupe.sql', tasks: ['selection'] },
  { name: 'drop-label-issues', file: 'drop-label-issues.sql', tasks: ['selection'] },
  { name: 'relabel-suggested', file: 'relabel-suggested.sql', tasks: ['relabel'] },
  { name: 'class-rebalance', file: 'class-rebalance.sql', tasks: ['selection'] },
  { name: 'k-center', file: 'k-center.ts', tasks: ['selection'] },
  { name: 'cluster-stratified', file: 'cluster-stratified.ts', tasks: ['selection'] },
  { name: 'uncertainty', file: 'uncertainty.ts', tasks: ['selection', 'ranking'] },
  { name: 'class-agreement', file: 'class-agreement.ts', tasks: ['selection'] },
  { name: 'fair-resample', file: 'fair-resample.ts', tasks: ['selection'], needs: 'groups' },
];

/** The folder holding the library's files. */
export const LIBRARY_DIR = join(PACKAGE_ROOT, 'strategies');

export function libraryPath(entry: LibraryEntry): string {
  return join(LIBRARY_DIR, entry.file);
}

export function libraryKind(entry: LibraryEntry): 'sql' | 'ts' {
  return entry.file.endsWith('.sql') ? 'sql' : 'ts';
}

/** The entry called `name`, or undefined. */
export function libraryEntry(name: string): LibraryEntry | undefined {
  return LIBRARY.find((e) => e.name === name);
}

/** The library strategies that apply to a challenge of `task` whose pool has `groups` group columns. */
export function applicableStrategies(task: string, groups: number): LibraryEntry[] {
  return LIBRARY.filter((e) => (e.tasks as readonly string[]).includes(task) && (e.needs !== 'groups' || groups > 0));
}

/** The file's first comment line after "NAME: " (its summary). */
export function librarySummary(text: string): string {
  const first = text.split('\n').find((l) => /^\s*(--|\/\*\*|\*|\/\/)/.test(l) && /\w/.test(l.replace(/^\s*(--|\/\*\*|\*|\/\/)\s*/, '')));
  const line = (first ?? '').replace(/^\s*(--|\/\*\*|\*|\/\/)\s*/, '').trim();
  return line.replace(/^[\w-]+:\s*/, '');
}

/** The file's text. */
export function libraryText(entry: LibraryEntry): string {
  return readFileSync(libraryPath(entry), 'utf8');
}
