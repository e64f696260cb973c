/**
 * From audit to submission in one step: `sieve audit CHALLENGE --keep ids.csv` writes a file
 * `sieve evaluate` accepts and scores; the keep rule itself on a hand-made report; and
 * `--json --top all` returns every finding.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditReport } from '../src/analysers/audit.ts';
import type { Finding } from '../src/analysers/types.ts';
import { balancedQuotas, keepFileText, keepRows } from '../src/audit/keep.ts';
import type { Challenge } from '../src/challenge/schema.ts';
import type { PoolSplit } from '../src/pool/types.ts';
import { tempDir } from './pool-helpers.ts';

const root = join(import.meta.dirname, '..');
const sieve = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin', 'sieve.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 64 << 20 });

/** 12 rows, classes a (rows 0–7) and b (8–11); label-errors flags rows 1 and 9; rows 3 and 4 copy row 2. */
function handMade() {
  const n = 12;
  const train = {
    split: 'train', n, d: 0, ids: Array.from({ length: n }, (_, i) => `r${i}`),
    labels: Int32Array.from({ length: n }, (_, i) => (i < 8 ? 0 : 1)), classNames: ['a', 'b'],
    features: new Float32Array(0), featureNames: [], groups: {},
  } as PoolSplit;
  const le: Finding[] = train.ids.map((id, i) => ({
    id, score: i === 1 || i === 9 ? 0.9 + i / 100 : i / 100, flagged: i === 1 || i === 9,
    detail: { given_label: i < 8 ? 'a' : 'b', suggested_label: i < 8 ? 'b' : 'a' },
  }));
  const dup: Finding[] = [2, 3, 4].map((i) => ({ id: `r${i}`, score: 1, flagged: true, detail: { cluster: 0, duplicate_of: i === 2 ? null : 'r2' } }));
  const report = {
    results: [
      { name: 'label-errors', findings: le },
      { name: 'duplicates', findings: dup },
    ],
    skipped: [{ name: 'outliers', reason: 'not run here' }],
  } as unknown as AuditReport;
  return { train, report };
}

describe('audit --keep', () => {
  it('balancedQuotas: equal shares, small classes give all, the remainder in class order', () => {
    expect(balancedQuotas([10, 10, 10], 7)).toEqual([3, 2, 2]);
    expect(balancedQuotas([1, 10, 10], 9)).toEqual([1, 4, 4]);
    expect(balancedQuotas([2, 3], 10)).toEqual([2, 3]);
  });

  it('selection: drops flagged rows and duplicate copies (not the first), then fills the budget class-balanced by label quality', () => {
    const { train, report } = handMade();
    const pool = keepRows(report, train, {});
    // No challenge: every row not dropped, in pool order.
    expect(pool.rows).toEqual([0, 2, 5, 6, 7, 8, 10, 11]);
    expect(pool.dropped).toEqual({ 'label-errors': 2, duplicates: 2 });
    const challenge = { task: 'selection', budget: { rows: 4 } } as unknown as Challenge;
    const k = keepRows(report, train, { challenge });
    // 2 per class; in a the lowest scores are rows 0 and 2, in b rows 8 and 10.
    expect(k.rows).toEqual([0, 2, 8, 10]);
    expect(keepFileText('x.csv', k, train)).toBe('id\nr0\nr2\nr8\nr10\n');
    expect(keepFileText('x.json', k, train)).toBe('["r0","r2","r8","r10"]\n');
    expect(() => keepRows(report, train, { drop: ['outliers'] })).toThrow(/outliers analyser, which did not run/);
    expect(() => keepRows(report, train, { drop: ['fairness'] })).toThrow(/unknown analyser fairness/);
  });

  it('ranking and relabel challenges get a ranking and corrections', () => {
    const { train, report } = handMade();
    const ranking = keepRows(report, train, { challenge: { task: 'ranking', budget: {} } as unknown as Challenge });
    expect(ranking.rows.slice(0, 3)).toEqual([9, 1, 11]);
    expect(ranking.rows).toHaveLength(12);
    const relabel = keepRows(report, train, { challenge: { task: 'relabel', budget: { corrections: 5 } } as unknown as Challenge });
    expect(keepFileText('fix.csv', relabel, train)).toBe('id,label\nr9,a\nr1,b\n');
    expect(() => keepFileText('fix.txt', relabel, train)).toThrow(/cannot write a relabel submission as ".txt"/);
  });

  it('writes a file that sieve evaluate accepts and scores; --json --top all returns every finding', () => {
    const dir = tempDir('sieve-keep-');
    const ids = join(dir, 'ids.csv');
    const audit = sieve('audit', 'credit-fair', '--only', 'label-errors,duplicates', '--keep', ids, '--json', '--top', 'all');
    expect(audit.status, audit.stderr).toBe(0);
    const report = JSON.parse(audit.stdout);
    const le = report.pool.analysers.find((a: { name: string }) => a.name === 'label-errors').findings;
    expect(le).toMatchObject({ total: 700, shown: 700, truncated: false });
    expect(report.outputs.keep).toMatchObject({ path: ids, rows: 400, task: 'selection', budget: 400, challenge: 'credit-fair' });
    const written = readFileSync(ids, 'utf8').trimEnd().split('\n');
    expect(written[0]).toBe('id');
    expect(new Set(written.slice(1)).size).toBe(400);
    const flagged = new Set(le.rows.filter((r: { flagged: boolean }) => r.flagged).map((r: { id: string }) => r.id));
    expect(flagged.size).toBeGreaterThan(0);
    expect(written.slice(1).filter((id) => flagged.has(id))).toEqual([]);
    const scored = sieve('evaluate', 'credit-fair', ids, '--json');
    expect(scored.status, scored.stderr).toBe(0);
    const record = JSON.parse(scored.stdout);
    expect(record.submission.rows).toBe(400);
    expect(record.metrics.accuracy.mean).toBeGreaterThan(0.5);
  });
});
