/**
 * Group fairness figures from per-group tallies, shared by the evaluator's metrics and the
 * fairness analyser (compute/ imports nothing else of the repository).
 *
 * Definitions are fairlearn's (MetricFrame by group, demographic_parity_difference / _ratio,
 * equalized_odds_difference with agg="worst_case"), one-vs-rest for a positive class c:
 * - selection rate = predicted c / rows; TPR = predicted c and labelled c / labelled c;
 *   FPR = predicted c and not labelled c / not labelled c; accuracy = correct / rows;
 * - demographic-parity difference = max − min selection rate over groups, ratio = min / max;
 * - equalized-odds difference = max(TPR max − min, FPR max − min);
 * - worst-group accuracy = the lowest group accuracy.
 *
 * The judging rule (what fairlearn leaves to the user): a rate is judged only in groups whose
 * denominator reaches `minGroupSize`: selection rate and accuracy need that many rows, TPR that
 * many positives, FPR that many negatives. A difference is formed over the judged groups only,
 * and only when at least two groups are judged for each rate it uses (the equalized-odds
 * difference needs both its TPR and its FPR range); otherwise it is NaN ("not judged"). Which
 * groups are judged is decided once, on the unweighted rows, so a bootstrap interval describes
 * the same quantity as its point estimate. Groups below the size are listed by the callers as
 * too small to judge, never dropped.
 */

export const DEFAULT_MIN_GROUP_SIZE = 30;

/**
 * Weighted tallies per group: rows, correct, flagged (an optional per-row 0/1 mark, e.g. a
 * suspected label error), then per class c: labelled c, predicted c, labelled and predicted c.
 */
export class GroupTallies {
  readonly stride: number;
  readonly data: Float64Array;
  constructor(readonly groups: number, readonly k: number) {
    this.stride = 3 + 3 * k;
    this.data = new Float64Array(groups * this.stride);
  }
  reset(): void { this.data.fill(0); }
  /** Adds one row of group g, true class y, predicted class p, weight w. */
  add(g: number, y: number, p: number, w: number, flagged = 0): void {
    const o = g * this.stride, d = this.data;
    d[o] += w;
    d[o + 2] += w * flagged;
    d[o + 3 + 3 * y] += w;
    d[o + 4 + 3 * p] += w;
    if (y === p) { d[o + 1] += w; d[o + 5 + 3 * y] += w; }
  }
  rows(g: number): number { return this.data[g * this.stride]; }
  correct(g: number): number { return this.data[g * this.stride + 1]; }
  flagged(g: number): number { return this.data[g * this.stride + 2]; }
  labelled(g: number, c: number): number { return this.data[g * this.stride + 3 + 3 * c]; }
  predicted(g: number, c: number): number { return this.data[g * this.stride + 4 + 3 * c]; }
  both(g: number, c: number): number { return this.data[g * this.stride + 5 + 3 * c]; }
}

/**
 * Tallies rows (all rows when `rows` is null) by `codes[row]`, each counted `weights[row]`
 * times (once when weights is null), in the order given, so sums are bit-identical run to run.
 */
export function tallyGroups(
  t: GroupTallies,
  codes: Int32Array,
  yTrue: Int32Array,
  pred: Int32Array,
  rows: Int32Array | null,
  weights: ArrayLike<number> | null,
  flagged: Uint8Array | null = null,
): GroupTallies {
  t.reset();
  const m = rows ? rows.length : yTrue.length;
  for (let j = 0; j < m; j++) {
    const r = rows ? rows[j] : j;
    const w = weights ? weights[r] : 1;
    if (w === 0) continue;
    t.add(codes[r], yTrue[r], pred[r], w, flagged ? flagged[r] : 0);
  }
  return t;
}

/** One group's figures for class c (NaN where the denominator is 0). */
export interface GroupRates {
  rows: number;
  positives: number;
  negatives: number;
  accuracy: number;
  flaggedRate: number;
  baseRate: number;
  selectionRate: number;
  tpr: number;
  fpr: number;
}

export function groupRates(t: GroupTallies, g: number, c: number): GroupRates {
  const rows = t.rows(g), pos = t.labelled(g, c), predC = t.predicted(g, c), tp = t.both(g, c);
  const neg = rows - pos;
  return {
    rows, positives: pos, negatives: neg,
    accuracy: rows > 0 ? t.correct(g) / rows : NaN,
    flaggedRate: rows > 0 ? t.flagged(g) / rows : NaN,
    baseRate: rows > 0 ? pos / rows : NaN,
    selectionRate: rows > 0 ? predC / rows : NaN,
    tpr: pos > 0 ? tp / pos : NaN,
    fpr: neg > 0 ? (predC - tp) / neg : NaN,
  };
}

