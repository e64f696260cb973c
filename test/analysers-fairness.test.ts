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
import { makeContext, makeSplit, splitFromTable } from './analysers-helpers.ts';
import { generateSynthPool, synthClassNames } from '../src/pool/synth.ts';
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
    // Both age bands have ≥ 30 rows, positives and negatives, so every group is judged. Two
    // classes and no --positive-class: the headline is the less frequent class, bad.
    let badRows = 0;
    for (let i = 0; i < train.n; i++) if (train.labels[i] !== good) badRows++;
    expect(badRows).toBeLessThan(train.n / 2);
    expect(a.class).toBe('bad');
    expect(result.summary.figures.positive_class).toBe('bad');
    expect(result.summary.figures.positive_class_rule).toBe('the less frequent class');
    expect(a.demographic_parity_difference).toBeCloseTo(Math.max(...sel) - Math.min(...sel), 12);
    expect(a.demographic_parity_ratio).toBeCloseTo(Math.min(...sel.map((x) => 1 - x)) / Math.max(...sel.map((x) => 1 - x)), 12);
    expect(a.equalized_odds_difference).toBeCloseTo(Math.max(Math.max(...tpr) - Math.min(...tpr), Math.max(...fpr) - Math.min(...fpr)), 12);
    expect(a.worst_group_accuracy).toBeCloseTo(Math.min(...acc), 12);
    expect(a.worst_group).toBe(groups[acc.indexOf(Math.min(...acc))]);
    for (const f of ['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'worst_group_accuracy']) {
      expect(a[`${f}_low`], f).not.toBeNull();
      expect(a[`${f}_low`] as number, f).toBeLessThanOrEqual(a[f] as number);
      expect(a[`${f}_high`] as number, f).toBeGreaterThanOrEqual(a[f] as number);
    }
    // Two classes: the differences are the same one-vs-rest for good and bad, the ratio is not,
    // and each is reported in a row that names its class, with its own interval.
    const goodRow = row(table('fairness_attribute_classes'), { attribute: 'age_band', class: 'good' });
    expect(goodRow.demographic_parity_difference).toBeCloseTo(a.demographic_parity_difference as number, 12);
    expect(goodRow.equalized_odds_difference).toBeCloseTo(a.equalized_odds_difference as number, 12);
    expect(goodRow.demographic_parity_ratio).toBeCloseTo(Math.min(...sel) / Math.max(...sel), 12);
    expect(goodRow.headline).toBe(false);
    const badRow = row(table('fairness_attribute_classes'), { attribute: 'age_band', class: 'bad' });
    expect(badRow.headline).toBe(true);
    expect(badRow.demographic_parity_ratio).toBeCloseTo(a.demographic_parity_ratio as number, 12);
    expect(badRow.demographic_parity_ratio_low).toBe(a.demographic_parity_ratio_low);
    expect(goodRow.demographic_parity_ratio_low as number).toBeLessThanOrEqual(goodRow.demographic_parity_ratio as number);
    expect(goodRow.demographic_parity_ratio_high as number).toBeGreaterThanOrEqual(goodRow.demographic_parity_ratio as number);
  });

  it('the verdict reports the lowest parity ratio over attributes and classes, its class named, against the four-fifths rule', () => {
    const rows = table('fairness_attribute_classes').filter((r) => r.demographic_parity_ratio !== null);
    const low = rows.reduce((m, r) => ((r.demographic_parity_ratio as number) < (m.demographic_parity_ratio as number) ? r : m));
    const f = result.summary.figures;
    expect(f.min_demographic_parity_ratio).toBe(low.demographic_parity_ratio);
    expect(f.min_demographic_parity_ratio_class).toBe(low.class);
    expect(f.min_demographic_parity_ratio_attribute).toBe(low.attribute);
    const other = row(rows, { attribute: low.attribute, class: low.class === 'good' ? 'bad' : 'good' });
    const v = (x: unknown) => (x as number).toFixed(2);
    expect(result.summary.verdict).toContain(`Lowest demographic-parity ratio: ${v(low.demographic_parity_ratio)} across ${low.attribute} (selection rate of ${low.class}, 95% CI ${v(low.demographic_parity_ratio_low)}–${v(low.demographic_parity_ratio_high)}`);
    const [x, xl, xh] = [low.demographic_parity_ratio, low.demographic_parity_ratio_low, low.demographic_parity_ratio_high] as number[];
    const rule = x < 0.8 ? `under the four-fifths rule's 0.8${xh >= 0.8 ? ', though its interval reaches it' : ''}` : `at or above the four-fifths rule's 0.8${xl < 0.8 ? ', though its interval goes below it' : ''}`;
    expect(result.summary.verdict).toContain(`; ${other.class}: ${v(other.demographic_parity_ratio)}), ${rule}.`);
    // Which outcome is favourable the data do not say: with two classes and no --positive-class, the verdict points at the other ratio.
    expect(result.summary.verdict).toContain(`The four-fifths rule concerns the favourable outcome: if that is ${other.class}, read its ratio (${v(other.demographic_parity_ratio)}); name it with --positive-class.`);
  });

  it('with equally frequent classes the default is the second class', async () => {
    // Every bad row and as many good rows: a balanced pool.
    const badIdx: number[] = [], goodIdx: number[] = [];
    for (let i = 0; i < train.n; i++) (train.labels[i] === good ? goodIdx : badIdx).push(i);
    const keep = [...badIdx, ...goodIdx.slice(0, badIdx.length)].sort((p, q) => p - q);
    const d = train.d;
    const sub = {
      ...train, n: keep.length, ids: keep.map((i) => train.ids[i]), labels: Int32Array.from(keep, (i) => train.labels[i]),
      features: Float32Array.from({ length: keep.length * d }, (_, j) => train.features[keep[Math.floor(j / d)] * d + (j % d)]),
      groups: { sex: keep.map((i) => train.groups.sex[i]) },
    };
    const r = await fairness.run(makeContext(sub), { ...fairness.defaults, bootstrapSamples: 20 });
    expect(r.summary.figures.positive_class).toBe(train.classNames[1]);
    expect(r.summary.figures.positive_class_rule).toBe('both classes equally frequent: the second');
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
    expect(small.every((r) => r.too_small === true && r.accuracy !== undefined && /rows/.test(String(r.too_small_reason)))).toBe(true);
    expect(result.summary.figures.too_small_groups).toBe(small.length);
    // foreign_worker = no has 25 rows: one judged group is left, so no difference is formed.
    const fw = row(table('fairness_attributes'), { attribute: 'foreign_worker' });
    expect(fw.judged_groups).toBe(1);
    expect(fw.demographic_parity_difference).toBeNull();
    expect(fw.equalized_odds_difference).toBeNull();
    expect(result.summary.verdict).toMatch(/fewer than 30 rows: listed in the tables as too small to judge/);
  });

  it('TPR needs positives and FPR negatives: groups with enough rows but few of either are not in those ranges', () => {
    for (const attr of table('fairness_attributes')) {
      const groups = table('fairness_groups').filter((r) => r.attribute === attr.attribute);
      const tprs = groups.filter((r) => (r.positives as number) >= 30).map((r) => r.tpr as number);
      const fprs = groups.filter((r) => (r.negatives as number) >= 30).map((r) => r.fpr as number);
      const sels = groups.filter((r) => (r.rows as number) >= 30).map((r) => r.selection_rate as number);
      expect(attr.judged_tpr_groups).toBe(tprs.length);
      expect(attr.judged_fpr_groups).toBe(fprs.length);
      if (tprs.length >= 2 && fprs.length >= 2) {
        expect(attr.equalized_odds_difference).toBeCloseTo(Math.max(Math.max(...tprs) - Math.min(...tprs), Math.max(...fprs) - Math.min(...fprs)), 12);
      } else expect(attr.equalized_odds_difference).toBeNull();
      if (sels.length >= 2) expect(attr.demographic_parity_difference).toBeCloseTo(Math.max(...sels) - Math.min(...sels), 12);
      else expect(attr.demographic_parity_difference).toBeNull();
    }
    // age_band × sex: all four cells have ≥ 30 rows, but not all ≥ 30 bad (negative) rows.
    const cells = table('fairness_groups').filter((r) => r.attribute === 'age_band × sex');
    expect(cells.every((r) => r.too_small === false)).toBe(true);
    expect(cells.some((r) => r.fpr_judged === false)).toBe(true);
  });

  it('--positive-class bad: every figure is for bad, and named so', async () => {
    const r = await fairness.run(ctx, { ...fairness.defaults, positiveClass: 'bad', bootstrapSamples: 50 });
    const attrs = r.tables.find((t) => t.name === 'fairness_attributes')!.rows;
    expect(attrs.every((a) => a.class === 'bad')).toBe(true);
    const a = row(attrs, { attribute: 'sex' });
    const perClass = row(r.tables.find((t) => t.name === 'fairness_attribute_classes')!.rows, { attribute: 'sex', class: 'bad' });
    expect(a.demographic_parity_ratio).toBe(perClass.demographic_parity_ratio);
    expect(r.summary.figures.positive_class).toBe('bad');
    expect(r.plots.some((p) => /predicted bad/.test(p.title))).toBe(true);
    await expect(fairness.run(ctx, { ...fairness.defaults, positiveClass: 'nope' })).rejects.toThrow(/not a class/);
  });

  it('every interval holds its estimate', () => {
    for (const t of ['fairness_attributes', 'fairness_groups']) {
      for (const r of table(t)) {
        for (const [key, v] of Object.entries(r)) {
          if (!key.endsWith('_low')) continue;
          const f = key.slice(0, -4);
          if (r[f] === null) { expect(v, `${t} ${f}`).toBeNull(); continue; }
          expect(v as number, `${t} ${r.attribute} ${r.group ?? ''} ${f}`).toBeLessThanOrEqual(r[f] as number);
          expect(r[`${f}_high`] as number, `${t} ${r.attribute} ${r.group ?? ''} ${f}`).toBeGreaterThanOrEqual(r[f] as number);
        }
      }
    }
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

describe('intervals on skewed small groups', () => {
  const withGroups = (groups: Record<string, string[]>) => ({ ...ctx, train: { ...train, groups } });
  const everyIntervalHolds = (r: Awaited<ReturnType<typeof fairness.run>>) => {
    let checked = 0;
    for (const t of r.tables) {
      for (const x of t.rows) {
        for (const [key, v] of Object.entries(x)) {
          if (!key.endsWith('_low')) continue;
          const f = key.slice(0, -4);
          const where = `${t.name} ${x.attribute} ${x.group ?? ''} ${x.class ?? ''} ${f}`;
          if (x[f] === null || x[f] === undefined) { expect(v ?? null, where).toBeNull(); continue; }
          expect(v as number, where).toBeLessThanOrEqual(x[f] as number);
          expect(x[`${f}_high`] as number, where).toBeGreaterThanOrEqual(x[f] as number);
          checked++;
        }
      }
    }
    return checked;
  };

  it('every interval of every table holds its estimate, groups of 5-10% of the rows drawn at random', async () => {
    const { createRng } = await import('../compute/rng.ts');
    for (const seed of [1, 2, 3, 4]) {
      const rng = createRng(seed);
      const skew = Array.from({ length: train.n }, () => { const u = rng.uniform(); return u < 0.05 ? 'a' : u < 0.11 ? 'b' : u < 0.2 ? 'c' : 'd'; });
      const r = await fairness.run(withGroups({ skew, sex: train.groups.sex as string[] }), { ...fairness.defaults, bootstrapSamples: 200 });
      expect(everyIntervalHolds(r)).toBeGreaterThan(50);
      // A ratio under 0.8 whose interval reaches 0.8 is said to be within noise of the rule.
      const f = r.summary.figures;
      const reaches = (f.min_demographic_parity_ratio as number) < 0.8 && (f.min_demographic_parity_ratio_high as number) >= 0.8;
      expect(r.summary.verdict.includes("under the four-fifths rule's 0.8, though its interval reaches it"), `seed ${seed}`).toBe(reaches);
    }
    // The groups of seed 8 alone: ratio 0.75, its interval past 0.8.
    const rng = createRng(8);
    const skew = Array.from({ length: train.n }, () => { const u = rng.uniform(); return u < 0.05 ? 'a' : u < 0.11 ? 'b' : u < 0.2 ? 'c' : 'd'; });
    const r = await fairness.run(withGroups({ skew }), { ...fairness.defaults, intersections: false });
    expect(r.summary.figures.min_demographic_parity_ratio_high as number).toBeGreaterThanOrEqual(0.8);
    expect(r.summary.verdict).toContain("under the four-fifths rule's 0.8, though its interval reaches it.");
  });

  it('a gap of nearly 0 between groups alike in every cell: the interval is extended to the estimate and the verdict gives the bias', async () => {
    // Every fifth row of each (label, prediction) cell in group "a": both groups have almost
    // the same rates, so the gaps are near 0 and every resample's max − min lies above them.
    const seen = new Map<string, number>();
    const alike = Array.from({ length: train.n }, (_, i) => {
      const key = `${train.labels[i]}/${pred[i]}`;
      const j = seen.get(key) ?? 0;
      seen.set(key, j + 1);
      return j % 5 === 0 ? 'a' : 'b';
    });
    const r = await fairness.run(withGroups({ alike }), { ...fairness.defaults, bootstrapSamples: 200 });
    everyIntervalHolds(r);
    const a = r.tables.find((t) => t.name === 'fairness_attributes')!.rows[0];
    expect(a.equalized_odds_difference as number).toBeLessThan(0.02);
    expect(a.equalized_odds_difference_extended).toBe(true);
    expect(a.equalized_odds_difference_low).toBe(a.equalized_odds_difference);
    expect(a.equalized_odds_difference_bias as number).toBeGreaterThan(0);
    expect(r.summary.figures.intervals_extended as number).toBeGreaterThan(0);
    const bias = `+${(100 * (a.equalized_odds_difference_bias as number)).toFixed(1)} pts`;
    expect(r.summary.verdict).toContain(`Largest equalized-odds difference: ${(100 * (a.equalized_odds_difference as number)).toFixed(1)}% across alike`);
    expect(r.summary.verdict).toContain(`extended down to the estimate: the resamples lie above it, bootstrap bias ${bias}`);
  });

  it('a parity ratio of 0 (a group with no row selected) gets its upper end from the rates\' Wilson intervals, not [0, 0]', async () => {
    const { wilsonInterval } = await import('../compute/stats.ts');
    // 40 rows predicted good in group "z": no row of it is predicted bad, so bad's ratio is 0.
    let z = 0;
    const zero = Array.from({ length: train.n }, (_, i) => (pred[i] === good && z < 40 ? (z++, 'z') : i % 2 ? 'x' : 'y'));
    const r = await fairness.run(withGroups({ zero }), { ...fairness.defaults, bootstrapSamples: 100, positiveClass: 'bad' });
    everyIntervalHolds(r);
    const a = r.tables.find((t) => t.name === 'fairness_attributes')!.rows[0];
    expect(a.demographic_parity_ratio).toBe(0);
    const groups = r.tables.find((t) => t.name === 'fairness_groups')!.rows;
    const top = groups.filter((g) => g.group !== 'z').reduce((m, g) => ((g.selection_rate as number) > (m.selection_rate as number) ? g : m));
    const selected = Math.round((top.selection_rate as number) * (top.rows as number));
    const high = wilsonInterval(0, 40, 0.975)[1] / wilsonInterval(selected, top.rows as number, 0.975)[0];
    expect(a.demographic_parity_ratio_low).toBe(0);
    expect(a.demographic_parity_ratio_high as number).toBeCloseTo(high, 12);
    expect(high).toBeGreaterThan(0.1);
    expect(String(a.demographic_parity_ratio_bound)).toMatch(/^z: 0 of 40 selected/);
    const cls = r.tables.find((t) => t.name === 'fairness_attribute_classes')!.rows.find((x) => x.class === 'bad')!;
    expect(cls.demographic_parity_ratio_high).toBe(a.demographic_parity_ratio_high);
    expect(r.summary.figures.ratio_intervals_from_wilson).toBe(1); // the headline's, counted once
    expect(r.summary.verdict).toContain(`Lowest demographic-parity ratio of the positive class bad: 0.00 across zero (selection rate of bad, 95% CI 0.00–${high.toFixed(2)} from the groups' Wilson intervals, z: 0 of 40 selected`);
    // The parity difference has the same trouble (z never varies): its interval is at least
    // Newcombe's, from the Wilson intervals of the two extreme groups.
    const [tl, tu] = wilsonInterval(selected, top.rows as number), [zl, zu] = wilsonInterval(0, 40);
    const d = (top.selection_rate as number) - 0;
    expect(a.demographic_parity_difference).toBeCloseTo(d, 12);
    expect(a.demographic_parity_difference_low as number).toBeLessThanOrEqual(Math.max(0, d - Math.hypot(d - tl, zu)) + 1e-12);
    expect(a.demographic_parity_difference_high as number).toBeGreaterThanOrEqual(Math.min(1, d + Math.hypot(tu - d, 0 - zl)) - 1e-12);
    expect(String(a.demographic_parity_difference_bound)).toMatch(/^Newcombe's interval from the Wilson intervals of .* and z \(0 of 40\), one of them at 0$/);
    expect(r.summary.figures.gap_intervals_from_newcombe as number).toBeGreaterThanOrEqual(1);
  });

  it('label-error rates are compared within one group column, and counts are pluralised', () => {
    const m = /Suspected label errors: [\d.]+% of (\S+) = .* vs [\d.]+% of (\S+) = /.exec(result.summary.verdict);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    expect(result.summary.verdict).toMatch(/\d+ more groups? (have|has) fewer than 30 positives or negatives/);
    for (const x of table('fairness_groups')) expect(String(x.too_small_reason)).not.toMatch(/\b1 (rows|positives|negatives)\b/);
    // foreign_worker = no has 25 rows: neither of its cells with sex is judged, so its row is not drawn.
    expect(result.plots.map((p) => p.title)).toContain('Accuracy by foreign_worker × sex (cells under 30 rows not judged; 1 foreign_worker value without a judged cell not drawn)');
  });
});

describe('--group-columns, --positive-class and --min-group-size', () => {
  it('reads a categorical feature back as a group column, and lists every bad name at once', async () => {
    const { withGroupColumns } = await import('../src/analysers/group-columns.ts');
    const s = withGroupColumns(train, pool.manifest.features, ['purpose', 'sex']);
    expect(Object.keys(s.groups)).toEqual([...Object.keys(train.groups), 'purpose']);
    const sql = await withDb((conn) => queryRows(conn, `SELECT id::VARCHAR AS id, purpose FROM read_parquet('${join(pool.dir, 'train.parquet')}')`));
    const byId = new Map(sql.map((r) => [String(r.id), r.purpose ?? null]));
    expect(s.groups.purpose).toEqual(train.ids.map((id) => byId.get(id)));
    expect(s.groups.sex).toBe(train.groups.sex);
    let err: unknown;
    try { withGroupColumns(train, pool.manifest.features, ['age', 'nope', 'purpose']); } catch (e) { err = e; }
    expect((err as Error).message).toMatch(/2 problems/);
    expect((err as { examples: string[] }).examples.slice(0, 2)).toEqual([
      '"age" is a numeric column, not categorical (bin it into categories when importing)',
      '"nope" is not a column of the pool',
    ]);
  });

  it('sieve audit passes them on to the fairness analyser', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const root = join(import.meta.dirname, '..');
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'bin', 'sieve.mjs'), 'audit', 'german-credit', '--only', 'fairness',
      '--json', '--positive-class', 'bad', '--group-columns', 'sex,purpose', '--min-group-size', '50'], { env: { ...process.env, CI: '1' }, maxBuffer: 64 << 20 });
    const doc = JSON.parse(stdout);
    const fair = doc.pool.analysers.find((a: { name: string }) => a.name === 'fairness');
    expect(fair.figures).toMatchObject({ positive_class: 'bad', min_group_size: 50, group_columns: 2 });
    expect(doc.pool.pool.groups).toEqual(['sex', 'purpose']);
  }, 120_000);
});

