/**
 * Out-of-sample class probabilities for every train row, shared by the analysers that need a
 * model's view (label errors, fairness): seeded stratified K-fold cross-validation with a fixed
 * model from the evaluator (the K-fold itself is evaluator/oos.ts; this module picks the features
 * and the model). The model's preprocessing (standardisation, PCA) is fitted once on
 * all rows — it sees no labels, so nothing leaks — and each fold's model is fitted on the
 * other folds and predicts the held-out one.
 */
import { kFoldProba, stratifiedFolds } from '../../evaluator/oos.ts';
import { fitPreprocessor } from '../../evaluator/preprocess.ts';
import type { ModelKind, ModelSpec } from '../../evaluator/types.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Progress } from '../util/progress.ts';
import { SieveError } from '../util/errors.ts';
import type { OosPredictions } from './types.ts';
import { spaceOf } from './neighbour-space.ts';

export { stratifiedFolds };

/**
 * A model spec for out-of-sample predictions. `features: 'neighbour-space'` fits the model on
 * the audit's shared neighbour space (features standardised, reduced to ≤ 64 principal
 * components, rows L2-normalised; see neighbour-space.ts) instead of the raw features; the
 * spec's own `preprocess` then applies on top. A challenge's model has no `features` field and
 * runs exactly as the evaluator runs it.
 */
export interface AuditModelSpec extends ModelSpec {
  features?: 'raw' | 'neighbour-space';
}

/**
 * The model used for out-of-sample predictions when no challenge fixes one: fitted on the
 * neighbour space (for fashion-mnist, 64 components instead of 784 pixels: ~20× less work and
 * better-ranked label errors than the raw pixels, see docs/analysers.md). Logistic regression
 * stops after 30 L-BFGS iterations: the probabilities rank label issues as well as at 100.
 */
export function defaultOosModel(kind: ModelKind | string, _split?: Pick<PoolSplit, 'd'>, seed = 0): AuditModelSpec {
  const base = { preprocess: { standardize: true }, seeds: [seed], features: 'neighbour-space' as const };
  switch (kind) {
    case 'logistic-regression':
      return { kind, params: { l2: 1, max_iter: 30, tol: 1e-4 }, ...base };
    case 'knn':
      return { kind, params: { k: 10, metric: 'cosine' }, ...base };
    case 'mlp':
      return { kind, params: { hidden: 128, epochs: 20, lr: 0.001, batch_size: 64, l2: 0.0001 }, ...base };
    default:
      throw new SieveError(`unknown model "${kind}" for out-of-sample predictions; choose logistic-regression, knn or mlp`, { where: '--model' });
  }
}

export interface OosOptions {
  model: AuditModelSpec;
  folds: number;
  seed: number;
  progress?: Progress;
  /** Worker threads for the folds (default: all cores when the pool is large enough, else 1). */
  threads?: number;
}

/**
 * Below this many feature values (n × d) the folds are fitted one after another on the calling
 * thread, where each fit's gradient already uses every core (compute/pool.ts):
 * on fashion-mnist's 20,000 × 64 that was faster than one fold per worker (4.1–4.7 s against
 * 5.5–7.4 s for the five folds on a busy 2-core machine), worker start-up included.
 */
const PARALLEL_MIN_VALUES = 5_000_000;

/** K-fold out-of-sample probabilities for every row of `split`. */
export async function computeOosPredictions(split: PoolSplit, opts: OosOptions): Promise<OosPredictions> {
  const { model, folds, seed } = opts;
  const k = split.classNames.length;
  const n = split.n;
  if (!(Number.isInteger(folds) && folds >= 2)) throw new SieveError(`folds must be an integer ≥ 2, got ${folds}`, { where: '--folds' });
  if (split.d === 0) throw new SieveError('the pool has no numeric feature columns to fit a model on', { where: 'out-of-sample predictions' });
  if (n < folds) throw new SieveError(`${n} rows cannot be split into ${folds} folds`, { where: '--folds' });

  const onSpace = (model as AuditModelSpec).features === 'neighbour-space';
  const space = onSpace ? await spaceOf(split, { seed }) : null;
  const raw = space ? space.X : split.features;
  const rawD = space ? space.dims : split.d;
  const pre = fitPreprocessor(model.preprocess ?? {}, raw, n, rawD);
  const X = pre.transform(raw, n);
  const d = pre.dOut;
  // Large pools: folds run in the evaluator's worker pool, one fold per core (results are
  // bit-identical to fitting them here). Smaller pools: on this thread (see PARALLEL_MIN_VALUES).
  const threads = opts.threads ?? (n * d >= PARALLEL_MIN_VALUES ? undefined : 1);
  const proba = await kFoldProba({ X, n, d, y: split.labels, k }, model, {
    folds, seed, threads,
    onStart: (fits) => opts.progress?.start(fits, 'out-of-sample predictions'),
    onFold: () => opts.progress?.tick(1),
  });
  return { proba, n, k, folds, seed, model };
}
