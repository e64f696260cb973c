/**
 * fair-resample: a sample in which the label is independent of the group (Kamiran & Calders).
 *
 * What: each (group, class) cell is given the share of the budget it would have if group and
 * label were independent, n_group · n_class / n² (the "uniform sampling" form of Kamiran and
 * Calders' reweighing), capped at the rows the cell has, with what a small cell cannot use
 * going to the cells furthest below their share; rows are drawn at random within cells.
 * Several group columns make one group per combination; a missing value is a group of its
 * own. When it helps: pools where one group's positive rate differs from another's, so that
 * a model trained on them learns the group as a proxy; it narrows the parity gap, often at a
 * small cost in accuracy. Needs a group column.
 * Tasks: selection.
 */
import type { StrategyContext } from '../src/strategy/context.ts';

export function select(ctx: StrategyContext): Int32Array {
  const columns = Object.values(ctx.groups);
  if (!columns.length) throw new Error('fair-resample needs a group column, and this pool has none');
  const k = ctx.classNames.length;
  // One group code per combination of group values, then one cell per (group, class).
  const combos = new Map<string, number>();
  const cell = new Int32Array(ctx.n);
  for (let i = 0; i < ctx.n; i++) {
    const key = columns.map((g) => g.codes[i]).join(',');
    if (!combos.has(key)) combos.set(key, combos.size);
    cell[i] = combos.get(key)! * k + ctx.labels[i];
  }
  const groups = combos.size;
  const size = new Int32Array(groups * k), perGroup = new Int32Array(groups);
  for (let i = 0; i < ctx.n; i++) size[cell[i]]++;
  for (let j = 0; j < size.length; j++) perGroup[Math.floor(j / k)] += size[j];
  const perClass = ctx.helpers.classCounts(ctx.labels, k);
  const want = Math.min(ctx.budget, ctx.n);
  const expected = Float64Array.from(size, (_, j) => (want * perGroup[Math.floor(j / k)] * perClass[j % k]) / (ctx.n * ctx.n));
  const quota = Int32Array.from(expected, (e, j) => Math.min(size[j], Math.floor(e)));
  let left = want - quota.reduce((s, q) => s + q, 0);
  const neediest = ctx.helpers.argsort(Float64Array.from(expected, (e, j) => e - quota[j]), { descending: true });
  while (left > 0) {
    let gave = false;
    for (const j of neediest) if (left > 0 && quota[j] < size[j]) { quota[j]++; left--; gave = true; }
    if (!gave) break;
  }
  return ctx.helpers.takeByQuota(ctx.random.permutation(ctx.n), cell, quota);
}
