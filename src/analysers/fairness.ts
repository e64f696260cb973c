/**
 * Fairness across subgroups. For every group column and every pair of group columns
 * (intersections such as "sex × age_band"): each group's size and share, base rate of each
 * class (given labels), label-error rate (the rows the label-errors analyser flags with its
 * defaults: confident learning on the shared out-of-sample probabilities, kNN-confirmed), and out-of-sample model
 * figures: accuracy, and per class (one-vs-rest) selection rate, TPR and FPR. Per attribute:
 * demographic-parity difference (max − min selection rate over groups) and ratio (min / max),
 * equalized-odds difference (max of the TPR range and the FPR range), worst-group accuracy —
 * fairlearn's definitions, applied one-vs-rest to each class; the headline is the worst class
 * (for two classes both give the same differences) unless `positiveClass` names one.
 *
 * Groups smaller than `minGroupSize` are listed with their figures and `too_small = true`, but
 * take no part in the differences or the worst group: on a handful of rows those are noise.
 * Missing group values form their own group "(missing)". Intervals are seeded percentile
 * bootstraps over rows.
 */
import { createRng, deriveSeed } from '../../evaluator/rng.ts';
import { SieveError } from '../util/errors.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Analyser, AnalyserResult, ExtraTable, PlotSpec } from './types.ts';
import { argmaxRow } from './confident-learning.ts';
import { labelErrorScores } from './label-errors.ts';
import { barChart, intervalChart, pct, secondsSince } from './specs.ts';
import { quantileSorted } from '../../compute/stats.ts';

export const MISSING_GROUP = '(missing)';

