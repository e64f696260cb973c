import type { ModelSpec } from '../../evaluator/types.ts';
import type { PoolSplit } from '../pool/types.ts';
import { gatherRows } from '../../compute/rows.ts';
import type { Progress } from '../util/progress.ts';
import type { AuditContext, OosPredictions } from './types.ts';

/**
 * The audit context the analysers run on: an `AuditContext` whose out-of-sample predictions are
 * computed once, on first use, and then shared by every analyser (and by the subset audit),
 * the context of a subset audit, and one progress bar over an audit's phases. What is audited
 * (a pool, a challenge's pool, a submission's rows) is resolved by src/audit/, not here: the
 * analysers know nothing of challenges or submissions.
 */

/** The rows `indices` of `split` (in the given order), as a split of their own. */
export function subsetSplit(split: PoolSplit, indices: Int32Array): PoolSplit {
  const pick = <T>(values: readonly T[]) => Array.from(indices, (r) => values[r]);
  const out: PoolSplit = {
    split: split.split,
    n: indices.length,
    d: split.d,
    ids: pick(split.ids),
    labels: gatherRows(split.labels, 1, indices),
    classNames: split.classNames,
    features: gatherRows(split.features, split.d, indices),
    featureNames: split.featureNames,
    groups: Object.fromEntries(Object.entries(split.groups).map(([k, v]) => [k, pick(v)])),
  };
  if (split.pixels) {
    const { width, height, channels, data } = split.pixels;
    out.pixels = { width, height, channels, data: gatherRows(data, width * height * channels, indices) };
  }
  if (split.text) out.text = Object.fromEntries(Object.entries(split.text).map(([k, v]) => [k, pick(v)]));
  return out;
}

/** Computes out-of-sample probabilities for a split (D1's `src/analysers/oos.ts`). */
export type OosComputer = (
  split: PoolSplit,
  opts: { model: ModelSpec; folds: number; repeats?: number; seed: number; progress: Progress },
) => Promise<OosPredictions>;

export interface AuditContextOptions {
  poolName: string;
  train: PoolSplit;
  test?: PoolSplit;
  model: ModelSpec;
  folds: number;
  /** Repeats of the K-fold, averaged (default 1). */
  repeats?: number;
  seed: number;
  progress: Progress;
  computeOos: OosComputer;
  /** Progress of the cross-validation (default: `progress`); `done()` is called when it ends. */
  oosProgress?: Progress & { done?(): void };
  /**
   * Out-of-sample probabilities given by the user (`--pred-probs`, read and validated by
   * src/audit/pred-probs.ts): `oos()` returns them and nothing is cross-validated.
   */
  probabilities?: OosPredictions;
}

/**
 * An `AuditContext` whose `oos()` runs the cross-validation once, on first call, or returns
 * the user's probabilities when `opts.probabilities` is set.
 */
export function createAuditContext(opts: AuditContextOptions): AuditContext {
  let cached: Promise<OosPredictions> | null = opts.probabilities ? Promise.resolve(opts.probabilities) : null;
  return {
    poolName: opts.poolName,
    train: opts.train,
    test: opts.test,
    model: opts.model,
    seed: opts.seed,
    progress: opts.progress,
    ...(opts.probabilities?.source ? { predictionsSource: opts.probabilities.source } : {}),
    oos() {
      if (!cached) {
        const progress = opts.oosProgress ?? opts.progress;
        cached = opts.computeOos(opts.train, { model: opts.model, folds: opts.folds, repeats: opts.repeats, seed: opts.seed, progress })
          .then((p) => { opts.oosProgress?.done?.(); return p; });
      }
      return cached;
    },
  };
}

/**
 * The context of a subset audit: the selected rows, the same test split, and the pool's
 * out-of-sample probabilities restricted to those rows. Each row's probabilities still come
 * from a model that never saw it, the pool-wide models are better informed than models fitted
 * on a small subset, and nothing is trained twice.
 */
export function subsetContext(parent: AuditContext, indices: Int32Array): AuditContext {
  const train = subsetSplit(parent.train, indices);
  let cached: Promise<OosPredictions> | null = null;
  return {
    ...parent,
    train,
    oos() {
      cached ??= parent.oos().then((p) => {
        return { ...p, proba: gatherRows(p.proba, p.k, indices), n: indices.length };
      });
      return cached;
    },
  };
}

/**
 * One progress bar over the phases of an audit (the out-of-sample cross-validation, then each
 * analyser). Each phase gets its own `Progress` whose start/tick are mapped onto an equal share
 * of the outer bar, so analysers and the OOS computer report in whatever units suit them.
 */
export class PhasedProgress {
  private static readonly UNITS = 1000;
  private started = false;
  constructor(private readonly outer: Progress, private readonly phases: number, private readonly label = 'audit') {}

  phase(): Progress & { done(): void } {
    if (!this.started) { this.outer.start(this.phases * PhasedProgress.UNITS, this.label); this.started = true; }
    const outer = this.outer;
    const units = PhasedProgress.UNITS;
    let total = 0, value = 0, reported = 0, finished = false;
    const advanceTo = (target: number) => {
      const t = Math.min(units, Math.max(reported, Math.floor(target)));
      if (t > reported) { outer.tick(t - reported); reported = t; }
    };
    return {
      start(n) { total = n; },
      tick(u = 1) { if (finished) return; value += u; if (total > 0) advanceTo((value / total) * units); },
      stop() { /* the outer bar stops once, when the audit ends */ },
      done() { if (!finished) { advanceTo(units); finished = true; } },
    };
  }

  stop(): void {
    this.outer.stop();
  }
}
