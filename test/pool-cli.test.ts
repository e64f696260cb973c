/** `sieve pool list|info|head|export` as a user runs them, on the committed built-in pools. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArrowIpc } from '../src/pool/arrow.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { tempDir } from './pool-helpers.ts';

function sieve(...args: string[]) {
  const r = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'sieve.mjs'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

describe('sieve pool commands on built-in pools', () => {
  it('info --json reports splits, classes, groups and verified hashes', () => {
    const r = sieve('pool', 'info', 'german-credit', '--json', '--verify');
    expect(r.status).toBe(0);
    const info = r.json();
    expect(info.splits.train.rows + info.splits.test.rows).toBe(1000);
    expect(info.classes.map((c: { name: string }) => c.name).sort()).toEqual(['bad', 'good']);
    expect(info.groups.map((g: { name: string }) => g.name)).toEqual(['sex', 'age_band', 'foreign_worker']);
    expect(info.files.every((f: { sha256: string }) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(info.verified.ok).toBe(true);
    expect(info.content_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('head --json gives row objects with large features summarised', async () => {
    const r = sieve('pool', 'head', 'fashion-mnist', '--rows', '3', '--json');
    expect(r.status).toBe(0);
    const rows = r.json();
    const train = await readSplit(await openPool('fashion-mnist'), 'train', { limit: 3 });
    expect(rows).toEqual(train.ids.map((id, i) => ({ id, label: train.classNames[train.labels[i]], pixels: '<784 bytes>' })));
  });

  it('head fits a 120-column table, names the columns left out, and --columns picks them', () => {
    const wide = sieve('pool', 'head', 'german-credit', '--rows', '5');
    expect(wide.status).toBe(0);
    const lines = wide.stdout.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(120);
    expect(lines[1]).toMatch(/^│ id +│ label +│ checking_/); // long headers wrap after _
    expect(wide.stdout.replace(/\s+/g, ' ')).toMatch(/more columns \(.*foreign_worker\): --columns a,b,c picks the columns/);
    const picked = sieve('pool', 'head', 'german-credit', '--rows', '2', '--columns', 'age,label,foreign_worker', '--json');
    expect(picked.status).toBe(0);
    expect(picked.json()).toEqual([
      { id: 'row-000', age: 67, label: 'good', foreign_worker: 'yes' },
      { id: 'row-001', age: 22, label: 'bad', foreign_worker: 'yes' },
    ]);
    const unknown = sieve('pool', 'head', 'german-credit', '--columns', 'age,nope');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('has no column "nope"');
    expect(unknown.stderr).toContain('columns: id, label, checking_status');
  });

  it('export refuses an evaluator-only split (exit 3) and writes Arrow for the train split', async () => {
    const dir = tempDir('sieve-cli-');
    const refused = sieve('pool', 'export', 'german-credit', '--format', 'csv', '--split', 'test', '--out', join(dir, 't.csv'));
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('evaluator-only');
    expect(existsSync(join(dir, 't.csv'))).toBe(false);
    // The format follows the extension; an extension that names none is an error.
    const ok = sieve('pool', 'export', 'german-credit', '--out', join(dir, 'g.arrow'), '--json');
    expect(ok.status).toBe(0);
    expect(ok.json()).toMatchObject({ format: 'arrow', rows: 700 });
    const unknown = sieve('pool', 'export', 'german-credit', '--out', join(dir, 'g.xlsx'));
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('cannot tell the export format from the extension ".xlsx"');
    expect(existsSync(join(dir, 'g.xlsx'))).toBe(false);
    const table = await readArrowIpc(join(dir, 'g.arrow'));
    const pool = await openPool('german-credit');
    expect(table.numRows).toBe(pool.manifest.splits.train.rows);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['id', 'label', ...pool.manifest.features.map((f) => f.name), ...pool.manifest.groups.map((g) => g.name)]);
  });

  it('unknown pools name the built-ins', () => {
    const r = sieve('pool', 'info', 'no-such-pool');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/built-in pools: .*german-credit/);
  });
});
