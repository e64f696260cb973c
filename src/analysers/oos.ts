/**
 * Out-of-sample class probabilities for every train row, shared by the analysers that need a
 * model's view (label errors, fairness, outliers): seeded stratified K-fold cross-validation
 * with a fixed model from the evaluator (the K-fold itself is evaluator/oos.ts; this module
 * picks the features and the model). The model's preprocessing (standardisation, PCA) is
 * fitted once on all rows — it sees no labels, so nothing leaks — and each fold's model is
 * fitted on the other folds and predicts the held-out one.
 *
 * The features follow the pool's feature kind (docs/analysers.md, "Out-of-sample model"):
 * tabular pools (numeric and one-hot categorical columns) give the model the standardised
 * columns themselves, every rare category kept; pixels and embeddings use the audit's
 * reduced neighbour space. Group columns join the features only when asked (--groups-as-features).
 */
import { kFoldProba, stratifiedFolds } from '../../evaluator/oos.ts';
import { fitPreprocessor } from '../../evaluator/preprocess.ts';
import type { ModelKind, ModelSpec } from '../../evaluator/types.ts';
import { describeModelSpec, getModel, isModelKind, MODEL_KINDS } from '../../evaluator/models/registry.ts';
import type { FeatureSpec } from '../pool/manifest.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Progress } from '../util/progress.ts';
import { SieveError } from '../util/errors.ts';
import type { OosPredictions } from './types.ts';
import { DEFAULT_MAX_DIMS, keepAsIs, spaceOf, textBlockRanges } from './neighbour-space.ts';
import { applyScaling, columnScaling } from '../../compute/scaling.ts';
import { COSINE_MIN_DIMS } from './vectors.ts';

export { stratifiedFolds };

/** What the pool's features are, as far as the choice of out-of-sample model goes. */
export type OosFeatureKind = 'tabular' | 'pixels' | 'embedding' | 'text';

/**
 * A model spec for out-of-sample predictions. `features: 'neighbour-space'` fits the model on
 * the audit's shared neighbour space (features standardised, reduced to ≤ 64 principal
 * components, rows L2-normalised; see neighbour-space.ts) instead of the pool's features; the
 * spec's own `preprocess` then applies on top. Without it (or with 'raw') the model sees the
 * pool's features as read (numeric, one-hot categoricals, pixels / 255, embeddings), then its
 * `preprocess`, exactly as the evaluator runs a challenge's model. `groupFeatures` appends
 * those group columns, one-hot (sorted values; a missing value is all zeros), before `preprocess`.
 */
export interface AuditModelSpec extends ModelSpec {
  features?: 'raw' | 'neighbour-space';
  groupFeatures?: string[];
  /**
   * With `features: 'raw'` and `preprocess: { standardize: true }`: hashed TF-IDF columns of a
   * pool that also has numeric ones enter as they are (each text column's block has unit norm)
   * and the other columns are standardised (neighbour-space.ts textBlockRanges). The audit's
   * default tabular model sets it; a challenge's model, run as the evaluator runs it, does not.
   */
  textAsIs?: boolean;
}

/**
 * The feature kind of a pool from its manifest's feature columns: 'text' when every column is
 * text (hashed TF-IDF rows); otherwise text columns do not decide it.
 */
export function oosFeatureKind(features: readonly Pick<FeatureSpec, 'kind'>[]): OosFeatureKind {
  if (features.length > 0 && features.every((f) => f.kind === 'text')) return 'text';
  const numeric = features.filter((f) => f.kind !== 'text');
  if (numeric.some((f) => f.kind === 'pixels')) return 'pixels';
  if (numeric.length > 0 && numeric.every((f) => f.kind === 'numeric' || f.kind === 'categorical')) return 'tabular';
  return 'embedding';
}

