/**
 * Class imbalance: counts and shares per class in train (and test when the audit may see it),
 * imbalance ratio (largest / smallest class), normalised entropy of the label distribution,
 * rare classes, and the shift between the train and test label distributions (total variation
 * distance and Pearson's chi-squared test of homogeneity).
 */
import type { PoolSplit } from '../pool/types.ts';
import type { Analyser, AnalyserResult, ExtraTable, Finding } from './types.ts';
import { groupedBarChart, barChart, count, pct, secondsSince } from './specs.ts';
import { chiSquaredHomogeneity } from './stats.ts';

export interface ClassImbalanceOptions {
  /**
   * A class is rare when its share is below `rareFactor` × 1/k (the balanced share): with
   * the default 0.5, under half of what a balanced pool would give it (5% of 10 classes).
   */
  rareFactor: number;
  /** Imbalance ratio bounds for severity: below `ratioOk` ok, below `ratioWarn` info/warning, above problem. */
  ratioOk: number;
  ratioWarn: number;
  /** Total variation distance between train and test label distributions above which the shift is a warning. */
  shiftWarn: number;
}

export interface ClassBalance {
  counts: Int32Array;
  shares: Float64Array;
  /** max count / min count; Infinity when a class has no rows. */
  imbalanceRatio: number;
  /** Entropy of the shares divided by ln k: 1 = perfectly balanced. */
  normalizedEntropy: number;
  rare: Uint8Array;
}

export function classBalance(labels: Int32Array, k: number, rareFactor: number): ClassBalance {
  const counts = new Int32Array(k);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  const n = labels.length;
  const shares = new Float64Array(k);
  let max = 0, min = Infinity, h = 0;
  const rare = new Uint8Array(k);
  for (let j = 0; j < k; j++) {
    shares[j] = n ? counts[j] / n : 0;
    if (counts[j] > max) max = counts[j];
    if (counts[j] < min) min = counts[j];
    if (shares[j] > 0) h -= shares[j] * Math.log(shares[j]);
    rare[j] = shares[j] < rareFactor / k ? 1 : 0;
  }
  return {
    counts, shares,
    imbalanceRatio: min > 0 ? max / min : Infinity,
    normalizedEntropy: k > 1 ? h / Math.log(k) : 1,
    rare,
  };
}

/** Total variation distance ½ Σ |p − q|. */
export function totalVariation(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < p.length; j++) s += Math.abs(p[j] - q[j]);
  return s / 2;
}

/** A train/test label shift must reach this chi-squared p-value to count (and raise the severity). */
export const SHIFT_ALPHA = 0.01;

