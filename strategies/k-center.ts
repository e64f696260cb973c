/**
 * k-center: greedy k-center coverage of each class (the core-set selection of Sener & Savarese).
 *
 * What: the features become one matrix (ctx.helpers.featureRows: numbers standardised,
 * categories one-hot, images and embeddings projected to 32 dimensions); each class gets an
 * equal share of the budget (perClassQuotas) and, within a class, each pick is the row
 * farthest from every row picked so far, starting from a random row. When it helps: pools
 * with dense, redundant regions, where a random sample keeps drawing near-copies; it also
 * favours odd rows (outliers, some label errors), so it can lose to random on noisy pools.
 * Tasks: selection.
 */
import type { StrategyContext } from '../src/strategy/context.ts';

export function select(ctx: StrategyContext): number[] {
  const h = ctx.helpers;
  const { rows, dim } = h.featureRows(ctx.columns, ctx.n, { maxDim: 32, seed: ctx.seed });
  const quotas = h.perClassQuotas(ctx.labels, ctx.classNames.length, ctx.budget);
  const picked: number[] = [];
  for (let c = 0; c < ctx.classNames.length; c++) {
    const members: number[] = [];
    for (let i = 0; i < ctx.n; i++) if (ctx.labels[i] === c) members.push(i);
    if (!members.length || !quotas[c]) continue;
    const first = ctx.random.int(members.length); // a position among the candidates
    picked.push(...h.kCenterGreedy(rows, dim, quotas[c], { candidates: members, first }));
  }
  return picked;
}