/**
 * The model used for out-of-sample predictions when no challenge fixes one: the kind's
 * `auditDefaults` (declared in its evaluator/models/ file) for the pool's feature kind.
 *
 * Tabular: the standardised pool columns (one-hot categoricals included, so a category of a
 * handful of rows keeps its own coefficient) and logistic regression run to convergence (200
 * L-BFGS iterations; a hundred-odd dimensions make that cheap). On Adult-like data this is
 * within 0.01 of scikit-learn's cross-validated logistic regression (bench/oos-vs-sklearn.ts);
 * the neighbour space's 64 components lost the rare categories.
 *
 * Pixels and embeddings: the neighbour space (for fashion-mnist, 64 components instead of 784
 * pixels: ~20× less work and better-ranked label errors than the raw pixels, see
 * docs/analysers.md); logistic regression stops after 30 L-BFGS iterations, where the
 * probabilities rank label issues as well as at 100. Embeddings of fewer than COSINE_MIN_DIMS
 * dimensions (`opts.dims`) are modelled as tabular columns: rows L2-normalised in 2 dimensions
 * keep only their angle, and clean 5-class synth rows at separation 6 were 64% predictable
 * that way against 76% on the standardised coordinates (a teacher's tryout: 684 flags of
 * 2,400 clean rows, against 451 on scikit-learn's probabilities).
 */
export function defaultOosModel(
  kind: ModelKind | string, featureKind: OosFeatureKind = 'embedding', seed = 0, opts: { hasText?: boolean; dims?: number } = {},
): AuditModelSpec {
  const tabular = featureKind === 'tabular' || (featureKind === 'embedding' && opts.dims !== undefined && opts.dims < COSINE_MIN_DIMS);
  const base = tabular
    ? { preprocess: { standardize: true }, seeds: [seed], features: 'raw' as const, ...(opts.hasText ? { textAsIs: true } : {}) }
    : { preprocess: { standardize: true }, seeds: [seed], features: 'neighbour-space' as const };
  if (!isModelKind(kind)) {
    throw new SieveError(`unknown model "${kind}" for out-of-sample predictions; choose ${MODEL_KINDS.join(', ')}`, { where: '--model' });
  }
  const defaults = getModel(kind).auditDefaults;
  return { kind, params: { ...(tabular ? defaults.tabular : defaults.vectors) }, ...base };
}

/** Whether two specs fit the same model on the same features (seeds aside: one audit seed is used). */
export function sameOosModel(a: AuditModelSpec, b: AuditModelSpec): boolean {
  const norm = (s: AuditModelSpec) => JSON.stringify({
    kind: s.kind,
    params: sortedEntries(s.params),
    preprocess: sortedEntries(s.preprocess ?? {}),
    features: s.features ?? 'raw',
    groups: s.groupFeatures ?? [],
    textAsIs: s.textAsIs === true,
  });
  return norm(a) === norm(b);
}

function sortedEntries(o: object): [string, unknown][] {
  return Object.entries(o).filter(([, v]) => v !== undefined).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0));
}

/** The model in words, e.g. "logistic regression (l2 1, ≤ 200 L-BFGS iterations)" (its file's `describe`). */
export function describeModel(spec: ModelSpec): string {
  return describeModelSpec(spec);
}

/** What the model's inputs are, in words and numbers, for the audit header. */
export interface OosFeatureSummary {
  /** e.g. "101 standardised pool features (6 numeric, 95 one-hot of 6 categorical columns; rare categories kept)". */
  description: string;
  /** Dimensions the model is fitted on. */
  dims: number;
  /** Group columns one-hot encoded into the features. */
  groups: string[];
}

/**
 * Describes the inputs of `spec` on a pool with these feature columns (`split` gives the
 * dimension count and, for group features, the group values).
 */
