/**
 * The audit's per-row findings for a pool, as strategies see them: one entry per train row
 * (pool order) with the label-issue flag and score, the suggested label, the out-of-sample
 * probabilities, the kNN label agreement, the duplicate cluster and the outlier score.
 *
 * Computed through the audit pipeline itself (src/analysers: the pool's default out-of-sample
 * model, the audit's cross-validation for the pool's size (auditCv), seed 0, every analyser's defaults), so `sieve audit POOL` and a strategy
 * see the same numbers. Only participant data goes in (the train split through
 * src/pool/read.ts; never the test split), so nothing here can leak what the evaluator hides.
 * Deterministic, and cached in memory by the pool's content hash: strategies run on one pool
 * (a baseline table, a verify re-run) share one computation; and on disk
 * (src/strategy/findings-cache.ts, keyed by the content hash and the code that computes them),
 * so later processes read them back, bit for bit, instead of re-running the audit.
 */
import { runAudit } from '../analysers/audit.ts';
import { createAuditContext } from '../analysers/context.ts';
import { auditPoolInfo, resolveOosModel } from '../audit/target.ts';
import { duplicates } from '../analysers/duplicates.ts';
import { labelErrors } from '../analysers/label-errors.ts';
import { labelErrorsKnn } from '../analysers/label-errors-knn.ts';
import { computeOosPredictions, describeModel } from '../analysers/oos.ts';
import { outliers } from '../analysers/outliers.ts';
import { auditCv, type AnalyserResult, type Finding } from '../analysers/types.ts';
import type { ColumnData, TableData } from '../pool/duckdb.ts';
import { readSplit, type Pool } from '../pool/read.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Progress } from '../util/progress.ts';

/** The audit settings findings are computed with (the audit's own defaults). */
export const FINDINGS_SETTINGS = { seed: 0 } as const;

/** The analysers whose per-row findings are kept, in the audit's order. */
const ANALYSERS = [labelErrors, labelErrorsKnn, duplicates, outliers];

export interface PoolFindings {
  /** The pool's content hash (pool.json): the cache key. */
  poolHash: string;
  n: number;
  ids: string[];
  classNames: string[];
  /** Given label, class index. */
  labels: Int32Array;
  /** Out-of-sample class probabilities, n × k row-major; each row from a model that never saw it. */
  oos: { proba: Float32Array; k: number; folds: number; seed: number; model: string };
  /** label-errors (confident learning): flagged as a likely label error. */
  labelIssue: Uint8Array;
  /** label-errors score: 1 − label quality (higher = more likely wrong). */
  labelScore: Float64Array;
  /** label-errors: the class the row most likely belongs to (class index). */
  suggestedLabel: Int32Array;
  /** Out-of-sample probability of the given label. */
  selfConfidence: Float64Array;
  /** label-errors-knn: flagged, share of the k nearest neighbours agreeing with the label, their majority class. */
  knnIssue: Uint8Array;
  knnAgreement: Float64Array;
  knnSuggestedLabel: Int32Array;
  /** duplicates: cluster number (−1: in none), flagged, and 1 for every cluster member but its first (pool order). */
  duplicateCluster: Int32Array;
  duplicateIssue: Uint8Array;
  duplicateRedundant: Uint8Array;
  /** outliers: mean distance to the nearest neighbours (higher = farther out), flagged. */
  outlierScore: Float64Array;
  outlierIssue: Uint8Array;
  /** Analysers that could not run on this pool (their columns are NaN / −1 / 0), with why. */
  skipped: { name: string; reason: string }[];
  seconds: number;
}

const cache = new Map<string, Promise<PoolFindings>>();
/** Content hashes whose findings this process produced (computed or read from disk), once per memory miss (tests). */
const produced: string[] = [];

const silent: Progress = { start() {}, tick() {}, stop() {} };

/**
 * The findings of `pool`'s train split, computed once per content hash. `train` may be given
 * when the caller has already read the split (it must be the pool's full train split).
 */
