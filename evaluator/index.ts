/**
 * The evaluator's public API. Callers (src/evaluate/, analysers, benches) import from here;
 * everything is typed arrays in, plain records out, and nothing here touches files.
 *
 *   evaluateSelection({ spec, pool, subset, test, bootstrap?, parts?, positiveClass? })
 *   evaluateRelabel({ spec, pool, corrections: { rows, labels }, test, ... })
 *   evaluateRanking({ spec, pool, cleanLabels, order, test, step?, curveSeeds?, segments?, ... })
 *
 * See docs/evaluator.md for every shape and definition.
 */
export { EVALUATOR_VERSION } from './version.ts';
export type { Dataset, ModelKind, ModelSpec, PreprocessSpec } from './types.ts';
export type { MetricSummary } from './aggregate.ts';
export { meanAndStd, summariseSeeds } from './aggregate.ts';
export { DEFAULT_BOOTSTRAP, type BootstrapSpec } from './bootstrap.ts';
export {
  encodeGroupColumn, evaluateMetrics, metricFamily, METRIC_FAMILIES, MISSING_GROUP,
  type GroupColumn, type MetricFamily, type MetricOptions,
} from './metrics.ts';
export {
  EvaluatorInputError, prepareFeatures,
  type EvaluationOutput, type FitRecord, type PoolInput, type PreparedFeatures, type ProgressSink, type ScoringOptions, type TestInput,
} from './protocols/common.ts';
export { evaluateSelection, type SelectionInput } from './protocols/selection.ts';
export { applyCorrections, evaluateRelabel, type Corrections, type RelabelInput, type RelabelOutput } from './protocols/relabel.ts';
export {
  evaluateRanking, RANKING_METRICS, type RankingCurve, type RankingInput, type RankingOutput,
} from './protocols/ranking.ts';