export function describeOosFeatures(
  spec: AuditModelSpec, features: readonly FeatureSpec[], split: Pick<PoolSplit, 'd' | 'groups'>,
): OosFeatureSummary {
  const kind = oosFeatureKind(features);
  const groups = spec.groupFeatures ?? [];
  const groupDims = groups.reduce((s, g) => s + groupCategories(split.groups[g] ?? []).length, 0);
  const numeric = features.filter((f) => f.kind === 'numeric').length;
  const categorical = features.filter((f) => f.kind === 'categorical');
  const oneHot = categorical.reduce((s, f) => s + (f.categories?.length ?? 0), 0);
  const textCols = features.filter((f) => f.kind === 'text').map((f) => f.name);
  const embedding = features.filter((f) => f.kind === 'embedding');
  const embDims = embedding.reduce((s, f) => s + (f.dim ?? 0), 0);
  const pixels = features.filter((f) => f.kind === 'pixels');
  const pixelDims = pixels.reduce((s, f) => s + (f.width ?? 0) * (f.height ?? 0) * (f.channels ?? 1), 0);
  // Every kind of column with its share of the dimensions: a text pool with one numeric column
  // read "2049 pool features (1 numeric)", an embedded text pool "(embedding)".
  const parts = [
    numeric ? `${numeric} numeric` : '',
    categorical.length ? `${oneHot} one-hot of ${categorical.length} categorical column${categorical.length === 1 ? '' : 's'}` : '',
    embedding.length ? `${embDims} of the embedding${embedding.length === 1 ? '' : 's'} ${embedding.map((f) => f.name).join(', ')}` : '',
    pixels.length ? `${pixelDims} pixels` : '',
    textCols.length ? `${split.d - numeric - oneHot - embDims - pixelDims} hashed TF-IDF of ${textCols.join(', ')}` : '',
  ].filter(Boolean);
  const what = kind === 'text' ? `hashed TF-IDF of ${textCols.join(', ')}` : kind === 'tabular' || parts.length > 1 ? parts.join(', ') : kind;
  const pre = spec.preprocess ?? {};
  const groupText = groups.length ? ` + ${groupDims} one-hot of the group column${groups.length === 1 ? '' : 's'} ${groups.join(', ')}` : '';
  const inputDims = split.d + groupDims;
  if (spec.features === 'neighbour-space') {
    const dims = Math.min(inputDims, DEFAULT_MAX_DIMS);
    const reduced = inputDims > DEFAULT_MAX_DIMS ? `${dims} principal components of ` : '';
    return {
      description: `${reduced}${split.d} ${kind === 'text' ? '' : 'standardised '}pool features (${what})${groupText}, rows L2-normalised${pre.standardize ? ', then standardised' : ''}`,
      dims, groups,
    };
  }
  const steps: string[] = [];
  if (pre.scale) steps.push(`divided by ${pre.scale}`);
  if (pre.pca) steps.push(`reduced to ${pre.pca} principal components`);
  if (pre.standardize) steps.push(spec.textAsIs && !pre.pca && !pre.scale && textBlockRanges(split).length ? 'standardised but for the TF-IDF blocks (unit norm per text column, as they are)' : 'standardised');
  const kept = kind === 'tabular' && !pre.pca && oneHot > 0 ? '; rare categories kept' : '';
  return {
    description: `${split.d} pool features (${what}${kept})${groupText}${steps.length ? `, ${steps.join(', then ')}` : ''}`,
    dims: pre.pca ?? inputDims,
    groups,
  };
}

/** Sorted distinct non-missing values of a group column: its one-hot order. */
function groupCategories(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))].sort();
}

