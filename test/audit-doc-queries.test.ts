/**
 * Every example query in docs/audit.md runs against the DuckDB file of an audit that found
 * nothing to report in several analysers (no duplicates, no leakage table rows, no rare class):
 * a query a user copies from the docs must not depend on this audit having found something.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateSynthPool, synthDraft } from '../src/pool/synth.ts';
import { writePool } from '../src/pool/write.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/** The statements of docs/audit.md's first ```sql block under "Example queries". */
async function docQueries(): Promise<string[]> {
  const md = await readFile(join(ROOT, 'docs', 'audit.md'), 'utf8');
  const at = md.indexOf('### Example queries');
  const block = /```sql\n([\s\S]*?)```/.exec(md.slice(at))![1];
  const code = block.split('\n').filter((l) => !l.trim().startsWith('--')).join('\n');
  return code.split(';').map((s) => s.trim()).filter(Boolean);
}

describe('docs/audit.md example queries', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sieve-doc-sql-'));
    // Well separated, no copies, no noise, equal classes: duplicates and class-imbalance find nothing.
    const pool = generateSynthPool({ name: 'clean', rows: 600, dim: 16, classes: 3, separation: 6, noise: 0, exactDups: 0, nearDups: 0, crossSplitFraction: 0, seed: 5 });
    await writePool(join(dir, 'pool'), { ...synthDraft(pool), testVisibility: 'participant' });
    const ids = pool.train.columns.find((c) => c.name === 'id')!.values as (string | null)[];
    await writeFile(join(dir, 'subset.csv'), `id\n${ids.slice(0, 200).join('\n')}\n`);
  });
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  it('all bind and run on an audit whose duplicates and imbalance tables are empty', async () => {
    const db = join(dir, 'audit.duckdb');
    await run(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'audit', join(dir, 'pool'), '--subset', join(dir, 'subset.csv'), '--db', db, '--json'], { cwd: dir, env: { ...process.env, CI: '1' }, maxBuffer: 64 << 20 });
    const queries = await docQueries();
    expect(queries.length).toBeGreaterThanOrEqual(6);
    const failures: string[] = [];
    for (const q of queries) {
      try {
        await run(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'sql', db, q, '--json'], { cwd: dir, env: { ...process.env, CI: '1' } });
      } catch (err) {
        failures.push(`${q.split('\n')[0]} → ${(err as { stderr: string }).stderr.split('\n')[0]}`);
      }
    }
    expect(failures).toEqual([]);
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'sql', db, "SELECT count(*) AS n FROM findings_duplicates", '--json'], { cwd: dir });
    expect(JSON.parse(stdout)).toEqual([{ n: 0 }]);
  }, 120_000);
});
