/**
 * Fairness across subgroups. For every group column and every pair of group columns
 * (intersections such as "sex × age_band"): each group's size and share, base rate of each
 * class (given labels), label-error rate (the rows the label-errors analyser flags, with the
 * audit's label-errors options such as --label-filter), and out-of-sample model figures: accuracy, and per class (one-vs-rest) selection
 * rate, TPR and FPR. Per attribute and class: demographic-parity difference (max − min
 * selection rate) and ratio (min / max), the TPR and FPR ranges, equalized-odds difference
 * (the larger range), and worst-group accuracy: fairlearn's definitions (MetricFrame by group,
 * demographic_parity_difference / _ratio, equalized_odds_difference), one-vs-rest. The
 * headline of an attribute is one class, named in every row that reports it: `positiveClass`
 * when given; else, with two classes, the less frequent class of the labels (the second when
 * both are as frequent: with two classes the differences are the same for either class, the
 * ratio is not, and the rarer outcome is the one whose ratio a tie-break would hide); with
 * more, per attribute the class with the largest parity difference. Every class's ratio is
 * bootstrapped too, and the verdict reports the lowest ratio over attributes and classes with
 * its class named, against the four-fifths rule (0.8).
 *
 * The judging rule is compute/group-metrics.ts's: a rate is judged only where its denominator
 * reaches `minGroupSize` (rows for accuracy and selection rate, positives for TPR, negatives
 * for FPR). Groups below it are listed with their figures and the reason, never dropped, and
 * take no part in differences, the worst group, the verdict or the severity.
 *
 * Intervals (compute/stats.ts, chosen by bench/interval-coverage.ts): a group's rates
 * (accuracy, label-error rate, selection rate, TPR, FPR) get Wilson score intervals; the
 * differences, the ratios and worst-group accuracy get a seeded percentile bootstrap over rows,
 * extended to the estimate where the percentiles miss it (a max − min gap near 0, whose
 * resamples all lie above it), with the bootstrap bias reported and, for a figure the verdict
 * cites, the extension and the bias said in the verdict. A ratio of 0 (a judged group with no
 * row selected: every resample is 0 too) gets its upper end from the groups' Wilson intervals
 * (zeroRatioBound). BCa and bias-corrected percentile under-cover these gaps (0.82-0.84 against
 * the percentile's 0.97, bench/interval-coverage.ts). Every interval contains its estimate. The severity follows the lower end of the largest
 * judged gap's interval, so a gap that resampling noise could explain does not warn; a parity
 * ratio of the positive class whose whole interval is under four-fifths raises it to at least
 * a warning.
 * Missing group values form their own group "(missing)".
 */
import { forEachResample, allRows } from '../../compute/bootstrap.ts';
import { GroupTallies, groupGaps, groupRates, judgeGroups, tallyGroups, tooSmallReason, type Judged } from '../../compute/group-metrics.ts';
import { bootstrapInterval, wilsonInterval } from '../../compute/stats.ts';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { SieveError } from '../util/errors.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Analyser, AnalyserResult, ExtraTable, PlotSpec } from './types.ts';
import { argmaxRow } from './confident-learning.ts';
import { labelErrorScores, labelErrors, predictiveSkill, type LabelErrorOptions } from './label-errors.ts';
import { barChart, heatmap, intervalChart, pct, secondsSince } from './specs.ts';

export const MISSING_GROUP = '(missing)';

export interface FairnessOptions {
  /** Smallest denominator a rate is judged on: rows, positives (TPR), negatives (FPR). */
  minGroupSize: number;
  /** Also judge every pair of group columns. */
  intersections: boolean;
  /** Class whose selection rate / TPR / FPR make the headline; null = with two classes the less frequent one, with more the class with the largest parity difference per attribute. */
  positiveClass: string | null;
  /** How `positiveClass` was chosen, when not by the user (a subset audit names the whole pool's default); null = given. */
  positiveClassRule?: string | null;
  bootstrapSamples: number;
  /** Only these group columns (default: all). */
  columns: string[] | null;
}

/** An attribute: a group column or an intersection, with each row's group code. */
export interface Attribute {
  name: string;
  groups: string[];
  codes: Int32Array;
}

const isIntersection = (name: string) => name.includes(' × ');

/** Group columns (sorted by name) and, optionally, their pairwise intersections. */
export function attributesOf(split: PoolSplit, columns: string[] | null, intersections: boolean): Attribute[] {
  const cols = (columns ?? Object.keys(split.groups)).slice().sort();
  const unknown = cols.filter((c) => !(c in split.groups));
  if (unknown.length) {
    throw new SieveError(`unknown group column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')}`, {
      where: 'fairness options', examples: [`group columns: ${Object.keys(split.groups).join(', ') || 'none'}`], count: unknown.length,
    });
  }
  const values = (c: string) => split.groups[c].map((v) => (v === null || v === undefined || v === '' ? MISSING_GROUP : v));
  const encode = (name: string, vals: string[]): Attribute => {
    const groups = [...new Set(vals)].sort((a, b) => (a === MISSING_GROUP ? 1 : b === MISSING_GROUP ? -1 : a < b ? -1 : a > b ? 1 : 0));
    const index = new Map(groups.map((g, i) => [g, i]));
    return { name, groups, codes: Int32Array.from(vals, (v) => index.get(v)!) };
  };
  const attrs = cols.map((c) => encode(c, values(c)));
  if (intersections) {
    for (let a = 0; a < cols.length; a++) for (let b = a + 1; b < cols.length; b++) {
      const va = values(cols[a]), vb = values(cols[b]);
      attrs.push(encode(`${cols[a]} × ${cols[b]}`, va.map((v, i) => `${v} | ${vb[i]}`)));
    }
  }
  return attrs;
}

/**
 * Rows grouped into cells that agree on every attribute's group, the label, the prediction and
 * the label-error flag, when there are few enough cells to pay for it (at most n / 4): `of[row]`
 * is the row's cell, and per cell its group code in each attribute, label, prediction and flag.
 */
