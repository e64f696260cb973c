import { describe, expect, it } from 'vitest';
import { bundleToJson } from '../src/report/json.ts';
import { makeSplit, reportFor, subsetOf } from './report-fixtures.ts';

describe('JSON audit report', () => {
  it('keeps summaries and figures, and cuts findings to the top rows with a note', () => {
    const fx = makeSplit(400, 11);
    const doc = JSON.parse(JSON.stringify(bundleToJson({ pool: reportFor(fx) }, { maxFindings: 10 })));
    expect(doc.tool.name).toBe('datasieve');
    expect(doc.pool.format).toBe('sieve-audit/1');
    expect(doc.pool.rows).toBe(400);
    expect(doc.pool).not.toHaveProperty('train');
    const le = doc.pool.analysers.find((a: { name: string }) => a.name === 'label-errors');
    expect(le).toMatchObject({ title: 'Label errors', severity: 'warning', figures: { flagged: 5 } });
    expect(le.findings).toMatchObject({ total: 400, flagged: 5, shown: 10, truncated: true });
    expect(le.findings.note).toMatch(/top 10 of 400 rows.*--db FILE/);
    // Flagged rows first (highest score first), then the most suspicious unflagged rows.
    expect(le.findings.rows.slice(0, 5).map((r: { flagged: boolean }) => r.flagged)).toEqual([true, true, true, true, true]);
    expect(le.findings.rows[5].flagged).toBe(false);
    const scores = le.findings.rows.slice(5).map((r: { score: number }) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(le.findings.rows[0].detail).toMatchObject({ given_label: expect.any(String), suggested_label: expect.any(String) });
    const fair = doc.pool.analysers.find((a: { name: string }) => a.name === 'fairness');
    expect(fair.tables[0]).toMatchObject({ name: 'per_group', total_rows: 3, truncated: false });
    expect(fair.plots[0].vega_lite.layer).toHaveLength(2);
    expect(doc.pool.skipped).toEqual([{ name: 'outliers', title: 'Outliers', reason: 'skipped in this fixture' }]);
    expect(doc).not.toHaveProperty('subset');
  });

  it('carries the subset audit next to the pool audit', () => {
    const fx = makeSplit();
    const doc = bundleToJson({ pool: reportFor(fx), subset: reportFor(fx, 'subset', subsetOf(fx.split, [0, 3, 10, 42])) });
    expect(doc.subset?.scope).toBe('subset');
    expect(doc.subset?.subset).toEqual({ file: 'picked.csv', rows: 4 });
    const le = doc.subset!.analysers.find((a) => a.name === 'label-errors')!;
    expect(le.findings).toMatchObject({ total: 4, flagged: 2, truncated: false });
    expect(le.findings).not.toHaveProperty('note');
  });
});
