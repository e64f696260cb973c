import type { ModelSpec } from '../../evaluator/types.ts';
import type { PoolSplit } from '../pool/types.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import type { Analyser, AnalyserResult, AuditContext, PredictionsSource } from './types.ts';
import { oosAccuracy as accuracyOf } from './oos.ts';

/**
 * The audit runner: runs the selected analysers in registry order on one shared
 * `AuditContext` (so out-of-sample predictions are computed once), times each, and gathers
 * their results into an `AuditReport` that the report writers (tables, JSON, HTML) consume.
 */

export const AUDIT_FORMAT = 'sieve-audit/1';

/** What the report says about the pool the audited rows come from. */
export interface AuditPoolInfo {
  name: string;
  /** Directory the pool was read from. */
  path?: string;
  contentHash?: string;
  /** Challenge the pool was reached through, when `sieve audit <challenge>` was used. */
  challenge?: string;
  classes: string[];
  /** Rows in the whole train split (the subset audit reports its own `rows`). */
  trainRows: number;
  /** Rows in the test split when it was read, null when it was not available. */
  testRows: number | null;
  features: number;
  groups: string[];
  hasPixels: boolean;
  hasText: boolean;
}

/**
 * The out-of-sample model as the report header states it (terminal, JSON, HTML): who chose it,
 * the model, its features; the report adds the folds, the seed and the accuracy.
 */
export interface OosModelHeader {
  /** 'pool default': the audit's model for the pool's feature kind; 'challenge': the challenge's fixed model; '--model': asked for. */
  source: 'pool default' | 'challenge' | '--model';
  /** The challenge the pool was reached through, if any. */
  challenge?: string;
  /** e.g. "logistic regression (l2 1, ≤ 200 L-BFGS iterations)". */
  model: string;
  /** e.g. "101 pool features (6 numeric, 95 one-hot of 6 categorical columns; rare categories kept), standardised". */
  features: string;
  /** Dimensions the model is fitted on. */
  dims: number;
  /** Group columns one-hot encoded into the features (--groups-as-features). */
  groupFeatures: string[];
  /** Set when the figures differ from the pool's own audit, saying why (a challenge's model that differs). */
  note?: string;
}

/** An analyser's result with the analyser's display title, as the reports show it. */
export type AuditResult = AnalyserResult & { title: string };

export interface SkippedAnalyser {
  name: string;
  title: string;
  reason: string;
}

export interface AuditReport {
  format: typeof AUDIT_FORMAT;
  /** 'pool' audits the whole train split; 'subset' audits the rows a submission selects. */
  scope: 'pool' | 'subset';
  pool: AuditPoolInfo;
  /** Number of rows audited. */
  rows: number;
  /** For subset audits: the submission file and how many ids it selected. */
  subset?: { file: string; rows: number };
  model: ModelSpec;
  /** The out-of-sample model in words, when the caller described it (sieve audit does). */
  oosModel?: OosModelHeader;
  /**
   * Accuracy of the out-of-sample probabilities on the audited rows (argmax against the given
   * label), or null when no analyser that ran needed them (they were not computed).
   */
  oosAccuracy?: number | null;
  folds: number;
  /** Repeats of the K-fold averaged into the probabilities, when more than one. */
  repeats?: number;
  seed: number;
  /** Set when the out-of-sample probabilities came from the user's file (--pred-probs), not from `model`. */
  predictions?: PredictionsSource;
  /** Why the test split is missing, when it is (leakage checks need it). */
  testNote?: string;
  results: AuditResult[];
  skipped: SkippedAnalyser[];
  seconds: number;
  /** The audited rows, for thumbnails and row values in the HTML report; never serialised. */
  train: PoolSplit;
}

/** Both audits of one `sieve audit` run: the whole pool, and the subset when --subset is given. */
export interface AuditBundle {
  pool: AuditReport;
  subset?: AuditReport;
}

/**
 * Picks analysers by `--only` names, keeping registry order. Unknown names are an error that
 * lists the known ones; an empty selection means all.
 */