describe('a subset audit compares the same class as the whole pool', () => {
  it("a subset where the pool's minority class is the majority still reports the pool's default class", async () => {
    const { runAuditService } = await import('../src/audit/service.ts');
    // Every bad row and a third as many good rows: good is the subset's less frequent class.
    const badRows: number[] = [], goodRows: number[] = [];
    for (let i = 0; i < train.n; i++) (train.labels[i] === good ? goodRows : badRows).push(i);
    const rows = Int32Array.from([...badRows, ...goodRows.slice(0, Math.floor(badRows.length / 3))]);
    const run = await runAuditService({ target: 'german-credit', only: ['fairness'], seed: 0, subset: { rows, name: 'mostly-bad' } });
    const pool = run.bundle.pool.results[0].summary.figures, sub = run.bundle.subset!.results[0].summary.figures;
    expect(pool.positive_class).toBe('bad');
    expect(sub.positive_class).toBe('bad');
    expect(sub.positive_class_rule).toBe("the whole pool's default: the less frequent class");
    expect(run.bundle.subset!.results[0].tables.find((t) => t.name === 'fairness_attributes')!.rows.every((r) => r.class === 'bad')).toBe(true);
    // An explicit --positive-class applies to both.
    const given = await runAuditService({ target: 'german-credit', only: ['fairness'], seed: 0, positiveClass: 'good', subset: { rows, name: 'mostly-bad' } });
    expect(given.bundle.subset!.results[0].summary.figures).toMatchObject({ positive_class: 'good', positive_class_rule: 'given' });
  }, 60_000);
});

