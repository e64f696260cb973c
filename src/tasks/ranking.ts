/**
 * Ranking (DataPerf debugging): train ids in the order to inspect. The protocol fixes labels
 * from the pool's evaluator-only truth in that order, retrains after each `ranking.step`
 * fixes and records the accuracy curve; the record holds the curve and its counts.
 */
import { protocolScore, type TaskDefinition } from './types.ts';

export const ranking: TaskDefinition = {
  name: 'ranking',
  summary: 'ids in the order to inspect',
  columns: ['id'],
  budgetKey: 'max_length',
  budgetRequired: false,
  budget: (b, poolRows) => ({ limit: b.max_length ?? poolRows, name: b.max_length ? 'budget.max_length' : 'train rows' }),
  budgetText: (b) => (b.max_length ? `${b.max_length.toLocaleString('en')} ids` : 'every train row'),
  entries: 'ranked ids',
  hiddenFiles: ['truth'],
  metrics: 'ranking',
  baselines: ['random-order', 'self-confidence'],
  oneVsRest: true,
  result: 'curve',
  async score(input, sub) {
    const { evaluateRanking } = await import('../../evaluator/protocols/ranking.ts');
    const out = await evaluateRanking({
      ...input.scoring,
      spec: input.spec,
      pool: input.pool,
      cleanLabels: input.cleanLabels!,
      order: sub.indices,
      test: input.test,
      step: input.ranking?.step ?? 1,
      segments: input.ranking?.segments ?? 2,
      curveSeeds: input.spec.seeds,
    });
    return { ...protocolScore(out), curve: out.curve, ranking: out.ranking };
  },
  entryClass: (_sub, j, poolLabels) => poolLabels[_sub.indices[j]],
};
