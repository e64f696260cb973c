/**
 * In-process evaluation: a challenge's context (pool, hidden test split, partition, the
 * features after the model's preprocessing) is loaded once, then submissions are scored one
 * after another against it — what a long-lived server worker, or an entrant's notebook-style
 * loop, does. Each record is the one `sieve evaluate` writes for the same file (the runner's
 * evaluateSource with a context; `sieve verify` re-runs it from scratch).
 *
 *   const service = await openEvaluation('fashion-select');
 *   const a = await service.evaluateFile('ids-a.csv');
 *   const b = await service.evaluateBytes(bytes, 'upload.csv');
 */
import type { Challenge } from '../challenge/schema.ts';
import { bytesSource } from '../submission/sources/bytes.ts';
import { sourceForPath, type SubmissionSource } from '../submission/sources/index.ts';
import type { Progress } from '../util/progress.ts';
import { loadEvalContext, preparedFeatures, type EvalContext } from './context.ts';
import type { ResultRecord } from './record.ts';
import { evaluateSource, modelSpecOf } from './runner.ts';
import type { Timings } from './timings.ts';

export interface EvaluationService {
  /** The loaded context (challenge, pool, splits, prepared features). */
  readonly context: EvalContext;
  /** Scores one submission from any source against the loaded context. */
  evaluate(source: SubmissionSource, opts?: ScoreOptions): Promise<ResultRecord>;
  /** A submission file or a strategy (.sql, .ts, .mjs, .js), as `sieve evaluate` takes it. */
  evaluateFile(path: string, opts?: ScoreOptions & { format?: string; allowUnisolated?: boolean }): Promise<ResultRecord>;
  /** An upload held in memory; `name` gives the format by its extension. */
  evaluateBytes(bytes: Uint8Array, name: string, opts?: ScoreOptions & { format?: string }): Promise<ResultRecord>;
}

export interface ScoreOptions {
  progress?: Progress;
  timings?: Timings;
}

/**
 * Loads a challenge (name, path or loaded) for repeated scoring. `cache` (default on unless
 * SIEVE_EVAL_CACHE=off) reads the decoded splits and prepared features from the evaluation
 * cache; the preprocessing is fitted (or read) here, so the first submission costs no more
 * than the next.
 */
export async function openEvaluation(
  challengeRef: string | Challenge,
  opts: { progress?: Progress; cache?: boolean } = {},
): Promise<EvaluationService> {
  const context = await loadEvalContext(challengeRef, { progress: opts.progress, cache: opts.cache });
  preparedFeatures(context, modelSpecOf(context.challenge));
  const evaluate = (source: SubmissionSource, o: ScoreOptions = {}) =>
    evaluateSource(context.challenge, source, { context, progress: o.progress, timings: o.timings });
  return {
    context,
    evaluate,
    evaluateFile: (path, o = {}) => evaluate(sourceForPath(path, { format: o.format, progress: o.progress, allowUnisolated: o.allowUnisolated }), o),
    evaluateBytes: (bytes, name, o = {}) => evaluate(bytesSource(bytes, { name, format: o.format }), o),
  };
}