/** Per group, whether each denominator reaches the minimum size (1 = judged). */
export interface Judged {
  minGroupSize: number;
  /** Accuracy and selection rate: rows ≥ min. */
  rows: Uint8Array;
  /** TPR: positives ≥ min. */
  tpr: Uint8Array;
  /** FPR: negatives ≥ min. */
  fpr: Uint8Array;
}

/** The judging rule applied to unweighted tallies, for positive class c. */
export function judgeGroups(t: GroupTallies, c: number, minGroupSize: number): Judged {
  if (!(Number.isInteger(minGroupSize) && minGroupSize >= 1)) throw new RangeError(`minGroupSize must be a positive integer, got ${minGroupSize}`);
  const G = t.groups;
  const j: Judged = { minGroupSize, rows: new Uint8Array(G), tpr: new Uint8Array(G), fpr: new Uint8Array(G) };
  for (let g = 0; g < G; g++) {
    const rows = t.rows(g), pos = t.labelled(g, c);
    j.rows[g] = rows >= minGroupSize ? 1 : 0;
    j.tpr[g] = pos >= minGroupSize ? 1 : 0;
    j.fpr[g] = rows - pos >= minGroupSize ? 1 : 0;
  }
  return j;
}

/** Why a group's figures are not judged, or null when every rate is: "12 rows, 1 positive (< 30)", … */
export function tooSmallReason(t: GroupTallies, g: number, c: number, judged: Judged): string | null {
  const parts: string[] = [];
  const n = judged.minGroupSize;
  const count = (m: number, what: string) => `${m} ${what}${m === 1 ? '' : 's'}`;
  if (!judged.rows[g]) parts.push(count(t.rows(g), 'row'));
  if (!judged.tpr[g]) parts.push(count(t.labelled(g, c), 'positive'));
  if (!judged.fpr[g]) parts.push(count(t.rows(g) - t.labelled(g, c), 'negative'));
  return parts.length ? `${parts.join(', ')} (< ${n})` : null;
}

export interface GroupGaps {
  /** max − min selection rate over groups judged on rows; NaN with fewer than two. */
  dpDifference: number;
  /** min / max selection rate over the same groups (NaN when max is 0). */
  dpRatio: number;
  tprGap: number;
  fprGap: number;
  /** max(tprGap, fprGap); NaN unless both are formed. */
  eoDifference: number;
  /** Lowest accuracy over groups judged on rows (NaN with none). */
  worstAccuracy: number;
  worstGroup: number;
  /** Groups judged for selection rate / accuracy, TPR and FPR (and present in these tallies). */
  judgedRows: number;
  judgedTpr: number;
  judgedFpr: number;
}

/**
 * The fairlearn-style gaps for class c over the judged groups. Judged groups absent from
 * these tallies (a bootstrap resample that drew none of their rows) join no range.
 */
export function groupGaps(t: GroupTallies, c: number, judged: Judged): GroupGaps {
  let selMin = Infinity, selMax = -Infinity, tprMin = Infinity, tprMax = -Infinity, fprMin = Infinity, fprMax = -Infinity;
  let worst = Infinity, worstGroup = -1, nRows = 0, nTpr = 0, nFpr = 0;
  for (let g = 0; g < t.groups; g++) {
    const rows = t.rows(g);
    if (rows === 0) continue;
    const pos = t.labelled(g, c), predC = t.predicted(g, c), tp = t.both(g, c), neg = rows - pos;
    if (judged.rows[g]) {
      nRows++;
      const sel = predC / rows;
      if (sel < selMin) selMin = sel;
      if (sel > selMax) selMax = sel;
      const acc = t.correct(g) / rows;
      if (acc < worst) { worst = acc; worstGroup = g; }
    }
    if (judged.tpr[g] && pos > 0) {
      nTpr++;
      const tpr = tp / pos;
      if (tpr < tprMin) tprMin = tpr;
      if (tpr > tprMax) tprMax = tpr;
    }
    if (judged.fpr[g] && neg > 0) {
      nFpr++;
      const fpr = (predC - tp) / neg;
      if (fpr < fprMin) fprMin = fpr;
      if (fpr > fprMax) fprMax = fpr;
    }
  }
  const dpDifference = nRows >= 2 ? selMax - selMin : NaN;
  const dpRatio = nRows >= 2 && selMax > 0 ? selMin / selMax : NaN;
  const tprGap = nTpr >= 2 ? tprMax - tprMin : NaN;
  const fprGap = nFpr >= 2 ? fprMax - fprMin : NaN;
  const eoDifference = Number.isFinite(tprGap) && Number.isFinite(fprGap) ? Math.max(tprGap, fprGap) : NaN;
  return {
    dpDifference, dpRatio, tprGap, fprGap, eoDifference,
    worstAccuracy: nRows >= 1 ? worst : NaN, worstGroup,
    judgedRows: nRows, judgedTpr: nTpr, judgedFpr: nFpr,
  };
}