/** The split's features with the named group columns appended, one-hot. */
export function withGroupFeatures(split: PoolSplit, groups: readonly string[]): { X: Float32Array; d: number } {
  if (groups.length === 0) return { X: split.features, d: split.d };
  const cats = groups.map((g) => {
    const values = split.groups[g];
    if (!values) {
      throw new SieveError(`"${g}" is not a group column of the pool`, {
        where: '--groups-as-features', examples: [`group columns: ${Object.keys(split.groups).join(', ') || '(none)'}`],
      });
    }
    return { values, index: new Map(groupCategories(values).map((c, j) => [c, j])) };
  });
  const extra = cats.reduce((s, c) => s + c.index.size, 0);
  const d = split.d + extra;
  const X = new Float32Array(split.n * d);
  for (let i = 0; i < split.n; i++) {
    X.set(split.features.subarray(i * split.d, (i + 1) * split.d), i * d);
    let off = i * d + split.d;
    for (const c of cats) {
      const v = c.values[i];
      if (v !== null) X[off + c.index.get(v)!] = 1;
      off += c.index.size;
    }
  }
  return { X, d };
}

export interface OosOptions {
  model: AuditModelSpec;
  folds: number;
  /** Repeats of the K-fold with other fold assignments, averaged (default 1). */
  repeats?: number;
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
  const repeats = opts.repeats ?? 1;
  const k = split.classNames.length;
  const n = split.n;
  if (!(Number.isInteger(folds) && folds >= 2)) throw new SieveError(`folds must be an integer ≥ 2, got ${folds}`, { where: '--folds' });
  if (split.d === 0) throw new SieveError('the pool has no numeric feature columns to fit a model on', { where: 'out-of-sample predictions' });
  if (n < folds) {
    throw new SieveError(`${n} rows cannot be split into ${folds} folds for the out-of-sample model`, {
      where: '--folds',
      examples: [
        ...(n >= 2 ? [`--folds ${n} (at most one fold per row)`] : []),
        '--only duplicates,class-imbalance (the analysers that need no out-of-sample model)',
      ],
    });
  }
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new SieveError(`repeats must be an integer ≥ 1, got ${repeats}`, { where: '--repeats' });

  const withGroups = withGroupFeatures(split, model.groupFeatures ?? []);
  const onSpace = model.features === 'neighbour-space';
  const space = onSpace
    ? await (withGroups.X === split.features ? spaceOf(split, { seed }) : spaceOf({ ...split, features: withGroups.X, d: withGroups.d }, { seed }))
    : null;
  let raw = space ? space.X : withGroups.X;
  const rawD = space ? space.dims : withGroups.d;
  let preprocess = model.preprocess ?? {};
  // The audit's own tabular model: text blocks enter as they are, standardised columns around
  // them (neighbour-space.ts textBlockRanges). A challenge's fixed model is run as its spec says.
  const asIs = !space && model.textAsIs && preprocess.standardize && !preprocess.pca && !preprocess.scale ? textBlockRanges(split) : [];
  if (asIs.length) {
    raw = applyScaling(raw, n, rawD, keepAsIs(columnScaling(raw, n, rawD), asIs));
    preprocess = { ...preprocess, standardize: false };
  }
  const pre = fitPreprocessor(preprocess, raw, n, rawD);
  const X = pre.transform(raw, n);
  const d = pre.dOut;
  // Large pools: folds run in the evaluator's worker pool, one fold per core (results are
  // bit-identical to fitting them here). Smaller pools: on this thread (see PARALLEL_MIN_VALUES).
  const threads = opts.threads ?? (n * d >= PARALLEL_MIN_VALUES ? undefined : 1);
  const proba = await kFoldProba({ X, n, d, y: split.labels, k }, model, {
    folds, repeats, seed, threads,
    onStart: (fits) => opts.progress?.start(fits, 'out-of-sample predictions'),
    onFold: () => opts.progress?.tick(1),
  });
  return { proba, n, k, folds, ...(repeats > 1 ? { repeats } : {}), seed, model };
}

/** Share of rows whose most probable class (first on ties) is their given label. */
export function oosAccuracy(proba: Float32Array, labels: Int32Array, k: number): number {
  const n = labels.length;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[o + c] > proba[o + best]) best = c;
    if (best === labels[i]) ok++;
  }
  return n ? ok / n : NaN;
}
