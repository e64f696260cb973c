/**
 * Fairness figures on the built-in german-credit pool, checked against hand computations:
 * group sizes and base rates in SQL straight from the pool's Parquet file, out-of-sample
 * accuracy, selection rates and the fairlearn-style differences in plain loops over the same
 * out-of-sample probabilities.
 */
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { openPool, readSplit } from '../src/pool/read.ts';
import { withDb, queryRows } from '../src/pool/duckdb.ts';
import { fairness, attributesOf, MISSING_GROUP } from '../src/analysers/fairness.ts';
import { makeContext } from './analysers-helpers.ts';
import type { ExtraTable } from '../src/analysers/types.ts';

const pool = await openPool('german-credit');
const train = await readSplit(pool, 'train');
const ctx = makeContext(train);
const result = await fairness.run(ctx, fairness.defaults);
const oos = await ctx.oos();
const table = (name: string) => result.tables.find((t) => t.name === name)!.rows;
const row = (rows: ExtraTable['rows'], match: Record<string, unknown>) => {
  const r = rows.filter((x) => Object.entries(match).every(([k, v]) => x[k] === v));
  expect(r, JSON.stringify(match)).toHaveLength(1);
  return r[0];
};
const good = train.classNames.indexOf('good');
const pred = Array.from({ length: train.n }, (_, i) => (oos.proba[i * 2 + good] >= oos.proba[i * 2 + 1 - good] ? good : 1 - good));

describe('fairness on german-credit, by hand', () => {
  it('group sizes and base rates match SQL on the Parquet file', async () => {
    const file = join(pool.dir, 'train.parquet');
    const sql = await withDb((conn) => queryRows(conn,
      `SELECT sex, count(*)::INTEGER AS n, avg(CASE WHEN label = 'good' THEN 1 ELSE 0 END) AS good_rate
       FROM read_parquet('${file}') GROUP BY sex ORDER BY sex`));
    expect(sql.length).toBe(2);
    for (const s of sql) {
      const g = row(table('fairness_groups'), { attribute: 'sex', group: s.sex });
      expect(g.rows).toBe(s.n);
      expect(g.share).toBeCloseTo(Number(s.n) / train.n, 12);
      const c = row(table('fairness_group_classes'), { attribute: 'sex', group: s.sex, class: 'good' });
      expect(c.base_rate).toBeCloseTo(Number(s.good_rate), 12);
    }
  });

  it('base rate of good for sex = female, in a loop', () => {
    let n = 0, goodN = 0;
    for (let i = 0; i < train.n; i++) if (train.groups.sex[i] === 'female') { n++; if (train.labels[i] === good) goodN++; }
    expect(row(table('fairness_group_classes'), { attribute: 'sex', group: 'female', class: 'good' }).base_rate).toBeCloseTo(goodN / n, 12);
  });

  it('per-group accuracy, selection rate, demographic parity and equalized odds by age band', () => {
    const groups = [...new Set(train.groups.age_band as string[])].sort();
    const sel: number[] = [], tpr: number[] = [], fpr: number[] = [], acc: number[] = [];
    for (const g of groups) {
      let n = 0, correct = 0, predGood = 0, pos = 0, tp = 0, neg = 0, fp = 0;
      for (let i = 0; i < train.n; i++) {
        if (train.groups.age_band[i] !== g) continue;
        n++;
        if (pred[i] === train.labels[i]) correct++;
        if (pred[i] === good) predGood++;
        if (train.labels[i] === good) { pos++; if (pred[i] === good) tp++; } else { neg++; if (pred[i] === good) fp++; }
      }
      acc.push(correct / n); sel.push(predGood / n); tpr.push(tp / pos); fpr.push(fp / neg);
      const r = row(table('fairness_groups'), { attribute: 'age_band', group: g });
      expect(r.accuracy).toBeCloseTo(correct / n, 12);
      const c = row(table('fairness_group_classes'), { attribute: 'age_band', group: g, class: 'good' });
      expect(c.selection_rate).toBeCloseTo(predGood / n, 12);
      expect(c.tpr).toBeCloseTo(tp / pos, 12);
      expect(c.fpr).toBeCloseTo(fp / neg, 12);
    }
    const a = row(table('fairness_attributes'), { attribute: 'age_band' });
    // Two classes: the one-vs-rest differences are the same for good and bad.
    expect(a.demographic_parity_difference).toBeCloseTo(Math.max(...sel) - Math.min(...sel), 12);
    expect(a.equalized_odds_difference).toBeCloseTo(Math.max(Math.max(...tpr) - Math.min(...tpr), Math.max(...fpr) - Math.min(...fpr)), 12);
    expect(a.worst_group_accuracy).toBeCloseTo(Math.min(...acc), 12);
    expect(a.worst_group).toBe(groups[acc.indexOf(Math.min(...acc))]);
    expect(a.dp_difference_low).not.toBeNull();
    expect(a.dp_difference_low as number).toBeLessThanOrEqual(a.demographic_parity_difference as number);
    expect(a.dp_difference_high as number).toBeGreaterThanOrEqual(a.demographic_parity_difference as number);
  });

  it('intersections, and small groups reported but not judged', () => {
    const inter = table('fairness_groups').filter((r) => r.attribute === 'age_band × foreign_worker');
    let n = 0;
    for (let i = 0; i < train.n; i++) if (train.groups.age_band[i] === '<25' && train.groups.foreign_worker[i] === 'no') n++;
    const g = row(inter, { group: '<25 | no' });
    expect(g.rows).toBe(n);
    expect(g.too_small).toBe(n < 30);
    const small = table('fairness_groups').filter((r) => (r.rows as number) < 30);
    expect(small.length).toBeGreaterThan(0);
    expect(small.every((r) => r.too_small === true && r.accuracy !== undefined)).toBe(true);
    expect(result.summary.figures.too_small_groups).toBe(small.length);
  });

  it('rows with a missing group value form their own group', async () => {
    const sex = train.groups.sex.map((v, i) => (i % 50 === 0 ? null : v));
    const attrs = attributesOf({ ...train, groups: { sex } }, null, false);
    expect(attrs[0].groups).toEqual(['female', 'male', MISSING_GROUP]);
    const r = await fairness.run(makeContext({ ...train, groups: { sex } }), { ...fairness.defaults, bootstrapSamples: 20 });
    const missing = row(r.tables.find((t) => t.name === 'fairness_groups')!.rows, { attribute: 'sex', group: MISSING_GROUP });
    expect(missing.rows).toBe(14);
    expect(missing.too_small).toBe(true);
  });

  it('bootstrap intervals are seeded: the same run twice gives the same tables', async () => {
    const again = await fairness.run(makeContext(train), fairness.defaults);
    expect(JSON.stringify(again.tables)).toBe(JSON.stringify(result.tables));
  });
});