describe('the label-error rate follows the audit\'s label filter', () => {
  it('counts per group exactly the rows label-errors flags under --label-filter, and names the filter', async () => {
    const { runAudit } = await import('../src/analysers/audit.ts');
    const { labelErrors } = await import('../src/analysers/label-errors.ts');
    const shares = async (filterBy?: string) => {
      const report = await runAudit(makeContext(train), {
        analysers: [labelErrors, fairness],
        pool: { name: 'german-credit', classes: train.classNames, trainRows: train.n, testRows: null, features: train.d } as never,
        folds: 5,
        options: filterBy ? { 'label-errors': { filterBy } } : {},
      });
      const [le, fair] = report.results;
      const flagged = new Set(le.findings.filter((f) => f.flagged).map((f) => f.id));
      const rate = (g: string) => {
        const rows = train.ids.filter((_, i) => train.groups.sex[i] === g);
        return rows.filter((id) => flagged.has(id)).length / rows.length;
      };
      const groups = fair.tables.find((t) => t.name === 'fairness_groups')!.rows;
      return { flagged: flagged.size, filter: fair.summary.figures.label_error_filter, rate, groups };
    };
    const dflt = await shares();
    const other = await shares('predicted_neq_given');
    expect(dflt.filter).toBe('prune_by_noise_rate');
    expect(other.filter).toBe('predicted_neq_given');
    expect(other.flagged).not.toBe(dflt.flagged); // the two rules flag different rows here
    for (const run of [dflt, other]) {
      for (const g of ['female', 'male']) {
        const r = run.groups.find((x) => x.attribute === 'sex' && x.group === g)!;
        expect(r.label_error_rate).toBe(run.rate(g));
      }
    }
  }, 120_000);
});

