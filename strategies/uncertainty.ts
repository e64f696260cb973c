/**
 * uncertainty: the rows whose out-of-sample prediction is least certain, by margin.
 *
 * What: each row's margin is its best minus its second-best out-of-sample class probability
 * (ctx.oosProbabilities: the audit's 5-fold cross-validation, so no row is scored by a model
 * that saw it). rank: every row, smallest margin first. select: the smallest margins,
 * an equal share per class (perClassQuotas). When it helps: uncertainty sampling is the
 * classic active-learning rule (rows near the decision boundary teach the model most); it
 * ignores the given label, so as a ranking it finds confusable rows more than wrong ones,
 * and as a selection it can fill the budget with ambiguous or mislabelled rows.
 * Tasks: selection, ranking.
 */
import type { StrategyContext } from '../src/strategy/context.ts';

function marginOrder(ctx: StrategyContext): Int32Array {
  return ctx.helpers.argsort(ctx.helpers.margins(ctx.oosProbabilities, ctx.classNames.length));
}

export function rank(ctx: StrategyContext): Int32Array {
  return marginOrder(ctx);
}

export function select(ctx: StrategyContext): Int32Array {
  const quotas = ctx.helpers.perClassQuotas(ctx.labels, ctx.classNames.length, ctx.budget);
  return ctx.helpers.takeByQuota(marginOrder(ctx), ctx.labels, quotas);
}
