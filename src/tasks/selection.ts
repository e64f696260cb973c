/** Selection: a subset of at most `budget.rows` train ids; the fixed model trains on exactly those rows. */
import type { TaskDefinition } from './types.ts';

export const selection: TaskDefinition = {
  name: 'selection',
  summary: 'ids to train on',
  columns: ['id'],
  budgetKey: 'rows',
  budgetRequired: true,
  budget: (b) => ({ limit: b.rows, name: 'budget.rows' }),
  budgetText: (b) => `${b.rows} rows`,
  entries: 'rows',
  hiddenFiles: [],
  metrics: 'classification',
  baselines: ['random', 'class-balanced', 'full-pool'],
  oneVsRest: true,
  result: 'counts',
  async score(input, sub) {
    const { evaluateSelection } = await import('../../evaluator/protocols/selection.ts');
    const out = await evaluateSelection({ ...input.scoring, spec: input.spec, pool: input.pool, subset: sub.indices, test: input.test });
    return {
      metrics: out.parts.public,
      privateMetrics: out.parts.private ?? {},
      allMetrics: out.metrics,
      counts: out.counts,
      replay: out.replay,
      fits: out.fits,
      fitSeconds: out.fit_seconds,
    };
  },
  entryClass: (sub, j, poolLabels) => poolLabels[sub.indices[j]],
};