export function rowCells(attrs: Attribute[], y: Int32Array, pred: Int32Array, flagged: Uint8Array, k: number):
  { count: number; of: Int32Array | Uint16Array | Uint8Array; codes: Int32Array[]; y: Int32Array; pred: Int32Array; flagged: Uint8Array } | null {
  const n = y.length;
  let space = 2 * k * k;
  for (const a of attrs) space *= Math.max(1, a.groups.length);
  if (!(space < 2 ** 52) || n < 64) return null;
  const index = new Map<number, number>();
  const of = new Int32Array(n);
  const first: number[] = [];
  for (let i = 0; i < n; i++) {
    let key = 0;
    for (const a of attrs) key = key * a.groups.length + a.codes[i];
    key = ((key * k + y[i]) * k + pred[i]) * 2 + flagged[i];
    let c = index.get(key);
    if (c === undefined) {
      c = first.length;
      if (c >= n / 4) return null;
      index.set(key, c);
      first.push(i);
    }
    of[i] = c;
  }
  const rows = Int32Array.from(first);
  // The narrowest array that holds the cell numbers: the bootstrap reads it at random.
  return {
    count: rows.length, of: rows.length <= 256 ? Uint8Array.from(of) : rows.length <= 65536 ? Uint16Array.from(of) : of,
    codes: attrs.map((a) => rows.map((r) => a.codes[r])),
    y: rows.map((r) => y[r]), pred: rows.map((r) => pred[r]), flagged: Uint8Array.from(rows, (r) => flagged[r]),
  };
}

/**
 * The default headline class of a two-class pool: the less frequent class of the labels, or the
 * second when both are as frequent; null with more than two classes (chosen per attribute).
 */
export function binaryDefaultClass(labels: Int32Array, k: number): { index: number; rule: string } | null {
  if (k !== 2) return null;
  let second = 0;
  for (let i = 0; i < labels.length; i++) second += labels[i];
  const first = labels.length - second;
  return { index: second <= first ? 1 : 0, rule: second === first ? 'both classes equally frequent: the second' : 'the less frequent class' };
}

/** Severity by the lower end of the largest judged gap's interval: < 0.05 ok, < 0.1 info, < 0.2 warning, else problem. */
export const FAIRNESS_SEVERITY = { ok: 0.05, info: 0.1, warning: 0.2 };