export function selectAnalysers(all: readonly Analyser<any>[], only?: readonly string[]): Analyser<any>[] {
  if (!only || only.length === 0) return [...all];
  const known = new Set(all.map((a) => a.name));
  const unknown = only.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new SieveError(`unknown analyser${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      where: '--only',
      examples: [`known: ${[...known].join(', ')}`],
      count: unknown.length,
    });
  }
  const wanted = new Set(only);
  return all.filter((a) => wanted.has(a.name));
}

/** Why an analyser cannot run on this context, or null when it can. */
export function missingNeed(analyser: Analyser<any>, ctx: AuditContext): string | null {
  if (analyser.needs.includes('groups') && Object.keys(ctx.train.groups).length === 0) {
    return 'the pool has no group columns';
  }
  if (analyser.needs.includes('features') && ctx.train.d === 0) {
    return 'the pool has no feature columns to compute on';
  }
  return null;
}

export interface RunAuditOptions {
  analysers: readonly Analyser<any>[];
  pool: AuditPoolInfo;
  scope?: 'pool' | 'subset';
  subset?: { file: string; rows: number };
  folds: number;
  /** Repeats of the K-fold (default 1). */
  repeats?: number;
  /** The out-of-sample model in words (src/audit/target.ts resolveOosModel), for the header. */
  oosModel?: OosModelHeader;
  testNote?: string;
  /** Per-analyser option overrides, by analyser name. */
  options?: Record<string, Record<string, unknown>>;
  /** One progress phase per analyser (see PhasedProgress in context.ts); default ctx.progress. */
  phase?: () => Progress & { done(): void };
}

/**
 * Runs `opts.analysers` in order on `ctx`. An analyser that cannot run (missing groups, no
 * features) is listed in `skipped` with the reason rather than failing the whole audit; an
 * analyser that throws fails the audit, since a half-finished report would mislead.
 */
export async function runAudit(ctx: AuditContext, opts: RunAuditOptions): Promise<AuditReport> {
  const t0 = performance.now();
  const results: AuditResult[] = [];
  const skipped: SkippedAnalyser[] = [];
  for (const analyser of opts.analysers) {
    const reason = missingNeed(analyser, ctx);
    if (reason) {
      skipped.push({ name: analyser.name, title: analyser.title, reason });
      continue;
    }
    const started = performance.now();
    const progress = opts.phase?.();
    const result = await analyser.run(
      { ...ctx, ...(progress ? { progress } : {}), options: opts.options ?? {} },
      { ...analyser.defaults, ...(opts.options?.[analyser.name] ?? {}) },
    );
    progress?.done();
    // The runner's clock is the one reported, so every analyser is timed the same way.
    results.push({
      ...result,
      name: result.name || analyser.name,
      title: analyser.title,
      seconds: (performance.now() - started) / 1000,
    });
  }
  // The predictions are cached by the context: asking again costs nothing, and an audit whose
  // analysers never needed them does not fit a model just for the header.
  const usedOos = !!ctx.predictionsSource || opts.analysers.some((a) => a.needs.includes('oos-probabilities') && !skipped.some((s) => s.name === a.name));
  let oosAccuracy: number | null = null;
  if (usedOos) {
    const p = await ctx.oos();
    oosAccuracy = accuracyOf(p.proba, ctx.train.labels, p.k);
  }
  return {
    format: AUDIT_FORMAT,
    scope: opts.scope ?? 'pool',
    pool: opts.pool,
    rows: ctx.train.n,
    subset: opts.subset,
    model: ctx.model,
    ...(opts.oosModel ? { oosModel: opts.oosModel } : {}),
    oosAccuracy,
    folds: ctx.predictionsSource ? 0 : opts.folds,
    ...(!ctx.predictionsSource && (opts.repeats ?? 1) > 1 ? { repeats: opts.repeats } : {}),
    seed: ctx.seed,
    ...(ctx.predictionsSource ? { predictions: ctx.predictionsSource } : {}),
    testNote: opts.testNote,
    results,
    skipped,
    seconds: (performance.now() - t0) / 1000,
    train: ctx.train,
  };
}
