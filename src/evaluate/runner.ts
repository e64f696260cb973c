/**
 * The evaluation runner: challenge → pool (+ hidden test, truth) → strict submission
 * validation → the evaluator's protocol → result record. Nothing is trained before the
 * submission has passed every rule.
 */
import { createHash } from 'node:crypto';
import {
  encodeMask, encodeReplay, EVALUATOR_VERSION, LOG_LOSS_CONVENTION, MISSING_GROUP, restrictReplay,
  type MetricSummary, type ModelSpec, type Replay, type ScoringOptions,
} from '../../evaluator/index.ts';
import type { Challenge } from '../challenge/schema.ts';
import { loadChallenge, openChallengePool } from '../challenge/load.ts';
import { verifyPoolFiles } from '../pool/integrity.ts';
import { readSplit, type Pool } from '../pool/read.ts';
import { evalCacheEnabled } from '../pool/split-cache.ts';
import { indexIds, rulesFor, validateSubmission } from '../submission/index.ts';
import type { ReadSubmission } from '../submission/parse.ts';
import { sourceForPath, type StrategyProvenance, type SubmissionSource } from '../submission/sources/index.ts';
import type { ValidSubmission } from '../submission/types.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { SIEVE_VERSION } from '../version.ts';
import { loadEvalContext, preparedFeatures, type EvalContext } from './context.ts';
import { taskOf, type TaskScore } from '../tasks/index.ts';
import { primaryMean, RESULT_FORMAT, type RecordReplay, type ResultRecord, type SubsetSummary } from './record.ts';
import { systemFigures } from './system.ts';
import { evaluatorRefusal } from './refusal.ts';
import { convergenceNote, type ConvergenceNote } from './convergence.ts';
import type { Timings } from './timings.ts';
import { codeHash, gitCommit } from '../util/code-hash.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';

import { notRerun, produceFromSource, strategyGeneralisation, type Generalisation } from './variants.ts';

/** The clone's commit, read once (null in an installed package). */
const GIT_COMMIT = gitCommit(PACKAGE_ROOT);

/** A file of ids is not re-run on variants: its record says so (when the challenge has any). */
function notRerunField(challenge: Challenge): { generalisation?: { note: string } } {
  const note = notRerun(challenge);
  return note ? { generalisation: note } : {};
}

export interface EvaluateOptions {
  /** Submission format, overriding the file extension. */
  format?: string;
  progress?: Progress;
  /** Override the challenge's bootstrap resamples (demo only; recorded in the result). */
  bootstrapSamples?: number;
  /** Collects where the wall time goes (`--timings`); never part of the record. */
  timings?: Timings;
  /** The on-disk evaluation cache (default: on unless SIEVE_EVAL_CACHE=off); never changes a result. */
  cache?: boolean;
}

/** What a protocol run gives back, whatever the task (fitSeconds includes the preprocessing). */
export type Scored = TaskScore;

/** The challenge's model as the evaluator's ModelSpec. */
export function modelSpecOf(challenge: Challenge): ModelSpec {
  const { kind, params, preprocess, seeds } = challenge.model;
  return { kind, params: { ...params }, preprocess: { ...preprocess }, seeds: [...seeds] };
}

export function bootstrapOf(challenge: Challenge, samples?: number): { samples: number; seed: number } {
  return { samples: samples ?? challenge.bootstrap.samples, seed: challenge.bootstrap.seed };
}

/** Evaluator input errors are bugs of ours or of a challenge, not of the submission: say so (refusal.ts). */
function asSieveError(err: unknown, ctx: EvalContext): never {
  throw evaluatorRefusal(err, ctx.challenge.specPath);
}

function convergenceField(spec: ModelSpec, fits: Scored['fits']): { convergence?: ConvergenceNote } {
  const note = convergenceNote(spec, fits);
  return note ? { convergence: note } : {};
}