/** Attribute statistics with bootstrap intervals, in this order (then every class's parity ratio). */
const ATTR_STATS = ['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'worst_group_accuracy'] as const;

/** A label-error rate gap between two groups of one column raises the severity when it is this large … */
export const LABEL_ERROR_GAP = 0.05;
/** … and its two-proportion z exceeds this (two-sided 1%). */
export const LABEL_ERROR_Z = 2.5758;

/** The four-fifths rule: a parity ratio under 0.8 is an adverse impact (US EEOC guidelines; fairlearn's docs cite it). */
export const FOUR_FIFTHS = 0.8;

/**
 * The bootstrapped statistics of one attribute for headline class c, from (possibly weighted)
 * tallies: ATTR_STATS, then the parity ratio of each class over its own judged groups.
 */
function statistics(t: GroupTallies, c: number, judged: Judged, perClass: Judged[], out: Float64Array): Float64Array {
  const gaps = groupGaps(t, c, judged);
  out[0] = gaps.dpDifference; out[1] = gaps.dpRatio; out[2] = gaps.eoDifference; out[3] = gaps.worstAccuracy;
  const m = ATTR_STATS.length;
  for (let k = 0; k < perClass.length; k++) out[m + k] = k === c ? gaps.dpRatio : groupGaps(t, k, perClass[k]).dpRatio;
  return out;
}

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** An interval as reported: a bootstrap one, or for a zero ratio the bound from the rates' Wilson intervals. */
interface Interval {
  low: number;
  high: number;
  /** Bootstrap bias (mean of the resamples − estimate); NaN for a Wilson bound. */
  bias: number;
  /** The percentile interval missed the estimate and was extended to it. */
  extended: boolean;
  /** Set when the interval is not the bootstrap's: how it was formed. */
  bound: string | null;
}

/**
 * The 95% interval of a parity ratio that is 0 because a judged group has no row predicted c.
 * The true ratio min/max is at most p_z / p_max for that group z and the group with the largest
 * rate, so [0, U_z / L_max] with U_z, L_max the ends of their 97.5% Wilson intervals covers it
 * at least 95% of the time (Bonferroni over the two). null when no judged group has a rate.
 */
export function zeroRatioBound(t: GroupTallies, c: number, judged: Judged, groups: string[]): Interval | null {
  let zero = -1, top = -1, topRate = -Infinity;
  for (let g = 0; g < t.groups; g++) {
    const rows = t.rows(g);
    if (!judged.rows[g] || rows === 0) continue;
    const sel = t.predicted(g, c) / rows;
    if (sel === 0 && (zero < 0 || rows > t.rows(zero))) zero = g;
    if (sel > topRate) { topRate = sel; top = g; }
  }
  if (zero < 0 || !(topRate > 0)) return null;
  const upper = wilsonInterval(0, t.rows(zero), 0.975)[1];
  const lower = wilsonInterval(t.predicted(top, c), t.rows(top), 0.975)[0];
  return {
    low: 0, high: Math.min(1, upper / lower), bias: NaN, extended: false,
    bound: `${groups[zero]}: 0 of ${t.rows(zero)} selected (97.5% Wilson upper end ${upper.toFixed(3)}) / ${groups[top]}: ${t.predicted(top, c)} of ${t.rows(top)} (lower end ${lower.toFixed(3)})`,
  };
}

/**
 * The 95% interval of a gap between groups' rates (max − min: selection rate, TPR or FPR) whose
 * extreme group has a rate of 0 or 1: every resample of that group gives the same rate, so
 * the bootstrap's interval holds only the other group's noise (a tryout: German credit's
 * foreign_worker = no, 0 of 37 predicted bad, gave [21.3%, 26.7%] around 24.1%). Newcombe's
 * hybrid score interval from the two groups' Wilson intervals (Newcombe 1998, method 10)
 * covers it; null when neither extreme is at 0 or 1, or fewer than two groups are judged.
 * Every judged group at the same rate (a model right on every row: TPR 1 and FPR 0 in each):
 * the gap is 0 and every resample says so; its interval is the first group against the one
 * whose Wilson interval is widest (a teacher's tryout printed "95% CI 0.0%–0.0%" with a group
 * of 71 rows).
 */
export function boundaryGapBound(t: GroupTallies, c: number, judged: Judged, groups: string[], rate: 'selection' | 'tpr' | 'fpr'): Interval | null {
  const parts = (g: number): [number, number] | null => {
    const rows = t.rows(g), pos = t.labelled(g, c), predC = t.predicted(g, c), tp = t.both(g, c);
    if (rate === 'selection') return judged.rows[g] && rows > 0 ? [predC, rows] : null;
    if (rate === 'tpr') return judged.tpr[g] && pos > 0 ? [tp, pos] : null;
    return judged.fpr[g] && rows - pos > 0 ? [predC - tp, rows - pos] : null;
  };
  let hi = -1, lo = -1, hiRate = -Infinity, loRate = Infinity;
  for (let g = 0; g < t.groups; g++) {
    const x = parts(g);
    if (!x) continue;
    const r = x[0] / x[1];
    if (r > hiRate) { hiRate = r; hi = g; }
    if (r < loRate) { loRate = r; lo = g; }
  }
  if (hi < 0 || lo < 0) return null;
  if (!(loRate === 0 || hiRate === 1)) return null;
  if (hi === lo) {
    // Every judged group at one rate: pair the first with the widest other one (fewest rows).
    let widest = -1;
    for (let g = 0; g < t.groups; g++) {
      const x = g === hi ? null : parts(g);
      if (x && (widest < 0 || x[1] < parts(widest)![1])) widest = g;
    }
    if (widest < 0) return null;
    lo = widest;
  }
  const [h, hn] = parts(hi)!, [l, ln] = parts(lo)!;
  const [hl, hu] = wilsonInterval(h, hn), [ll, lu] = wilsonInterval(l, ln);
  const d = hiRate - loRate;
  return {
    low: Math.max(0, d - Math.hypot(hiRate - hl, lu - loRate)),
    high: Math.min(1, d + Math.hypot(hu - hiRate, loRate - ll)),
    bias: NaN, extended: false,
    bound: `Newcombe's interval from the Wilson intervals of ${groups[hi]} (${h} of ${hn}) and ${groups[lo]} (${l} of ${ln}), ${hiRate === loRate ? 'both' : 'one of them'} at ${loRate === 0 ? '0' : '1'}`,
  };
}

/**
 * The 95% interval of the worst-group accuracy from the judged groups' Wilson intervals:
 * [min_g lower_g, min_g upper_g] holds min_g p_g whenever every p_g is in its interval (used
 * where the estimate is 0 or 1 and the bootstrap cannot vary it).
 */
function worstAccuracyBound(t: GroupTallies, judged: Judged, groups: string[]): Interval | null {
  let low = Infinity, high = Infinity, at = -1;
  for (let g = 0; g < t.groups; g++) {
    const rows = t.rows(g);
    if (!judged.rows[g] || rows === 0) continue;
    const [l, u] = wilsonInterval(t.correct(g), rows);
    if (l < low) { low = l; at = g; }
    if (u < high) high = u;
  }
  if (at < 0) return null;
  return {
    low, high, bias: NaN, extended: false,
    bound: `the groups' Wilson intervals (the widest, ${groups[at]}: ${t.correct(at)} of ${t.rows(at)} right)`,
  };
}

interface AttributeResult {
  attr: Attribute;
  /** Headline class. */
  cls: number;
  judged: Judged;
  /** Judged groups per class (for every class's parity ratio). */
  judgedAll: Judged[];
  point: Float64Array;
  /** ATTR_STATS, then every class's parity ratio. */
  intervals: Interval[];
  /** Unweighted tallies. */
  t: GroupTallies;
  /** Per class: judged sets and gaps. */
  perClass: { judged: Judged; gaps: ReturnType<typeof groupGaps> }[];
}

export const fairness: Analyser<FairnessOptions> = {
  name: 'fairness',
  title: 'Fairness across subgroups',
  needs: ['labels', 'groups', 'oos-probabilities'],
  defaults: { minGroupSize: 30, intersections: true, positiveClass: null, positiveClassRule: null, bootstrapSamples: 500, columns: null },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    const train = ctx.train;
    const names = train.classNames;
    const k = names.length;
    const attrs = attributesOf(train, opts.columns, opts.intersections);
    if (attrs.length === 0) {
      return {
        name: 'fairness',
        summary: { verdict: 'The pool has no group columns: there are no subgroups to compare.', severity: 'ok', figures: { group_columns: 0 } },
        findings: [], tables: [], plots: [], seconds: secondsSince(t0),
      };
    }
    const given = opts.positiveClass === null ? null : names.indexOf(opts.positiveClass);
    if (given === -1) throw new SieveError(`positive class "${opts.positiveClass}" is not a class of the pool`, { where: '--positive-class', examples: [`classes: ${names.join(', ')}`] });
    if (!(Number.isInteger(opts.minGroupSize) && opts.minGroupSize >= 1)) throw new SieveError(`the minimum group size must be a positive integer, got ${opts.minGroupSize}`, { where: '--min-group-size' });
    const N = opts.minGroupSize;

    const oos = await ctx.oos();
    const y = train.labels;
    const n = train.n;
    const pred = new Int32Array(n);
    for (let i = 0; i < n; i++) pred[i] = argmaxRow(oos.proba, i, k);
    // The rows the label-errors analyser flags as this audit configures it (e.g. --label-filter).
    const labelOptions: LabelErrorOptions = { ...labelErrors.defaults, ...(ctx.options?.['label-errors'] ?? {}) };
    const flagged = (await labelErrorScores(ctx, labelOptions)).scores.mask;
    let overallCorrect = 0;
    for (let i = 0; i < n; i++) if (pred[i] === y[i]) overallCorrect++;
    const overallAccuracy = overallCorrect / Math.max(n, 1);
    // The headline class: given; with two classes the less frequent (the second on a tie);
    // with more, chosen per attribute below.
    let pos = given;
    let positiveRule = given === null ? 'largest parity difference per attribute' : (opts.positiveClassRule ?? 'given');
    const binary = given === null ? binaryDefaultClass(y, k) : null;
    if (binary) { pos = binary.index; positiveRule = binary.rule; }

    // Point estimates, per class, and the headline class of each attribute.
    const results: AttributeResult[] = attrs.map((attr) => {
      const t = tallyGroups(new GroupTallies(attr.groups.length, k), attr.codes, y, pred, null, null, flagged);
      const perClass = names.map((_, c) => { const judged = judgeGroups(t, c, N); return { judged, gaps: groupGaps(t, c, judged) }; });
      let cls = pos ?? 0;
      if (pos === null) {
        // More than two classes: strictly larger by more than rounding, so ties go to the first.
        let best = NaN;
        perClass.forEach((pc, c) => { const d = pc.gaps.dpDifference; if (Number.isFinite(d) && (!Number.isFinite(best) || d > best + 1e-12)) { best = d; cls = c; } });
      }
      const judged = perClass[cls].judged;
      const judgedAll = perClass.map((pc) => pc.judged);
      return { attr, cls, judged, judgedAll, t, perClass, point: statistics(t, cls, judged, judgedAll, new Float64Array(ATTR_STATS.length + k)), intervals: [] };
    });

    // Seeded bootstrap over rows (the same resamples for every attribute); the judged groups
    // stay those of the point estimate, so each interval describes the same quantity.
    const B = opts.bootstrapSamples;
    const boot = results.map((r) => new Float64Array(r.point.length * B));
    const scratch = results.map((r) => new GroupTallies(r.attr.groups.length, k));
    const out = results.map((r) => new Float64Array(r.point.length));
    ctx.progress.start(B, 'fairness bootstrap');
    const record = (b: number) => {
      results.forEach((r, a) => {
        statistics(scratch[a], r.cls, r.judged, r.judgedAll, out[a]);
        const m = r.point.length;
        for (let s = 0; s < m; s++) boot[a][s * B + b] = out[a][s];
      });
      ctx.progress.tick(1);
    };
    const rng = createRng(deriveSeed(ctx.seed, 'fairness-bootstrap'));
    const cells = rowCells(attrs, y, pred, flagged, k);
    if (cells) {
      // The same draws as forEachResample (n per resample), counted per cell of rows alike in
      // every attribute's group, class, prediction and flag as they are drawn: the tallies
      // are sums of whole multiplicities, exact in float64 in any order, so the figures are
      // those of the row-by-row tally at a fraction of the passes over the rows.
      const count = new Int32Array(cells.count);
      for (let b = 0; b < B; b++) {
        count.fill(0);
        rng.countMapped(n, n, cells.of, count);
        results.forEach((_, a) => {
          const t = scratch[a], codes = cells.codes[a];
          t.reset();
          for (let c = 0; c < cells.count; c++) if (count[c] !== 0) t.add(codes[c], cells.y[c], cells.pred[c], count[c], cells.flagged[c]);
        });
        record(b);
      }
    } else {
      forEachResample(allRows(n), n, B, rng, (b, weight) => {
        results.forEach((r, a) => tallyGroups(scratch[a], r.attr.codes, y, pred, null, weight, flagged));
        record(b);
      });
    }
    ctx.progress.stop();
    let extended = 0, ratioBounds = 0, gapBounds = 0;
    const m0 = ATTR_STATS.length;
    results.forEach((r, a) => {
      for (let s = 0; s < r.point.length; s++) {
        const b = bootstrapInterval(boot[a].subarray(s * B, (s + 1) * B), r.point[s], { method: 'percentile', minResamples: Math.min(10, B) });
        let iv: Interval = { low: b.low, high: b.high, bias: b.bias, extended: b.extended, bound: null };
        // A parity ratio of 0 (a judged group with no row predicted c): every resample gives 0
        // too, so the bootstrap says [0, 0]. Bound it from the rates' own intervals instead.
        const c = s === 1 ? r.cls : s - m0;
        if ((s === 1 || s >= m0) && r.point[s] === 0) { const w = zeroRatioBound(r.t, c, r.judgedAll[c], r.attr.groups); if (w) { iv = w; if (s < m0 || s - m0 !== r.cls) ratioBounds++; } }
        // A gap whose extreme group sits at a rate of 0 or 1: the bootstrap's interval is too
        // narrow (that group never varies); widened to Newcombe's interval where that is wider.
        if (s === 0 || s === 2) {
          const gaps = s === 2 ? groupGaps(r.t, r.cls, r.judged) : null;
          const rate = s === 0 ? 'selection' : gaps!.tprGap >= gaps!.fprGap ? 'tpr' : 'fpr';
          const w = Number.isFinite(r.point[s]) ? boundaryGapBound(r.t, r.cls, r.judged, r.attr.groups, rate) : null;
          if (w && (w.low < iv.low || w.high > iv.high)) { iv = { ...w, low: Math.min(w.low, iv.low), high: Math.max(w.high, iv.high) }; gapBounds++; }
        }
        // Worst-group accuracy at 0 or 1: every resample of that group gives the same rate, so
        // the bootstrap's interval is a point; the groups' Wilson intervals bound the lowest
        // accuracy instead ([min of the lower ends, min of the upper ends]).
        if (s === 3 && (r.point[s] === 1 || r.point[s] === 0)) {
          const w = worstAccuracyBound(r.t, r.judged, r.attr.groups);
          if (w && (w.low < iv.low || w.high > iv.high)) iv = { ...w, low: Math.min(w.low, iv.low), high: Math.max(w.high, iv.high) };
        }
        if (iv.extended && (s < m0 || s - m0 !== r.cls)) extended++;
        r.intervals.push(iv);
      }
    });

    const groupRows: ExtraTable['rows'] = [];
    const classRows: ExtraTable['rows'] = [];
    const attrRows: ExtraTable['rows'] = [];
    const attrClassRows: ExtraTable['rows'] = [];
    for (const r of results) {
      const { attr, cls, judged, t, point, intervals } = r;
      const G = attr.groups.length;
      const iv = (s: number) => intervals[s];
      for (let g = 0; g < G; g++) {
        const rates = groupRates(t, g, cls);
        const row: ExtraTable['rows'][number] = {
          attribute: attr.name, group: attr.groups[g], rows: rates.rows, share: rates.rows / n,
          too_small: !judged.rows[g], too_small_reason: tooSmallReason(t, g, cls, judged),
          class: names[cls], positives: rates.positives, negatives: rates.negatives,
        };
        const tpC = t.both(g, cls), predC = t.predicted(g, cls);
        const rateOf: [string, number, number][] = [
          ['accuracy', t.correct(g), rates.rows], ['label_error_rate', t.flagged(g), rates.rows],
          ['selection_rate', predC, rates.rows], ['tpr', tpC, rates.positives], ['fpr', predC - tpC, rates.negatives],
        ];
        for (const [name, hits, den] of rateOf) {
          const [lo, hi] = wilsonInterval(hits, den);
          row[name] = den > 0 ? hits / den : null;
          row[`${name}_low`] = num(lo);
          row[`${name}_high`] = num(hi);
        }
        row.tpr_judged = judged.tpr[g] === 1;
        row.fpr_judged = judged.fpr[g] === 1;
        groupRows.push(row);
        for (let c = 0; c < k; c++) {
          const rc = groupRates(t, g, c);
          const jc = r.perClass[c].judged;
          classRows.push({
            attribute: attr.name, group: attr.groups[g], class: names[c], rows: rc.rows, positives: rc.positives, negatives: rc.negatives,
            too_small: !jc.rows[g], tpr_judged: jc.tpr[g] === 1, fpr_judged: jc.fpr[g] === 1,
            base_rate: num(rc.baseRate), selection_rate: num(rc.selectionRate), tpr: num(rc.tpr), fpr: num(rc.fpr),
          });
        }
      }
      const gaps = r.perClass[cls].gaps;
      const arow: ExtraTable['rows'][number] = {
        attribute: attr.name, class: names[cls], groups: G,
        judged_groups: gaps.judgedRows, judged_tpr_groups: gaps.judgedTpr, judged_fpr_groups: gaps.judgedFpr,
        too_small_groups: G - gaps.judgedRows,
      };
      ATTR_STATS.forEach((name, s) => {
        arow[name] = num(point[s]);
        arow[`${name}_low`] = num(iv(s).low);
        arow[`${name}_high`] = num(iv(s).high);
        arow[`${name}_bias`] = num(iv(s).bias);
        arow[`${name}_extended`] = iv(s).extended;
      });
      arow.demographic_parity_ratio_bound = iv(1).bound;
      arow.demographic_parity_difference_bound = iv(0).bound;
      arow.equalized_odds_difference_bound = iv(2).bound;
      arow.tpr_gap = num(gaps.tprGap);
      arow.fpr_gap = num(gaps.fprGap);
      arow.worst_group = gaps.worstGroup >= 0 ? attr.groups[gaps.worstGroup] : null;
      attrRows.push(arow);
      r.perClass.forEach((pc, c) => attrClassRows.push({
        attribute: attr.name, class: names[c], headline: c === cls,
        demographic_parity_difference: num(pc.gaps.dpDifference), demographic_parity_ratio: num(pc.gaps.dpRatio),
        demographic_parity_ratio_low: num(intervals[m0 + c].low), demographic_parity_ratio_high: num(intervals[m0 + c].high),
        demographic_parity_ratio_bias: num(intervals[m0 + c].bias), demographic_parity_ratio_extended: intervals[m0 + c].extended,
        demographic_parity_ratio_bound: intervals[m0 + c].bound,
        tpr_gap: num(pc.gaps.tprGap), fpr_gap: num(pc.gaps.fprGap), equalized_odds_difference: num(pc.gaps.eoDifference),
        judged_groups: pc.gaps.judgedRows, judged_tpr_groups: pc.gaps.judgedTpr, judged_fpr_groups: pc.gaps.judgedFpr,
      }));
    }

    // Verdict: judged figures only; single columns first (intersections are finer and noisier).
    const nv = (x: unknown) => (typeof x === 'number' ? x : null);
    const single = attrRows.filter((x) => !isIntersection(String(x.attribute)));
    const worstAcc = single.filter((x) => nv(x.worst_group_accuracy) !== null)
      .sort((a, b) => (a.worst_group_accuracy as number) - (b.worst_group_accuracy as number))[0];
    const top = (field: string) => attrRows.filter((x) => nv(x[field]) !== null).sort((a, b) => (b[field] as number) - (a[field] as number))[0];
    const dpTop = top('demographic_parity_difference');
    const eoTop = top('equalized_odds_difference');
    const ratio = (x: number) => x.toFixed(2);
    const range = (x: ExtraTable['rows'][number], f: string, fmt: (v: number) => string = pct) => {
      const low = x[`${f}_low`] as number, high = x[`${f}_high`] as number;
      let text = `95% CI ${fmt(low)}–${fmt(high)}`;
      const bound = x[`${f}_bound`];
      if (typeof bound === 'string') text += bound.startsWith('Newcombe') ? `, ${bound}` : ` from the groups' Wilson intervals, ${bound}`;
      if (x[`${f}_extended`] === true) {
        // The percentiles missed the estimate: say so and by how much resampling shifts it.
        const bias = x[`${f}_bias`] as number, down = low === x[f];
        const amount = fmt === pct ? `${bias >= 0 ? '+' : '−'}${(100 * Math.abs(bias)).toFixed(1)} pts` : `${bias >= 0 ? '+' : '−'}${Math.abs(bias).toFixed(2)}`;
        text += `, extended ${down ? 'down' : 'up'} to the estimate: the resamples lie ${down ? 'above' : 'below'} it, bootstrap bias ${amount}`;
      }
      return text;
    };
    const parts: string[] = [];
    // The interval is the worst-group accuracy's (a bootstrap of the minimum over groups), not
    // that group's own Wilson interval in fairness_groups: said so, since the two differ.
    // With groups too small to judge, the lowest judged group may sit above the overall figure: say among which.
    const anySmall = groupRows.some((x) => x.too_small);
    // Intersections are judged by the same rule but finer and noisier: their lowest is said
    // beside the single columns' where it is lower, never hidden behind "lowest".
    const crossed = attrRows.filter((x) => isIntersection(String(x.attribute)) && nv(x.worst_group_accuracy) !== null)
      .sort((a, b) => (a.worst_group_accuracy as number) - (b.worst_group_accuracy as number))[0];
    const crossedLower = worstAcc && crossed && (crossed.worst_group_accuracy as number) < (worstAcc.worst_group_accuracy as number);
    if (worstAcc) parts.push(`Out-of-sample accuracy is ${pct(overallAccuracy)} overall and lowest${crossed ? ' of the single columns\' groups' : ''}${anySmall ? `${crossed ? ' of' : ' among groups of'} at least ${N} rows` : ''} for ${worstAcc.attribute} = ${worstAcc.worst_group} (${pct(worstAcc.worst_group_accuracy as number)}; worst-group accuracy ${range(worstAcc, 'worst_group_accuracy')})${crossedLower ? `; lower still in the intersection ${crossed.attribute} = ${crossed.worst_group} (${pct(crossed.worst_group_accuracy as number)}, ${range(crossed, 'worst_group_accuracy')})` : ''}.`);
    if (dpTop) {
      parts.push(`Largest demographic-parity difference: ${pct(dpTop.demographic_parity_difference as number)} across ${dpTop.attribute} (selection rate of ${dpTop.class}, ${range(dpTop, 'demographic_parity_difference')}).`);
      // The groups' labels may differ as much (spam-assassin's corpus releases: another spam
      // share each): a model that gets every group right shows that difference too.
      const judgedRows = groupRows.filter((x) => x.attribute === dpTop.attribute && !x.too_small && (x.rows as number) > 0);
      const base = judgedRows.map((x) => ({ group: x.group as string, rate: (x.positives as number) / (x.rows as number) })).sort((a, b) => a.rate - b.rate);
      const dp = dpTop.demographic_parity_difference as number;
      if (base.length >= 2 && dp > 0) {
        const gap = base[base.length - 1].rate - base[0].rate;
        if (gap >= 0.5 * dp)
          parts.push(`The given labels' share of ${dpTop.class} itself differs by ${pct(gap)} across ${dpTop.attribute} (${base[base.length - 1].group} ${pct(base[base.length - 1].rate)}, ${base[0].group} ${pct(base[0].rate)}): a model right on every row would show that difference too, so read it beside the equalized-odds difference, which compares the groups at equal labels.`);
      }
    }
    if (eoTop) parts.push(`Largest equalized-odds difference: ${pct(eoTop.equalized_odds_difference as number)} across ${eoTop.attribute} (${eoTop.class} one-vs-rest, ${range(eoTop, 'equalized_odds_difference')}).`);
    // The parity ratio differs by class (with two classes the differences do not): the lowest
    // over attributes and classes, its class named, against the four-fifths rule.
    const ratioRows = attrClassRows.filter((x) => nv(x.demographic_parity_ratio) !== null);
    // A positive class the user named is the favourable outcome the four-fifths rule is about:
    // its ratio is the one judged, the others' stand beside it.
    const named = opts.positiveClass !== null && pos !== null;
    const ratioLow = ratioRows.filter((x) => !named || x.class === names[pos!]).sort((a, b) => (a.demographic_parity_ratio as number) - (b.demographic_parity_ratio as number))[0];
    if (ratioLow) {
      const v = ratioLow.demographic_parity_ratio as number;
      const others = k <= 3 ? ratioRows.filter((x) => x.attribute === ratioLow.attribute && x.class !== ratioLow.class).map((x) => `${x.class}: ${ratio(x.demographic_parity_ratio as number)}`) : [];
      // Against the rule, and whether the interval reaches across it (resampling noise could put it on the other side).
      const lo = nv(ratioLow.demographic_parity_ratio_low), hi = nv(ratioLow.demographic_parity_ratio_high);
      const rule = v < FOUR_FIFTHS
        ? `under the four-fifths rule's ${FOUR_FIFTHS}${hi !== null && hi >= FOUR_FIFTHS ? ', though its interval reaches it' : ''}`
        : `at or above the four-fifths rule's ${FOUR_FIFTHS}${lo !== null && lo < FOUR_FIFTHS ? ', though its interval goes below it' : ''}`;
      // The lowest of many ratios is low by selection: say how many it was chosen from.
      const many = k > 3 && (pos === null || ratioLow.class !== names[pos]) ? ` It is the lowest of ${ratioRows.length} ratios (one per class and attribute), so it is lower than a single one would be by chance, and does not raise the severity (only a positive class's does: --positive-class).` : '';
      // The four-fifths rule is about the favourable outcome's selection rate, which the data do
      // not name: on credit data the lowest ratio is often that of "bad" (a group never predicted
      // bad), whose low ratio favours the small group.
      const favourable = k === 2 && opts.positiveClass === null && others.length
        ? ` The four-fifths rule concerns the favourable outcome: if that is ${others[0].split(':')[0]}, read its ratio (${others[0].split(': ')[1]}); name it with --positive-class.`
        : '';
      // With a named positive class the ratio shown is that class's lowest (the others stand beside it).
      const head = named ? `Lowest demographic-parity ratio of the positive class ${ratioLow.class}` : 'Lowest demographic-parity ratio';
      parts.push(`${head}: ${ratio(v)} across ${ratioLow.attribute} (selection rate of ${ratioLow.class}, ${range(ratioLow, 'demographic_parity_ratio', ratio)}${others.length ? `; ${others.join(', ')}` : ''}), ${rule}.${favourable}${many}`);
    }
    if (!dpTop && !eoTop) parts.push(`No attribute has two groups of at least ${N} rows, so no parity or odds difference is judged.`);
    // A model at chance level still treats groups differently, but by accident of its fit:
    // the figures describe that model, not anything the features say about the groups.
    const skill = predictiveSkill(train.labels, oos.proba, k);
    if (!skill.better) parts.push(`Caution: the out-of-sample model does not predict the labels clearly better than always guessing the majority class (accuracy ${skill.accuracy.toFixed(3)} against ${skill.majorityShare.toFixed(3)}), so ${dpTop || eoTop ? 'these differences describe' : 'its figures describe'} a model that has learnt little, not the data.`);
    const small = groupRows.filter((x) => x.too_small).length;
    const rateSmall = groupRows.filter((x) => !x.too_small && (!x.tpr_judged || !x.fpr_judged)).length;
    if (small) parts.push(`${small} group${small > 1 ? 's have' : ' has'} fewer than ${N} rows: listed in the tables as too small to judge, not judged.`);
    if (rateSmall) parts.push(`${rateSmall} more group${rateSmall > 1 ? 's have' : ' has'} fewer than ${N} positive${N === 1 ? '' : 's'} or negative${N === 1 ? '' : 's'}, so ${rateSmall > 1 ? 'their' : 'its'} TPR or FPR is not judged.`);
    // Label-error rates compared within one group column: the one whose judged groups differ most.
    let lerHi: ExtraTable['rows'][number] | null = null, lerLo: ExtraTable['rows'][number] | null = null;
    for (const a of attrs.filter((x) => !isIntersection(x.name))) {
      const rows = groupRows.filter((x) => x.attribute === a.name && !x.too_small && x.label_error_rate !== null);
      if (rows.length < 2) continue;
      const hi = rows.reduce((m, x) => ((x.label_error_rate as number) > (m.label_error_rate as number) ? x : m));
      const lo = rows.reduce((m, x) => ((x.label_error_rate as number) < (m.label_error_rate as number) ? x : m));
      const spread = (hi.label_error_rate as number) - (lo.label_error_rate as number);
      if (!lerHi || spread > (lerHi.label_error_rate as number) - (lerLo!.label_error_rate as number)) { lerHi = hi; lerLo = lo; }
    }
    // Labels of unequal quality across groups are a fairness problem of the data itself: a gap of
    // at least LABEL_ERROR_GAP that a two-proportion z-test puts beyond chance (two-sided 1%)
    // raises the severity to at least a warning.
    let lerZ: number | null = null, lerGap: number | null = null;
    if (lerHi && lerLo && (lerHi.label_error_rate as number) > 0) {
      const n1 = lerHi.rows as number, n2 = lerLo.rows as number, p1 = lerHi.label_error_rate as number, p2 = lerLo.label_error_rate as number;
      const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
      const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
      lerGap = p1 - p2;
      lerZ = se > 0 ? lerGap / se : null;
      const beyond = lerZ !== null && lerZ > LABEL_ERROR_Z && lerGap >= LABEL_ERROR_GAP;
      parts.push(`Suspected label errors: ${pct(p1)} of ${lerHi.attribute} = ${lerHi.group} vs ${pct(p2)} of ${lerLo.attribute} = ${lerLo.group}${beyond ? ` (a gap of ${(100 * lerGap).toFixed(1)} points, z = ${lerZ!.toFixed(1)}: beyond chance, so the labels themselves are of unequal quality across ${lerHi.attribute})` : lerZ !== null ? ` (a gap of ${(100 * lerGap).toFixed(1)} points, z = ${lerZ.toFixed(1)}: ${lerZ > LABEL_ERROR_Z ? `beyond chance but under the ${(100 * LABEL_ERROR_GAP).toFixed(0)} points that raise the severity` : `not beyond chance at the two-sided 1% level this check uses (z above ${LABEL_ERROR_Z.toFixed(2)})`})` : ''}.`);
    }
    const lerBeyond = lerZ !== null && lerGap !== null && lerZ > LABEL_ERROR_Z && lerGap >= LABEL_ERROR_GAP;
    // Severity: the largest lower interval end of a judged gap.
    let worstGap = 0, worstAttr = '', worstGapLow = 0;
    for (const x of attrRows) {
      for (const f of ['demographic_parity_difference', 'equalized_odds_difference']) {
        const v = nv(x[f]), low = nv(x[`${f}_low`]);
        if (v === null) continue;
        if (v > worstGap) { worstGap = v; worstAttr = String(x.attribute); }
        if (low !== null && low > worstGapLow) worstGapLow = low;
      }
    }
    // Nothing judged is not "ok": the badge says there is something to read (why nothing was judged).
    const gapSeverity = !dpTop && !eoTop ? 'info'
      : worstGapLow < FAIRNESS_SEVERITY.ok ? 'ok' : worstGapLow < FAIRNESS_SEVERITY.info ? 'info' : worstGapLow < FAIRNESS_SEVERITY.warning ? 'warning' : 'problem';
    // A parity ratio whose whole interval lies under four-fifths is an adverse impact that
    // resampling noise cannot explain, even where the difference is small (low selection rates:
    // 4% against 8% is a gap of 4 points and a ratio of 0.5): at least a warning. Only the
    // positive class's ratios count (binary pools, or --positive-class): the rule is about the
    // favourable outcome, and over every class of a many-class pool some 95% intervals miss by
    // chance alone (a 200-class synthetic pool without any group effect had 3 of 200 under 0.8).
    const belowRule = pos === null ? [] : ratioRows.filter((x) => {
      const hi = nv(x.demographic_parity_ratio_high);
      return x.class === names[pos!] && hi !== null && hi < FOUR_FIFTHS;
    });
    const severity = (belowRule.length || lerBeyond) && (gapSeverity === 'ok' || gapSeverity === 'info') ? 'warning' : gapSeverity;
    if (belowRule.length && severity !== gapSeverity) {
      const worst = belowRule.slice().sort((a, b) => (a.demographic_parity_ratio as number) - (b.demographic_parity_ratio as number))[0];
      parts.push(`Warning: ${belowRule.length} parity ratio${belowRule.length > 1 ? 's have their' : ' has its'} whole 95% interval under ${FOUR_FIFTHS} (lowest ${ratio(worst.demographic_parity_ratio as number)}, ${worst.attribute}, selection rate of ${worst.class}), though no difference is large enough to warn.`);
    }

    return {
      name: 'fairness',
      summary: {
        verdict: parts.join(' '),
        severity,
        figures: {
          group_columns: attrs.filter((x) => !isIntersection(x.name)).length,
          attributes: attrs.length,
          positive_class: pos === null ? null : names[pos],
          positive_class_rule: positiveRule,
          min_demographic_parity_ratio: ratioLow ? (ratioLow.demographic_parity_ratio as number) : null,
          min_demographic_parity_ratio_low: ratioLow ? nv(ratioLow.demographic_parity_ratio_low) : null,
          min_demographic_parity_ratio_high: ratioLow ? nv(ratioLow.demographic_parity_ratio_high) : null,
          min_demographic_parity_ratio_attribute: ratioLow ? (ratioLow.attribute as string) : null,
          min_demographic_parity_ratio_class: ratioLow ? (ratioLow.class as string) : null,
          ratios_below_four_fifths: belowRule.length,
          label_error_rate_gap: lerGap,
          label_error_rate_z: lerZ,
          label_error_filter: labelOptions.filterBy,
          overall_accuracy: overallAccuracy,
          worst_attribute: worstAttr || null,
          // Null when no gap is judged (0 read as "the gap is gone" beside a pool's figure).
          largest_gap: dpTop || eoTop ? worstGap : null,
          largest_gap_low: dpTop || eoTop ? worstGapLow : null,
          worst_group_accuracy: worstAcc ? (worstAcc.worst_group_accuracy as number) : null,
          worst_group: worstAcc ? `${worstAcc.attribute} = ${worstAcc.worst_group}` : null,
          max_demographic_parity_difference: dpTop ? (dpTop.demographic_parity_difference as number) : null,
          max_demographic_parity_class: dpTop ? (dpTop.class as string) : null,
          max_equalized_odds_difference: eoTop ? (eoTop.equalized_odds_difference as number) : null,
          max_equalized_odds_class: eoTop ? (eoTop.class as string) : null,
          min_group_size: N,
          too_small_groups: small,
          rate_not_judged_groups: rateSmall,
          bootstrap_samples: B,
          interval: 'Wilson (group rates), bootstrap percentile extended to the estimate (gaps, ratios, worst group), Wilson bounds (a ratio of 0; a worst-group accuracy of 0 or 1), Newcombe where wider (a gap whose extreme group has a rate of 0 or 1, also when every group has it)',
          intervals_extended: extended,
          ratio_intervals_from_wilson: ratioBounds,
          gap_intervals_from_newcombe: gapBounds,
        },
      },
      findings: [],
      tables: [
        { name: 'fairness_attributes', rows: attrRows },
        { name: 'fairness_attribute_classes', rows: attrClassRows },
        { name: 'fairness_groups', rows: groupRows },
        { name: 'fairness_group_classes', rows: classRows },
      ],
      plots: fairnessPlots(groupRows, results, N),
      seconds: secondsSince(t0),
    };
  },
};