describe('fairness where nothing can be judged', () => {
  it('says so with an info badge, not ok', async () => {
    const r = await fairness.run(ctx, { ...fairness.defaults, minGroupSize: 10_000, bootstrapSamples: 20 });
    expect(r.summary.verdict).toMatch(/no parity or odds difference is judged/);
    expect(r.summary.severity).toBe('info');
  });
});

describe('a parity ratio whose whole interval is under four-fifths', () => {
  // Rows predicted bad go to group "a" one in `every` times, the rest half and half: a lower
  // selection rate of bad in "a", set by `every`.
  const split = (every: number) => {
    let jb = 0, jg = 0;
    return Array.from({ length: train.n }, (_, i) => (pred[i] !== good ? (jb++ % every === 0 ? 'a' : 'b') : (jg++ % 2 === 0 ? 'a' : 'b')));
  };
  const run = (every: number) => fairness.run({ ...ctx, train: { ...train, groups: { g: split(every) } } }, { ...fairness.defaults, positiveClass: 'bad', intersections: false });

  it('warns even where no difference is large enough to', async () => {
    const r = await run(3);
    const f = r.summary.figures;
    // The differences alone would give info: the largest lower end is between 0.05 and 0.1.
    expect(f.largest_gap_low as number).toBeGreaterThanOrEqual(0.05);
    expect(f.largest_gap_low as number).toBeLessThan(0.1);
    expect(f.min_demographic_parity_ratio_high as number).toBeLessThan(0.8);
    expect(f.ratios_below_four_fifths).toBe(1);
    expect(r.summary.severity).toBe('warning');
    expect(r.summary.verdict).toContain(`Warning: 1 parity ratio has its whole 95% interval under 0.8 (lowest ${(f.min_demographic_parity_ratio as number).toFixed(2)}, g, selection rate of bad)`);
  });

  it("counts only the positive class's ratios: a 200-class pool without any group effect does not warn", async () => {
    const p = generateSynthPool({ rows: 10000, dim: 32, classes: 200, noise: 0.2, seed: 0 });
    const synth = splitFromTable(p.train, synthClassNames(200), 'train');
    const r = await fairness.run(makeContext(synth), { ...fairness.defaults, intersections: false, bootstrapSamples: 200 });
    const classes = r.tables.find((t) => t.name === 'fairness_attribute_classes')!.rows;
    // Over 200 classes some 95% intervals lie wholly under 0.8 by chance alone (measured: 3).
    expect(classes.filter((x) => typeof x.demographic_parity_ratio_high === 'number' && (x.demographic_parity_ratio_high as number) < 0.8).length).toBeGreaterThan(0);
    expect(r.summary.figures.positive_class).toBeNull();
    expect(r.summary.figures.ratios_below_four_fifths).toBe(0);
    expect(r.summary.verdict).not.toContain('whole 95% interval under');
    expect(r.summary.verdict).toContain(`It is the lowest of ${classes.filter((x) => typeof x.demographic_parity_ratio === 'number').length} ratios (one per class and attribute)`);
  }, 120_000);

  it('does not where the interval reaches 0.8', async () => {
    const r = await run(2);
    const f = r.summary.figures;
    expect(f.min_demographic_parity_ratio_high as number).toBeGreaterThanOrEqual(0.8);
    expect(f.ratios_below_four_fifths).toBe(0);
    expect(r.summary.severity).toBe((f.largest_gap_low as number) < 0.05 ? 'ok' : 'info');
    expect(r.summary.verdict).not.toContain('whole 95% interval under');
  });
});

