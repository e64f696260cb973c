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
export type { Dataset, Model, ModelKind, ModelSpec, ParamSchema, ParamSpec, ParamValues, PreprocessSpec } from './types.ts';
export { EvaluatorInputError, ModelSpecError } from './errors.ts';
export { describeModelSpec, getModel, isModelKind, iterationLimit, MODEL_KINDS, modelParams } from './models/registry.ts';
export type { MetricSummary } from './aggregate.ts';
export { meanAndStd, summariseSeeds, type SeedScorer } from './aggregate.ts';
export { DEFAULT_BOOTSTRAP, forEachResample, type BootstrapSpec } from './bootstrap.ts';
export {
  allRows, describeLayout, encodeGroupColumn, evaluateMetrics, layoutOf, LOG_LOSS_CONVENTION, logLoss, metricFamily, METRIC_FAMILIES, metricsFromTallies,
  MISSING_GROUP, type GroupColumn, type LayoutDescription, type MetricFamily, type MetricOptions, type MetricTallies,
} from './metrics.ts';
export {
  prepareFeatures,
  type EvaluationOutput, type FitRecord, type PoolInput, type PreparedFeatures, type ProgressSink, type ScoringOptions, type TestInput,
} from './protocols/common.ts';
export { evaluateSelection, type SelectionInput } from './protocols/selection.ts';
export { applyCorrections, evaluateRelabel, type Corrections, type RelabelInput, type RelabelOutput } from './protocols/relabel.ts';
export {
  classificationReplayScorer, decodeMask, decodeReplay, encodeMask, encodeReplay, mergeReplay, restrictReplay, REPLAY_FORMAT, swappablePair,
  type ClassificationReplay, type CurveReplay, type Replay, type ReplayJson, type SwappablePair,
} from './replay.ts';
export {
  curveReplayScorer, evaluateRanking, RANKING_METRICS, type CurveCounts, type RankingCurve, type RankingInput, type RankingOutput,
} from './protocols/ranking.ts';
export { dataperfFractionFixes, rankingFigures, roundAccuracy } from './protocols/ranking-rules.ts';
