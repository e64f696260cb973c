/**
 * Relabel: at most `budget.corrections` (id, label) pairs; the corrections are applied to the
 * whole pool and the fixed model trains on every row.
 */
import { protocolScore, type TaskDefinition } from './types.ts';

export const relabel: TaskDefinition = {
  name: 'relabel',
  summary: 'corrections: id and new label',
  columns: ['id', 'label'],
  budgetKey: 'corrections',
  budgetRequired: true,
  budget: (b) => ({ limit: b.corrections, name: 'budget.corrections' }),
  budgetText: (b) => `${(b.corrections ?? 0).toLocaleString('en')} corrections`,
  entries: 'corrections',
  hiddenFiles: [],
  metrics: 'classification',
  baselines: ['no-corrections', 'random-corrections', 'confident-learning'],
  // Corrections name the pool's classes, which a two-class view would merge.
  oneVsRest: false,
  result: 'counts',
  async score(input, sub) {
    const { evaluateRelabel } = await import('../../evaluator/protocols/relabel.ts');
    const out = await evaluateRelabel({
      ...input.scoring,
      spec: input.spec,
      pool: input.pool,
      corrections: { rows: sub.indices, labels: sub.labels! },
      test: input.test,
    });
    return { ...protocolScore(out), counts: out.counts, changed: out.changed };
  },
  entryClass: (sub, j) => sub.labels![j],
};