describe('fairness of a model at chance level', () => {
  it('says the differences describe a model that has learnt little', async () => {
    const { createRng } = await import('../compute/rng.ts');
    const rng = createRng(5);
    // Labels drawn at random, 50/50: nothing in the features predicts them.
    const labels = Int32Array.from({ length: train.n }, () => (rng.uniform() < 0.5 ? 0 : 1));
    const r = await fairness.run(makeContext({ ...train, labels }), { ...fairness.defaults, bootstrapSamples: 50 });
    expect(r.summary.verdict).toMatch(/Caution: the out-of-sample model does not predict the labels clearly better than always guessing the majority class/);
    // and not on the real labels
    expect(result.summary.verdict).not.toContain('Caution');
    // Some intersections are too small to judge: "lowest" is among the judged groups, and says so.
    expect(table('fairness_groups').some((g) => g.too_small)).toBe(true);
    expect(result.summary.verdict).toMatch(/overall and lowest of the single columns' groups of at least 30 rows for age_band = <25 \(/);
    // An intersection lower than every single column's group is said, not hidden behind "lowest".
    const crossed = table('fairness_attributes').filter((a) => String(a.attribute).includes(' × ') && typeof a.worst_group_accuracy === 'number')
      .sort((a, b) => (a.worst_group_accuracy as number) - (b.worst_group_accuracy as number))[0];
    expect(result.summary.verdict).toContain(`lower still in the intersection ${crossed.attribute} = ${crossed.worst_group} (${(100 * (crossed.worst_group_accuracy as number)).toFixed(1)}%`);
  });

  it('judges the four-fifths rule on the positive class the user names', async () => {
    const named = await fairness.run(makeContext(train), { ...fairness.defaults, bootstrapSamples: 50, positiveClass: 'good' });
    expect(named.summary.verdict).toMatch(/Lowest demographic-parity ratio of the positive class good: [0-9.]+ across [^(]+\(selection rate of good, /);
    expect(named.summary.verdict).not.toMatch(/if that is good/);
  });
});

describe('labels of unequal quality across groups', () => {
  const run = async (groupNoiseFactor: number) => {
    const p = generateSynthPool({ rows: 5000, dim: 16, classes: 5, noise: 0.15, groupNoiseFactor, seed: 3 });
    const synth = splitFromTable(p.train, synthClassNames(5), 'train');
    return fairness.run(makeContext(synth), { ...fairness.defaults, intersections: false, bootstrapSamples: 100 });
  };

  it('a label-error gap beyond chance raises the severity to at least a warning (planted: group b 4× the noise)', async () => {
    const r = await run(4);
    const f = r.summary.figures;
    expect(f.label_error_rate_gap as number).toBeGreaterThan(0.05);
    expect(f.label_error_rate_z as number).toBeGreaterThan(2.5758);
    expect(['warning', 'problem']).toContain(r.summary.severity);
    expect(r.summary.verdict).toMatch(/beyond chance, so the labels themselves are of unequal quality across group/);
  }, 120_000);

  it('no planted difference: no such sentence, and the figure is small', async () => {
    const r = await run(1);
    expect(r.summary.verdict).not.toContain('unequal quality');
    expect(Math.abs(r.summary.figures.label_error_rate_gap as number)).toBeLessThan(0.05);
    // The two rates are still compared in words: whether chance explains the gap is said, not left to the reader.
    expect(r.summary.verdict).toMatch(/Suspected label errors: [0-9.]+% of group = \w+ vs [0-9.]+% of group = \w+ \(a gap of [0-9.]+ points, z = -?[0-9.]+: (not beyond chance at the two-sided 1% level|beyond chance but under the 5 points)/);
  }, 120_000);
});

describe('a parity difference the labels themselves carry', () => {
  it('says the groups\' base rates differ as much, beside the equalized-odds difference', async () => {
    // Group a: 15% spam, group b: 50%; a "model" right on 98% of the rows in both.
    const n = 2000;
    const group = Array.from({ length: n }, (_, i) => (i < 1000 ? 'a' : 'b'));
    const labels = Int32Array.from({ length: n }, (_, i) => (i < 1000 ? (i % 20 < 3 ? 1 : 0) : i % 2));
    const proba = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) { const p = i % 50 === 0 ? 1 - labels[i] : labels[i]; proba[i * 2 + p] = 0.95; proba[i * 2 + 1 - p] = 0.05; }
    const split = makeSplit({ features: new Float32Array(n), n, d: 1, labels, classNames: ['ham', 'spam'], groups: { collection: group } });
    const r = await fairness.run(makeContext(split, { proba }), { ...fairness.defaults, bootstrapSamples: 100 });
    expect(r.summary.verdict).toMatch(/Largest demographic-parity difference: 3\d\.\d% across collection/);
    expect(r.summary.verdict).toContain("The given labels' share of spam itself differs by 35.0% across collection (b 50.0%, a 15.0%): a model right on every row would show that difference too");
  });
});