/** Runs the challenge's protocol on an already validated submission. */
export async function scoreSubmission(
  ctx: EvalContext,
  sub: Pick<ValidSubmission, 'task' | 'indices' | 'labels'>,
  opts: { progress?: Progress; bootstrapSamples?: number; spec?: ModelSpec; timings?: Timings } = {},
): Promise<Scored> {
  const spec = opts.spec ?? modelSpecOf(ctx.challenge);
  const parts: Record<string, Int32Array> = { public: ctx.partition.public };
  if (ctx.partition.private.length) parts.private = ctx.partition.private;
  // Preprocessing is fitted once per context (and counted in the fit time of the first run).
  const tPrep = performance.now();
  const features = preparedFeatures(ctx, spec);
  const prepSeconds = (performance.now() - tPrep) / 1000;
  opts.timings?.add('preprocessing', prepSeconds);
  const scoring: ScoringOptions = {
    bootstrap: bootstrapOf(ctx.challenge, opts.bootstrapSamples),
    parts,
    positiveClass: ctx.positiveClass,
    progress: opts.progress,
    features,
    timings: opts.timings,
  };
  try {
    const out = await taskOf(sub.task).score(
      { spec, pool: ctx.poolInput, test: ctx.testInput, cleanLabels: ctx.cleanLabels, ranking: ctx.challenge.ranking, scoring },
      sub,
    );
    return { ...out, fitSeconds: prepSeconds + out.fitSeconds };
  } catch (err) {
    asSieveError(err, ctx);
  }
}

