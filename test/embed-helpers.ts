/**
 * Shared by the embedding tests: whether the optional embedding stack is installed (they skip
 * with the install command when it is not, and fail under CI, which must install it), the
 * committed tiny models, and a small real text pool (SpamAssassin messages from the built-in
 * pool, re-imported as a user would). Image folders: test/image-fixtures.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddingStackInstalled, installCommand } from '../src/embed/runtime.ts';
import { queryRows, withDb } from '../src/pool/duckdb.ts';
import { importPool } from '../src/pool/import/index.ts';
import { sqlString } from '../src/pool/sql-text.ts';

export const ROOT = join(import.meta.dirname, '..');
export const TINY_BERT = join(ROOT, 'test', 'fixtures', 'models', 'tiny-bert');
export const TINY_VIT = join(ROOT, 'test', 'fixtures', 'models', 'tiny-vit');

export const EMBED_STACK = embeddingStackInstalled();
if (!EMBED_STACK) {
  if (process.env.CI)
    throw new Error(`CI runs the embedding tests: the embedding stack is not installed (.ci/run installs it: ${installCommand()})`);
  console.warn(`skipping the embedding tests: the optional embedding stack is not installed; install it with: ${installCommand()}`);
}

/**
 * `ham` + `spam` messages of the built-in spam-assassin pool (the first of each class in file
 * order) as a JSON Lines file, imported with a stratified 25% test split.
 */
export async function spamTextPool(dir: string, opts: { ham?: number; spam?: number } = {}): Promise<string> {
  const file = join(ROOT, 'pools', 'spam-assassin', 'train.parquet');
  const rows = await withDb((conn) =>
    queryRows(
      conn,
      `SELECT id, label, text FROM (
         (SELECT id, label, text, file_row_number FROM read_parquet(${sqlString(file)}, file_row_number = true) WHERE label = 'ham' ORDER BY file_row_number LIMIT ${opts.ham ?? 120})
         UNION ALL
         (SELECT id, label, text, file_row_number FROM read_parquet(${sqlString(file)}, file_row_number = true) WHERE label = 'spam' ORDER BY file_row_number LIMIT ${opts.spam ?? 60})
       ) ORDER BY file_row_number`,
    ),
  );
  const jsonl = join(dir, 'messages.jsonl');
  writeFileSync(jsonl, rows.map((r) => JSON.stringify({ id: r.id, label: r.label, text: r.text })).join('\n') + '\n');
  const out = join(dir, 'spam-small');
  await importPool({ input: jsonl, out, kinds: { text: 'text' }, testFraction: 0.25, seed: 1 });
  return out;
}