export interface FairnessOptions {
  /** Groups with fewer rows are reported as too small to judge. */
  minGroupSize: number;
  /** Also judge every pair of group columns. */
  intersections: boolean;
  /** Class whose selection rate / TPR / FPR make the headline; null = the worst class. */
  positiveClass: string | null;
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

/** Group columns (sorted by name) and, optionally, their pairwise intersections. */
export function attributesOf(split: PoolSplit, columns: string[] | null, intersections: boolean): Attribute[] {
  const cols = (columns ?? Object.keys(split.groups)).slice().sort();
  for (const c of cols) {
    if (!(c in split.groups)) throw new SieveError(`unknown group column "${c}"; the pool has ${Object.keys(split.groups).join(', ') || 'none'}`, { where: 'fairness options' });
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

/** Weighted tallies per group: rows, correct, flagged, and per class: label c, predicted c, both. */
interface Tallies {
  w: Float64Array;
  correct: Float64Array;
  flagged: Float64Array;
  /** g × k */
  label: Float64Array;
  pred: Float64Array;
  tp: Float64Array;
}

function tally(attr: Attribute, k: number, y: Int32Array, pred: Int32Array, flagged: Uint8Array, weight: Int32Array | null): Tallies {
  const G = attr.groups.length;
  const t: Tallies = {
    w: new Float64Array(G), correct: new Float64Array(G), flagged: new Float64Array(G),
    label: new Float64Array(G * k), pred: new Float64Array(G * k), tp: new Float64Array(G * k),
  };
  for (let i = 0; i < y.length; i++) {
    const w = weight ? weight[i] : 1;
    if (w === 0) continue;
    const g = attr.codes[i];
    t.w[g] += w;
    if (pred[i] === y[i]) { t.correct[g] += w; t.tp[g * k + y[i]] += w; }
    t.flagged[g] += w * flagged[i];
    t.label[g * k + y[i]] += w;
    t.pred[g * k + pred[i]] += w;
  }
  return t;
}

export interface GroupFigures {
  rows: number;
  accuracy: number;
  labelErrorRate: number;
  /** Per class. */
  baseRate: Float64Array;
  selectionRate: Float64Array;
  tpr: Float64Array;
  fpr: Float64Array;
}

export interface AttributeFigures {
  /** Per class: max − min selection rate over judged groups. */
  dpDifference: Float64Array;
  dpRatio: Float64Array;
  eoDifference: Float64Array;
  worstGroup: number;
  worstAccuracy: number;
  judged: number;
}

function groupFigures(t: Tallies, g: number, k: number): GroupFigures {
  const w = t.w[g];
  const baseRate = new Float64Array(k), selectionRate = new Float64Array(k), tpr = new Float64Array(k), fpr = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const pos = t.label[g * k + c], predC = t.pred[g * k + c], tp = t.tp[g * k + c];
    baseRate[c] = w ? pos / w : NaN;
    selectionRate[c] = w ? predC / w : NaN;
    tpr[c] = pos ? tp / pos : NaN;
    fpr[c] = w - pos ? (predC - tp) / (w - pos) : NaN;
  }
  return { rows: w, accuracy: w ? t.correct[g] / w : NaN, labelErrorRate: w ? t.flagged[g] / w : NaN, baseRate, selectionRate, tpr, fpr };
}

function range(values: number[]): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
  return { min, max };
}

/** fairlearn-style differences over the groups with at least `minSize` rows (by unweighted size). */
function attributeFigures(groups: GroupFigures[], judged: boolean[], k: number): AttributeFigures {
  const dpDifference = new Float64Array(k).fill(NaN), dpRatio = new Float64Array(k).fill(NaN), eoDifference = new Float64Array(k).fill(NaN);
  const js = groups.filter((_, g) => judged[g]);
  let worstGroup = -1, worstAccuracy = NaN;
  groups.forEach((f, g) => {
    if (!judged[g] || !Number.isFinite(f.accuracy)) return;
    if (worstGroup < 0 || f.accuracy < worstAccuracy) { worstGroup = g; worstAccuracy = f.accuracy; }
  });
  if (js.length >= 2) {
    for (let c = 0; c < k; c++) {
      const sel = range(js.map((f) => f.selectionRate[c]));
      dpDifference[c] = sel.max - sel.min;
      dpRatio[c] = sel.max > 0 ? sel.min / sel.max : NaN;
      const tpr = range(js.map((f) => f.tpr[c])), fpr = range(js.map((f) => f.fpr[c]));
      const tg = tpr.max >= tpr.min ? tpr.max - tpr.min : 0;
      const fg = fpr.max >= fpr.min ? fpr.max - fpr.min : 0;
      eoDifference[c] = Math.max(tg, fg);
    }
  }
  return { dpDifference, dpRatio, eoDifference, worstGroup, worstAccuracy, judged: js.length };
}

/** Headline over classes: the named class, or the worst (largest difference, smallest ratio). */
function headline(a: AttributeFigures, pos: number | null): { dp: number; dpRatio: number; eo: number; dpClass: number } {
  if (pos !== null) return { dp: a.dpDifference[pos], dpRatio: a.dpRatio[pos], eo: a.eoDifference[pos], dpClass: pos };
  let dp = NaN, dpClass = -1, ratio = NaN, eo = NaN;
  for (let c = 0; c < a.dpDifference.length; c++) {
    // Strictly larger by more than rounding: with two classes both differences are equal and
    // the first class (e.g. german-credit's "good") is the one reported.
    if (Number.isFinite(a.dpDifference[c]) && (dpClass < 0 || a.dpDifference[c] > dp + 1e-12)) { dp = a.dpDifference[c]; dpClass = c; }
    if (Number.isFinite(a.dpRatio[c]) && !(a.dpRatio[c] >= ratio)) ratio = a.dpRatio[c];
    if (Number.isFinite(a.eoDifference[c]) && !(a.eoDifference[c] <= eo)) eo = a.eoDifference[c];
  }
  return { dp, dpRatio: ratio, eo, dpClass };
}

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** 2.5% and 97.5% percentiles of bootstrap values (NaNs dropped). */
function interval(values: number[]): [number | null, number | null] {
  const v = Float64Array.from(values.filter(Number.isFinite)).sort();
  if (v.length < 10) return [null, null];
  return [quantileSorted(v, 0.025), quantileSorted(v, 0.975)];
}

/** Severity by the largest headline gap: < 0.05 ok, < 0.1 info, < 0.2 warning, else problem. */
export const FAIRNESS_SEVERITY = { ok: 0.05, info: 0.1, warning: 0.2 };

export const fairness: Analyser<FairnessOptions> = {
  name: 'fairness',
  title: 'Fairness across subgroups',
  needs: ['labels', 'groups', 'oos-probabilities'],
  defaults: { minGroupSize: 30, intersections: true, positiveClass: null, bootstrapSamples: 200, columns: null },
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
    const pos = opts.positiveClass === null ? null : names.indexOf(opts.positiveClass);
    if (pos === -1) throw new SieveError(`positiveClass "${opts.positiveClass}" is not a class of the pool (${names.join(', ')})`, { where: 'fairness options' });
    if (!(Number.isInteger(opts.minGroupSize) && opts.minGroupSize >= 1)) throw new SieveError(`minGroupSize must be a positive integer, got ${opts.minGroupSize}`, { where: 'fairness options' });

    const oos = await ctx.oos();
    const y = train.labels;
    const n = train.n;
    const pred = new Int32Array(n);
    for (let i = 0; i < n; i++) pred[i] = argmaxRow(oos.proba, i, k);
    const flagged = (await labelErrorScores(ctx)).scores.mask;
    let overallCorrect = 0;
    for (let i = 0; i < n; i++) if (pred[i] === y[i]) overallCorrect++;
    const overallAccuracy = overallCorrect / Math.max(n, 1);

    // Point estimates.
    const point = attrs.map((attr) => {
      const t = tally(attr, k, y, pred, flagged, null);
      const groups = attr.groups.map((_, g) => groupFigures(t, g, k));
      const judged = groups.map((f) => f.rows >= opts.minGroupSize);
      return { groups, judged, attr: attributeFigures(groups, judged, k) };
    });

    // The class whose selection rate each attribute reports: the named positive class, else the
    // headline class (class 0 when no difference could be formed, e.g. a single judged group).
    const selectionClass = point.map((p) => pos ?? Math.max(0, headline(p.attr, pos).dpClass));

    // Seeded bootstrap over rows: the same resamples for every attribute.
    const B = opts.bootstrapSamples;
    const boot = point.map((p) => ({
      groupAcc: p.groups.map(() => [] as number[]),
      groupLer: p.groups.map(() => [] as number[]),
      groupSel: p.groups.map(() => [] as number[]),
      dp: [] as number[], eo: [] as number[], worst: [] as number[],
    }));
    const rng = createRng(deriveSeed(ctx.seed, 'fairness-bootstrap'));
    const weight = new Int32Array(n);
    ctx.progress.start(B, 'fairness bootstrap');
    for (let b = 0; b < B; b++) {
      weight.fill(0);
      for (let i = 0; i < n; i++) weight[rng.int(n)]++;
      attrs.forEach((attr, a) => {
        const t = tally(attr, k, y, pred, flagged, weight);
        const groups = attr.groups.map((_, g) => groupFigures(t, g, k));
        // Judge the same groups as the point estimate, so intervals describe the same quantity.
        const af = attributeFigures(groups, point[a].judged, k);
        const h = headline(af, pos);
        const bs = boot[a];
        groups.forEach((f, g) => {
          bs.groupAcc[g].push(f.accuracy);
          bs.groupLer[g].push(f.labelErrorRate);
          bs.groupSel[g].push(f.selectionRate[selectionClass[a]]);
        });
        bs.dp.push(h.dp); bs.eo.push(h.eo); bs.worst.push(af.worstAccuracy);
      });
      ctx.progress.tick(1);
    }

    const groupRows: ExtraTable['rows'] = [];
    const classRows: ExtraTable['rows'] = [];
    const attrRows: ExtraTable['rows'] = [];
    let worstGap = 0;
    let worstAttr = '';
    attrs.forEach((attr, a) => {
      const p = point[a];
      const h = headline(p.attr, pos);
      const selClass = selectionClass[a];
      p.groups.forEach((f, g) => {
        const [accLo, accHi] = interval(boot[a].groupAcc[g]);
        const [lerLo, lerHi] = interval(boot[a].groupLer[g]);
        const [selLo, selHi] = interval(boot[a].groupSel[g]);
        groupRows.push({
          attribute: attr.name, group: attr.groups[g], rows: f.rows, share: f.rows / n, too_small: !p.judged[g],
          accuracy: num(f.accuracy), accuracy_low: accLo, accuracy_high: accHi,
          label_error_rate: num(f.labelErrorRate), label_error_rate_low: lerLo, label_error_rate_high: lerHi,
          selection_class: selClass >= 0 ? names[selClass] : null,
          selection_rate: selClass >= 0 ? num(f.selectionRate[selClass]) : null, selection_rate_low: selLo, selection_rate_high: selHi,
        });
        for (let c = 0; c < k; c++) {
          classRows.push({
            attribute: attr.name, group: attr.groups[g], class: names[c], too_small: !p.judged[g],
            base_rate: num(f.baseRate[c]), selection_rate: num(f.selectionRate[c]), tpr: num(f.tpr[c]), fpr: num(f.fpr[c]),
          });
        }
      });
      const [dpLo, dpHi] = interval(boot[a].dp);
      const [eoLo, eoHi] = interval(boot[a].eo);
      const [wLo, wHi] = interval(boot[a].worst);
      attrRows.push({
        attribute: attr.name, groups: attr.groups.length, judged_groups: p.attr.judged,
        too_small_groups: attr.groups.length - p.attr.judged,
        dp_class: h.dpClass >= 0 ? names[h.dpClass] : null,
        demographic_parity_difference: num(h.dp), dp_difference_low: dpLo, dp_difference_high: dpHi,
        demographic_parity_ratio: num(h.dpRatio),
        equalized_odds_difference: num(h.eo), eo_difference_low: eoLo, eo_difference_high: eoHi,
        worst_group: p.attr.worstGroup >= 0 ? attr.groups[p.attr.worstGroup] : null,
        worst_group_accuracy: num(p.attr.worstAccuracy), worst_group_accuracy_low: wLo, worst_group_accuracy_high: wHi,
      });
      const gap = Math.max(Number.isFinite(h.dp) ? h.dp : 0, Number.isFinite(h.eo) ? h.eo : 0);
      if (gap > worstGap) { worstGap = gap; worstAttr = attr.name; }
    });

    // Verdict: the worst single-column attribute first (intersections are finer and noisier).
    const single = attrRows.slice(0, attrs.filter((x) => !x.name.includes(' × ')).length);
    const worstAcc = [...single].filter((r) => r.worst_group_accuracy !== null)
      .sort((x, z) => (x.worst_group_accuracy as number) - (z.worst_group_accuracy as number))[0];
    const parts: string[] = [];
    if (worstAcc) parts.push(`Out-of-sample accuracy is ${pct(overallAccuracy)} overall and lowest for ${worstAcc.attribute} = ${worstAcc.worst_group} (${pct(worstAcc.worst_group_accuracy as number)}).`);
    const dpTop = [...attrRows].filter((r) => r.demographic_parity_difference !== null)
      .sort((x, z) => (z.demographic_parity_difference as number) - (x.demographic_parity_difference as number))[0];
    if (dpTop) parts.push(`Largest demographic-parity difference: ${pct(dpTop.demographic_parity_difference as number)} across ${dpTop.attribute} (selection rate of ${dpTop.dp_class}); largest equalized-odds difference: ${pct(Math.max(...attrRows.map((r) => (r.equalized_odds_difference as number | null) ?? 0)))}.`);
    const small = groupRows.filter((r) => r.too_small).length;
    if (small) parts.push(`${small} group${small > 1 ? 's have' : ' has'} fewer than ${opts.minGroupSize} rows and ${small > 1 ? 'are' : 'is'} listed but not judged.`);
    const lerGroups = groupRows.filter((r) => !r.too_small && r.label_error_rate !== null && !String(r.attribute).includes(' × '));
    if (lerGroups.length >= 2) {
      const hi = lerGroups.reduce((m, r) => ((r.label_error_rate as number) > (m.label_error_rate as number) ? r : m));
      const lo = lerGroups.reduce((m, r) => ((r.label_error_rate as number) < (m.label_error_rate as number) ? r : m));
      if ((hi.label_error_rate as number) > 0) parts.push(`Suspected label errors: ${pct(hi.label_error_rate as number)} of ${hi.attribute} = ${hi.group} vs ${pct(lo.label_error_rate as number)} of ${lo.attribute} = ${lo.group}.`);
    }
    const severity = worstGap < FAIRNESS_SEVERITY.ok ? 'ok' : worstGap < FAIRNESS_SEVERITY.info ? 'info' : worstGap < FAIRNESS_SEVERITY.warning ? 'warning' : 'problem';

    const plots: PlotSpec[] = [];
    const accPlotRows = groupRows.filter((r) => !String(r.attribute).includes(' × ') && r.accuracy !== null)
      .map((r) => ({ group: `${r.attribute} = ${r.group}${r.too_small ? ' (too small)' : ''}`, attribute: r.attribute, accuracy: r.accuracy, low: r.accuracy_low ?? r.accuracy, high: r.accuracy_high ?? r.accuracy }));
    if (accPlotRows.length) plots.push(intervalChart({ title: 'Out-of-sample accuracy per group (95% bootstrap interval)', values: accPlotRows, category: 'group', value: 'accuracy', low: 'low', high: 'high', color: 'attribute' }));
    const selPlotRows = groupRows.filter((r) => !String(r.attribute).includes(' × ') && r.selection_rate !== null)
      .map((r) => ({ group: `${r.attribute} = ${r.group}`, attribute: r.attribute, rate: r.selection_rate, low: r.selection_rate_low ?? r.selection_rate, high: r.selection_rate_high ?? r.selection_rate, class: r.selection_class }));
    if (selPlotRows.length) plots.push(intervalChart({ title: `Selection rate per group (predicted ${selPlotRows[0].class}, 95% bootstrap interval)`, values: selPlotRows, category: 'group', value: 'rate', low: 'low', high: 'high', color: 'attribute' }));
    const lerPlot = groupRows.filter((r) => !String(r.attribute).includes(' × ') && r.label_error_rate !== null)
      .map((r) => ({ group: `${r.attribute} = ${r.group}`, attribute: r.attribute, label_error_rate: r.label_error_rate }));
    if (lerPlot.length) plots.push(barChart({ title: 'Share of rows flagged as label errors, per group', values: lerPlot, category: 'group', value: 'label_error_rate', valueTitle: 'flagged share', color: 'attribute' }));

    return {
      name: 'fairness',
      summary: {
        verdict: parts.join(' '),
        severity,
        figures: {
          group_columns: attrs.filter((x) => !x.name.includes(' × ')).length,
          attributes: attrs.length,
          overall_accuracy: overallAccuracy,
          worst_attribute: worstAttr || null,
          largest_gap: worstGap,
          worst_group_accuracy: worstAcc ? (worstAcc.worst_group_accuracy as number) : null,
          worst_group: worstAcc ? `${worstAcc.attribute} = ${worstAcc.worst_group}` : null,
          max_demographic_parity_difference: dpTop ? (dpTop.demographic_parity_difference as number) : null,
          min_group_size: opts.minGroupSize,
          too_small_groups: small,
          bootstrap_samples: B,
        },
      },
      findings: [],
      tables: [
        { name: 'fairness_attributes', rows: attrRows },
        { name: 'fairness_groups', rows: groupRows },
        { name: 'fairness_group_classes', rows: classRows },
      ],
      plots,
      seconds: secondsSince(t0),
    };
  },
};