export function poolFindings(pool: Pool, opts: { train?: PoolSplit; progress?: Progress } = {}): Promise<PoolFindings> {
  const key = pool.manifest.content_hash;
  let p = cache.get(key);
  if (!p) {
    produced.push(key);
    p = findingsFromDiskOrComputed(pool, opts);
    cache.set(key, p);
    // A failed computation is not cached: the next call tries again.
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** The pools (by content hash) whose findings this process produced so far, in order: one entry per computation or disk read. */
export function findingsProduced(): readonly string[] {
  return produced;
}

/** The disk cache (src/strategy/findings-cache.ts) first; a computed result is stored there. */
async function findingsFromDiskOrComputed(pool: Pool, opts: { train?: PoolSplit; progress?: Progress }): Promise<PoolFindings> {
  const { findingsKey, readCachedFindings, writeCachedFindings } = await import('./findings-cache.ts');
  const key = findingsKey(pool, { ...FINDINGS_SETTINGS, analysers: ANALYSERS.map((a) => a.name) });
  const cached = readCachedFindings(pool, key);
  if (cached) return cached;
  const f = await computeFindings(pool, opts);
  writeCachedFindings(pool, key, f);
  return f;
}

/** Drops the in-memory cache (tests). */
export function clearFindingsCache(): void {
  cache.clear();
}

async function computeFindings(pool: Pool, opts: { train?: PoolSplit; progress?: Progress }): Promise<PoolFindings> {
  const t0 = performance.now();
  const progress = opts.progress ?? silent;
  const train = opts.train ?? (await readSplit(pool, 'train'));
  const { seed } = FINDINGS_SETTINGS;
  const { folds, repeats } = auditCv(train.n);
  const target = { pool };
  const { spec, header } = resolveOosModel(target, train, { seed });
  const ctx = createAuditContext({
    poolName: pool.name,
    train,
    model: spec,
    folds,
    repeats,
    seed,
    progress,
    computeOos: (split, o) => computeOosPredictions(split, o),
  });
  const report = await runAudit(ctx, { analysers: ANALYSERS, pool: auditPoolInfo(target, { train }), folds, repeats, oosModel: header });
  const n = train.n, k = train.classNames.length;
  const oos = await ctx.oos();
  const byName = new Map<string, AnalyserResult>(report.results.map((r) => [r.name, r]));
  const rowOf = new Map<string, number>();
  train.ids.forEach((id, i) => rowOf.set(id, i));
  const classIndex = new Map(train.classNames.map((c, i) => [c, i]));
  const each = (name: string, fn: (row: number, f: Finding) => void) => {
    for (const f of byName.get(name)?.findings ?? []) fn(rowOf.get(f.id)!, f);
  };
  const cls = (v: unknown) => (typeof v === 'string' ? (classIndex.get(v) ?? -1) : -1);

  const selfConfidence = new Float64Array(n);
  for (let i = 0; i < n; i++) selfConfidence[i] = oos.proba[i * k + train.labels[i]];

  const labelIssue = new Uint8Array(n), labelScore = new Float64Array(n).fill(NaN), suggestedLabel = new Int32Array(n).fill(-1);
  each('label-errors', (i, f) => {
    labelIssue[i] = f.flagged ? 1 : 0;
    labelScore[i] = f.score;
    suggestedLabel[i] = cls(f.detail.suggested_label);
  });
  const knnIssue = new Uint8Array(n), knnAgreement = new Float64Array(n).fill(NaN), knnSuggestedLabel = new Int32Array(n).fill(-1);
  each('label-errors-knn', (i, f) => {
    knnIssue[i] = f.flagged ? 1 : 0;
    knnAgreement[i] = typeof f.detail.agreement === 'number' ? f.detail.agreement : NaN;
    knnSuggestedLabel[i] = cls(f.detail.suggested_label);
  });
  // duplicates lists only rows that are in a cluster, have a near pair or leak.
  const duplicateCluster = new Int32Array(n).fill(-1), duplicateIssue = new Uint8Array(n), duplicateRedundant = new Uint8Array(n);
  each('duplicates', (i, f) => {
    duplicateCluster[i] = typeof f.detail.cluster === 'number' ? f.detail.cluster : -1;
    duplicateIssue[i] = f.flagged ? 1 : 0;
    duplicateRedundant[i] = f.detail.duplicate_of !== null && f.detail.duplicate_of !== undefined ? 1 : 0;
  });
  const outlierScore = new Float64Array(n).fill(NaN), outlierIssue = new Uint8Array(n);
  each('outliers', (i, f) => {
    outlierScore[i] = f.score;
    outlierIssue[i] = f.flagged ? 1 : 0;
  });

  return {
    poolHash: pool.manifest.content_hash,
    n,
    ids: train.ids,
    classNames: train.classNames,
    labels: train.labels,
    oos: { proba: oos.proba, k: oos.k, folds: oos.folds, seed: oos.seed, model: describeModel(oos.model) },
    labelIssue,
    labelScore,
    suggestedLabel,
    selfConfidence,
    knnIssue,
    knnAgreement,
    knnSuggestedLabel,
    duplicateCluster,
    duplicateIssue,
    duplicateRedundant,
    outlierScore,
    outlierIssue,
    skipped: report.skipped.map((s) => ({ name: s.name, reason: s.reason })),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** NaN → NULL, for SQL. */
function doubles(name: string, v: Float64Array): ColumnData {
  return { name, type: 'DOUBLE', values: Array.from(v, (x) => (Number.isNaN(x) ? null : x)) };
}

function classNames(name: string, v: Int32Array, names: readonly string[]): ColumnData {
  return { name, type: 'VARCHAR', values: Array.from(v, (c) => (c >= 0 ? names[c] : null)) };
}

function flags(name: string, v: Uint8Array): ColumnData {
  return { name, type: 'BOOLEAN', values: v };
}

/**
 * The findings as one table, a row per train row in pool order: what the SQL view `findings`
 * holds (docs/strategies.md lists the columns).
 */
export function findingsTable(f: PoolFindings): TableData {
  const names = f.classNames;
  const k = f.oos.k;
  const oosLabel = new Int32Array(f.n);
  for (let i = 0; i < f.n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (f.oos.proba[i * k + c] > f.oos.proba[i * k + best]) best = c;
    oosLabel[i] = best;
  }
  const cluster: ColumnData = { name: 'duplicate_cluster', type: 'DOUBLE', values: Array.from(f.duplicateCluster, (c) => (c >= 0 ? c : null)) };
  return {
    n: f.n,
    columns: [
      { name: 'id', type: 'VARCHAR', values: f.ids },
      classNames('label', f.labels, names),
      flags('label_issue', f.labelIssue),
      doubles('label_score', f.labelScore),
      classNames('suggested_label', f.suggestedLabel, names),
      doubles('self_confidence', f.selfConfidence),
      classNames('oos_label', oosLabel, names),
      { name: 'oos_proba', type: 'FLOAT[]', dim: k, values: f.oos.proba },
      flags('knn_issue', f.knnIssue),
      doubles('knn_agreement', f.knnAgreement),
      classNames('knn_suggested_label', f.knnSuggestedLabel, names),
      cluster,
      flags('duplicate_issue', f.duplicateIssue),
      flags('duplicate_redundant', f.duplicateRedundant),
      doubles('outlier_score', f.outlierScore),
      flags('outlier_issue', f.outlierIssue),
    ],
  };
}