/** Per-group accuracy, selection rate, TPR and FPR (with intervals), intersections as heatmaps, label-error share. */
function fairnessPlots(groupRows: ExtraTable['rows'], results: AttributeResult[], N: number): PlotSpec[] {
  const plots: PlotSpec[] = [];
  // Too-small groups are drawn faded while they are few; past that they would bury the judged
  // ones, so they are left out of the per-group plots with a count in the title (every one is
  // still listed in fairness_groups).
  const allSingles = groupRows.filter((r) => !isIntersection(String(r.attribute)));
  const smallCount = allSingles.filter((r) => r.too_small).length;
  const drawSmall = smallCount <= 10;
  const singles = drawSmall ? allSingles : allSingles.filter((r) => !r.too_small);
  const omitted = drawSmall ? '' : `; ${smallCount} groups under ${N} rows not drawn, listed in fairness_groups`;
  const label = (r: ExtraTable['rows'][number]) => `${r.attribute} = ${r.group}`;
  const judgedLabel = (ok: boolean) => (ok ? 'judged' : `too small (< ${N})`);
  const classes = [...new Set(singles.map((r) => r.class as string))];
  const classNote = classes.length === 1 ? classes[0] : classes.join(' / ');
  const acc = singles.filter((r) => r.accuracy !== null).map((r) => ({
    group: label(r), attribute: r.attribute, rows: r.rows, accuracy: r.accuracy, low: r.accuracy_low ?? r.accuracy, high: r.accuracy_high ?? r.accuracy, judged: judgedLabel(!r.too_small),
  }));
  if (acc.length) plots.push(intervalChart({ title: `Out-of-sample accuracy per group (95% Wilson interval; faded: too small to judge${omitted})`, values: acc, category: 'group', value: 'accuracy', valueTitle: 'accuracy', low: 'low', high: 'high', color: 'attribute', shape: 'judged', extraTooltip: ['rows'] }));
  const sel = singles.filter((r) => r.selection_rate !== null).map((r) => ({
    group: label(r), attribute: r.attribute, rows: r.rows, selection_rate: r.selection_rate, low: r.selection_rate_low ?? r.selection_rate, high: r.selection_rate_high ?? r.selection_rate, judged: judgedLabel(!r.too_small),
  }));
  if (sel.length) plots.push(intervalChart({ title: `Selection rate per group: share predicted ${classNote} (95% Wilson interval${omitted})`, values: sel, category: 'group', value: 'selection_rate', valueTitle: 'selection rate', low: 'low', high: 'high', color: 'attribute', shape: 'judged', extraTooltip: ['rows'] }));
  const odds: Record<string, string | number | boolean | null>[] = [];
  for (const r of singles) {
    if (r.tpr !== null) odds.push({ group: label(r), rate: 'TPR', value: r.tpr, low: r.tpr_low ?? r.tpr, high: r.tpr_high ?? r.tpr, denominator: `${r.positives} positives`, judged: judgedLabel(r.tpr_judged === true) });
    if (r.fpr !== null) odds.push({ group: label(r), rate: 'FPR', value: r.fpr, low: r.fpr_low ?? r.fpr, high: r.fpr_high ?? r.fpr, denominator: `${r.negatives} negatives`, judged: judgedLabel(r.fpr_judged === true) });
  }
  if (odds.length) plots.push(intervalChart({ title: `True- and false-positive rate per group, ${classNote} one-vs-rest (95% Wilson interval; faded: too few positives / negatives${omitted})`, values: odds, category: 'group', value: 'value', valueTitle: 'rate', low: 'low', high: 'high', color: 'rate', shape: 'judged', offset: 'rate', extraTooltip: ['denominator'] }));
  // Intersections: a heatmap of accuracy per cell, with each cell's rows printed; too-small cells say so.
  for (const r of results.filter((x) => isIntersection(x.attr.name)).slice(0, 3)) {
    const [a, b] = r.attr.name.split(' × ');
    // Rows of the heatmap (values of the first column) with no judged cell are left out.
    const keep = new Set(r.attr.groups.filter((_, i) => r.judged.rows[i]).map((g) => g.split(' | ')[0]));
    const cells = r.attr.groups.map((g, i) => {
      const [va, vb] = g.split(' | ');
      const rows = r.t.rows(i);
      const accuracy = rows > 0 ? r.t.correct(i) / rows : null;
      const small = !r.judged.rows[i];
      return { [a]: va, [b]: vb, accuracy: small ? null : accuracy, rows, label: small ? `n=${rows}, too small` : `${(100 * (accuracy ?? 0)).toFixed(0)}% (n=${rows})` };
    }).filter((c) => keep.has(c[a] as string));
    if (!cells.length) continue;
    const dropped = new Set(r.attr.groups.map((g) => g.split(' | ')[0])).size - keep.size;
    plots.push(heatmap({
      title: `Accuracy by ${a} × ${b} (cells under ${N} rows not judged${dropped ? `; ${dropped} ${a} value${dropped > 1 ? 's' : ''} without a judged cell not drawn` : ''})`,
      values: cells, x: b, y: a, value: 'accuracy', text: 'label', extraTooltip: ['rows'], zero: false,
    }));
  }
  const ler = singles.filter((r) => r.label_error_rate !== null).map((r) => ({ group: `${label(r)}${r.too_small ? ' (too small)' : ''}`, attribute: r.attribute, label_error_rate: r.label_error_rate, rows: r.rows }));
  if (ler.length) plots.push(barChart({ title: `Share of rows flagged as label errors, per group${omitted ? ` (${omitted.slice(2)})` : ''}`, values: ler, category: 'group', value: 'label_error_rate', valueTitle: 'flagged share', color: 'attribute' }));
  return plots;
}
