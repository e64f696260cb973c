/** Selection: a subset of at most `budget.rows` train ids; the fixed model trains on exactly those rows. */
import { protocolScore, type TaskDefinition } from './types.ts';

export const selection: TaskDefinition = {
  name: 'selection',
  summary: 'ids to train on',
  columns: ['id'],
  budgetKey: 'rows',
  budgetRequired: true,
  budget: (b) => ({ limit: b.rows, name: 'budget.rows' }),
  budgetText: (b) => `${(b.rows ?? 0).toLocaleString('en')} rows`,
  entries: 'rows',
  hiddenFiles: [],
  metrics: 'classification',
  baselines: ['random', 'class-balanced', 'full-pool'],
  oneVsRest: true,
  result: 'counts',
  async score(input, sub) {
    const { evaluateSelection } = await import('../../evaluator/protocols/selection.ts');
    const out = await evaluateSelection({ ...input.scoring, spec: input.spec, pool: input.pool, subset: sub.indices, test: input.test });
    return { ...protocolScore(out), counts: out.counts };
  },
  entryClass: (sub, j, poolLabels) => poolLabels[sub.indices[j]],
};