export const classImbalance: Analyser<ClassImbalanceOptions> = {
  name: 'class-imbalance',
  title: 'Class imbalance and label shift',
  needs: ['labels'],
  defaults: { rareFactor: 0.5, ratioOk: 1.5, ratioWarn: 10, shiftWarn: 0.05 },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    const train = ctx.train;
    const names = train.classNames;
    const k = names.length;
    const tr = classBalance(train.labels, k, opts.rareFactor);
    const test: PoolSplit | undefined = ctx.test;
    const te = test ? classBalance(test.labels, k, opts.rareFactor) : null;

    const rows: ExtraTable['rows'] = [];
    for (let j = 0; j < k; j++) {
      rows.push({ class: names[j], split: 'train', count: tr.counts[j], share: tr.shares[j], rare: tr.rare[j] === 1 });
      if (te) rows.push({ class: names[j], split: 'test', count: te.counts[j], share: te.shares[j], rare: te.rare[j] === 1 });
    }
    const shift = te ? totalVariation(tr.shares, te.shares) : null;
    const chi = te ? chiSquaredHomogeneity(tr.counts, te.counts) : null;

    const rareNames = names.filter((_, j) => tr.rare[j]);
    const empty = names.filter((_, j) => tr.counts[j] === 0);
    let maxJ = 0, minJ = 0;
    for (let j = 1; j < k; j++) {
      if (tr.counts[j] > tr.counts[maxJ]) maxJ = j;
      if (tr.counts[j] < tr.counts[minJ]) minJ = j;
    }
    const parts: string[] = [];
    if (empty.length) parts.push(`${empty.length} class${empty.length > 1 ? 'es have' : ' has'} no train rows (${empty.join(', ')}).`);
    else if (tr.counts[maxJ] === tr.counts[minJ]) parts.push(`Classes are perfectly balanced: ${count(tr.counts[maxJ])} train rows each.`);
    else if (tr.imbalanceRatio < opts.ratioOk) parts.push(`Classes are balanced: the largest (${names[maxJ]}, ${count(tr.counts[maxJ])}) is ${tr.imbalanceRatio.toFixed(2)}× the smallest (${names[minJ]}, ${count(tr.counts[minJ])}).`);
    else parts.push(`The largest class (${names[maxJ]}, ${count(tr.counts[maxJ])} rows) is ${tr.imbalanceRatio.toFixed(1)}× the smallest (${names[minJ]}, ${count(tr.counts[minJ])}).`);
    if (rareNames.length && !empty.length) parts.push(`Rare (under ${pct(opts.rareFactor / k)} of rows): ${rareNames.join(', ')}.`);
    // A shift counts when it is both large (total variation ≥ shiftWarn) and more than sampling
    // gives at these sizes (chi-squared p < SHIFT_ALPHA): a small test split moves by chance.
    const shifted = shift !== null && chi !== null && shift >= opts.shiftWarn && chi.pValue < SHIFT_ALPHA;
    if (shift !== null && chi) {
      parts.push(shifted
        ? `Train and test label distributions differ (total variation ${pct(shift)}, chi-squared p = ${chi.pValue.toPrecision(2)}): a shift between the splits, or label noise in train that the test labels do not have.`
        : shift >= opts.shiftWarn
          ? `Train and test label distributions differ by total variation ${pct(shift)}, no more than sampling gives at these sizes (chi-squared p = ${chi.pValue.toPrecision(2)}).`
          : `Train and test label distributions match (total variation ${pct(shift)}).`);
    } else parts.push('No test split was read, so the train and test label distributions were not compared.');

    let severity: 'ok' | 'info' | 'warning' | 'problem' = 'ok';
    if (empty.length || tr.imbalanceRatio >= opts.ratioWarn) severity = 'problem';
    else if (rareNames.length) severity = 'warning';
    else if (tr.imbalanceRatio >= opts.ratioOk) severity = 'info';
    if (shifted && severity !== 'problem') severity = 'warning';

    // Rows of rare classes are the per-row findings: they are what a selection should protect.
    const findings: Finding[] = [];
    for (let i = 0; i < train.n; i++) {
      const c = train.labels[i];
      if (!tr.rare[c]) continue;
      findings.push({
        id: train.ids[i], score: 1 - tr.shares[c] * k, flagged: true,
        detail: { label: names[c], class_share: tr.shares[c], class_count: tr.counts[c] },
      });
    }
    const plots = [te
      ? groupedBarChart({ title: 'Rows per class, train and test', values: rows.map((r) => ({ class: r.class, split: r.split, share: r.share })), category: 'class', series: 'split', value: 'share', valueTitle: 'share of split' })
      : barChart({ title: 'Rows per class', values: rows.map((r) => ({ class: r.class, count: r.count })), category: 'class', value: 'count', valueTitle: 'rows' })];
    return {
      name: 'class-imbalance',
      summary: {
        verdict: parts.join(' '),
        severity,
        figures: {
          classes: k,
          rows: train.n,
          imbalance_ratio: Number.isFinite(tr.imbalanceRatio) ? tr.imbalanceRatio : null,
          normalized_entropy: tr.normalizedEntropy,
          rare_classes: rareNames.length,
          smallest_class: names[minJ],
          largest_class: names[maxJ],
          test_rows: test ? test.n : null,
          train_test_tvd: shift,
          chi_squared: chi ? chi.statistic : null,
          chi_squared_df: chi ? chi.df : null,
          chi_squared_p: chi && Number.isFinite(chi.pValue) ? chi.pValue : null,
        },
      },
      findings,
      // Declared: a pool without rare classes has no findings, and its table keeps these columns.
      findingColumns: { label: 'text', class_share: 'number', class_count: 'number' },
      tables: [{ name: 'class_balance', rows }],
      plots,
      seconds: secondsSince(t0),
    };
  },
};