/** Rows, class counts and group counts of what was submitted. */
export function summariseSubset(ctx: EvalContext, sub: Pick<ValidSubmission, 'task' | 'indices' | 'labels'>, changed?: number): SubsetSummary {
  const { train } = ctx;
  const classCounts: Record<string, number> = {};
  for (const c of train.classNames) classCounts[c] = 0;
  const task = taskOf(sub.task);
  for (let j = 0; j < sub.indices.length; j++) classCounts[train.classNames[task.entryClass(sub, j, train.labels)]]++;
  const groupCounts: Record<string, Record<string, number>> = {};
  const cols = ctx.challenge.groups.length ? ctx.challenge.groups : Object.keys(train.groups);
  for (const g of cols) {
    const values = train.groups[g];
    const counts: Record<string, number> = {};
    for (let j = 0; j < sub.indices.length; j++) {
      const v = values[sub.indices[j]] ?? MISSING_GROUP;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    groupCounts[g] = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return { rows: sub.indices.length, class_counts: classCounts, group_counts: groupCounts, ...(changed !== undefined ? { changed } : {}) };
}

/** sha256 of the test split's ids, one per line, in test-row order (pins a replay's row order). */
export function testIdsSha256(ids: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of ids) h.update(id).update('\n');
  return h.digest('hex');
}

/** The replay of one part's rows (ascending test rows), as the record stores it. */
function partReplay(replay: Replay, rows: Int32Array, idsSha: string): RecordReplay {
  for (let j = 1; j < rows.length; j++) {
    if (!(rows[j] > rows[j - 1])) throw new Error(`test part rows must ascend (row ${rows[j]} after ${rows[j - 1]})`);
  }
  return { ...encodeReplay(restrictReplay(replay, rows)), test_ids_sha256: idsSha };
}

/** Assembles the result record of one scored submission. */
export function buildRecord(
  ctx: EvalContext,
  sub: ValidSubmission,
  file: { path: string; bytes: number; strategy?: StrategyProvenance },
  scored: Scored,
  timing: { t0: number; bootstrapSamples?: number; /** A strategy's scores on the hidden variants. */ generalisation?: Generalisation },
): ResultRecord {
  const { challenge, pool } = ctx;
  const spec = modelSpecOf(challenge);
  const primary = challenge.metrics.primary;
  const hasPrivate = ctx.partition.private.length > 0;
  const idsSha = testIdsSha256(ctx.test.ids);
  const publicMask = new Uint8Array(ctx.test.n);
  for (const r of ctx.partition.public) publicMask[r] = 1;
  return {
    format: RESULT_FORMAT,
    challenge: {
      name: challenge.name,
      version: challenge.version,
      task: challenge.task,
      ref: challenge.builtin ? challenge.name : challenge.specPath,
      spec_sha256: challenge.specSha256,
      closes: challenge.closes ?? null,
      report: [...challenge.metrics.report],
      rules: challenge.metrics.rules,
    },
    pool: { name: pool.name, ref: challenge.poolRef, content_hash: pool.manifest.content_hash },
    submission: { sha256: sub.sha256, format: sub.format, rows: sub.rows, bytes: file.bytes, path: file.path },
    ...(file.strategy ? { strategy: file.strategy } : {}),
    evaluator: { version: EVALUATOR_VERSION, log_loss: LOG_LOSS_CONVENTION },
    sieve: { version: SIEVE_VERSION, code_sha256: codeHash(), ...(GIT_COMMIT ? { git_commit: GIT_COMMIT } : {}) },
    model: spec,
    seeds: [...spec.seeds],
    bootstrap: bootstrapOf(challenge, timing.bootstrapSamples),
    test: {
      rows: ctx.test.n,
      public_rows: ctx.partition.public.length,
      private_rows: ctx.partition.private.length,
      public_fraction: challenge.test.public_fraction,
      seed: challenge.test.seed,
    },
    primary: { name: primary, direction: challenge.metrics.direction, mean: primaryMean(scored.metrics, primary) },
    metrics: scored.metrics,
    private: hasPrivate
      ? {
          metrics: scored.privateMetrics,
          all_metrics: scored.allMetrics,
          primary_mean: primaryMean(scored.privateMetrics, primary),
          replay: partReplay(scored.replay, ctx.partition.private, idsSha),
          public_mask: encodeMask(publicMask),
        }
      : null,
    ...(scored.curve ? { curve: scored.curve, ranking: scored.ranking } : {}),
    ...(scored.counts ? { counts: scored.counts } : {}),
    replay: partReplay(scored.replay, ctx.partition.public, idsSha),
    subset: summariseSubset(ctx, sub, scored.changed),
    ...(timing.generalisation !== undefined ? { generalisation: timing.generalisation } : notRerunField(challenge)),
    fits: scored.fits,
    ...convergenceField(spec, scored.fits),
    system: systemFigures(scored.fitSeconds, (performance.now() - timing.t0) / 1000),
    created_at: new Date().toISOString(),
  };
}

/** A submission read once and validated against its challenge, with the pool it was checked on. */
export interface CheckedSubmission {
  challenge: Challenge;
  pool: Pool;
  read: ReadSubmission & { strategy?: StrategyProvenance };
  submission: ValidSubmission;
  sha256: string;
}

/**
 * Validates a submission from any source against a challenge reading only the pool's ids
 * (fast): a broken submission is rejected before any features are loaded or anything is
 * trained. A strategy source runs its strategy here, on the pool's participant data.
 */
export async function checkSubmission(
  challengeRef: string | Challenge,
  source: SubmissionSource,
  opts: { timings?: Timings; /** The on-disk evaluation cache (default: on unless SIEVE_EVAL_CACHE=off). */ cache?: boolean } = {},
): Promise<CheckedSubmission> {
  const t = opts.timings;
  const timed = <T>(phase: Parameters<Timings['add']>[0], fn: () => Promise<T> | T): Promise<T> => (t ? t.time(phase, fn) : Promise.resolve(fn()));
  const challenge = typeof challengeRef === 'string' ? await timed('challenge', () => loadChallenge(challengeRef)) : challengeRef;
  const { pool, train } = await timed('pool read', async () => {
    const pool = await openChallengePool(challenge);
    await verifyPoolFiles(pool, ['train']);
    return { pool, train: await readSplit(pool, 'train', { columns: [], cache: opts.cache ?? evalCacheEnabled() }) };
  });
  return timed('submission', async () => {
    const rules = rulesFor(challenge, { ids: train.ids, classNames: pool.manifest.classes });
    const read = await source.read({ challenge, pool, rules });
    const submission = validateSubmission(read.raw, rules, { where: read.path, sha256: read.sha256, idIndex: indexIds(train.ids) });
    return { challenge, pool, read, submission, sha256: read.sha256 };
  });
}

/** checkSubmission for a command-line path: a submission file, or a strategy (.sql, .ts, .mjs, .js). */
export function checkSubmissionFile(
  challengeRef: string | Challenge,
  submissionPath: string,
  opts: { format?: string; progress?: Progress; allowUnisolated?: boolean } = {},
): Promise<CheckedSubmission> {
  return checkSubmission(challengeRef, sourceForPath(submissionPath, opts));
}

/**
 * Scores a submission from any source against a challenge (name, path or loaded) and returns
 * its result record. The source is read once and the pool opened once; a SubmissionError is
 * thrown before any training when the submission breaks a rule. With `context` (baselines,
 * verify) the submission is validated against that context's pool.
 */
export async function evaluateSource(
  challengeRef: string | Challenge,
  source: SubmissionSource,
  opts: EvaluateOptions & { context?: EvalContext } = {},
): Promise<ResultRecord> {
  const t0 = performance.now();
  const timings = opts.timings;
  let ctx = opts.context;
  let read: CheckedSubmission['read'];
  let submission: ValidSubmission;
  if (ctx) {
    const t1 = performance.now();
    read = await source.read({ challenge: ctx.challenge, pool: ctx.pool, rules: ctx.rules });
    submission = validateSubmission(read.raw, ctx.rules, { where: read.path, sha256: read.sha256, idIndex: ctx.idIndex });
    timings?.add('submission', (performance.now() - t1) / 1000);
  } else {
    // Reject a broken submission before loading features (seconds for an image pool).
    const checked = await checkSubmission(challengeRef, source, { timings, cache: opts.cache });
    ({ read, submission } = checked);
    const t1 = performance.now();
    ctx = await loadEvalContext(checked.challenge, { progress: opts.progress, pool: checked.pool, cache: opts.cache });
    timings?.add('pool read', (performance.now() - t1) / 1000);
  }
  const scored = await scoreSubmission(ctx, submission, { progress: opts.progress, bootstrapSamples: opts.bootstrapSamples, timings });
  // A strategy is code: re-run it on each hidden variant for its generalisation score.
  const t2 = performance.now();
  const generalisation = read.strategy && ctx.challenge.variants
    ? (await strategyGeneralisation(ctx.challenge, produceFromSource(ctx.challenge, source), primaryMean(scored.metrics, ctx.challenge.metrics.primary), {
        progress: opts.progress,
        bootstrapSamples: opts.bootstrapSamples,
      })) ?? undefined
    : undefined;
  if (read.strategy && ctx.challenge.variants) timings?.add('variants', (performance.now() - t2) / 1000);
  const t3 = performance.now();
  const record = buildRecord(ctx, submission, { path: read.path, bytes: read.bytes, strategy: read.strategy }, scored, {
    t0,
    bootstrapSamples: opts.bootstrapSamples,
    generalisation,
  });
  timings?.add('record', (performance.now() - t3) / 1000);
  return record;
}

/** evaluateSource for a command-line path: a submission file, or a strategy (.sql, .ts, .mjs, .js). */
export function evaluateFile(
  challengeRef: string | Challenge,
  submissionPath: string,
  opts: EvaluateOptions & { context?: EvalContext; allowUnisolated?: boolean } = {},
): Promise<ResultRecord> {
  return evaluateSource(challengeRef, sourceForPath(submissionPath, opts), opts);
}

export type { MetricSummary };
