/**
 * Everything a scoring run needs, loaded once: the challenge, its pool's participant train
 * split, the hidden test split (through src/pool/hidden.ts, the evaluator's door), the truth
 * for ranking challenges, and the public/private partition. Baselines score many
 * submissions against one context.
 */
import { prepareFeatures, type PoolInput, type PreparedFeatures, type TestInput } from '../../evaluator/protocols/common.ts';
import type { ModelSpec } from '../../evaluator/types.ts';
import { encodeGroupColumn, type GroupColumn } from '../../evaluator/metrics.ts';
import { loadChallenge, openChallengePool } from '../challenge/load.ts';
import type { Challenge } from '../challenge/schema.ts';
import { readHiddenSplit, readTruth } from '../pool/hidden.ts';
import { verifyPoolFiles } from '../pool/integrity.ts';
import { readSplit, type Pool } from '../pool/read.ts';
import { cacheKey, evalCacheEnabled, readCacheEntry, writeCacheEntry } from '../pool/split-cache.ts';
import { EVALUATOR_VERSION } from '../../evaluator/version.ts';
import type { PoolSplit } from '../pool/types.ts';
import { indexIds, rulesFor, type SubmissionRules } from '../submission/index.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { oneVsRestClasses, oneVsRestSplit, positiveIndex } from './one-vs-rest.ts';
import { partitionTestRows, type TestPartition } from './partition.ts';
import { evaluatorRefusal } from './refusal.ts';

export interface EvalContext {
  challenge: Challenge;
  pool: Pool;
  train: PoolSplit;
  test: PoolSplit;
  /** ranking: the clean label of every train row (train order); the pool's label where no truth row. */
  cleanLabels?: Int32Array;
  poolInput: PoolInput;
  testInput: TestInput;
  partition: TestPartition;
  /** Class index of metrics.positive_class. */
  positiveClass?: number;
  rules: SubmissionRules;
  idIndex: Map<string, number>;
  loadSeconds: number;
  /** Preprocessed pool/test features by preprocessing spec (see preparedFeatures). */
  featureCache: Map<string, PreparedFeatures>;
  /** Whether the on-disk evaluation cache (src/pool/split-cache.ts) is read and written. */
  diskCache: boolean;
}

/** Bump when what a prepared-features entry holds changes (the numbers are the evaluator version's). */
const FEATURES_CACHE_FORMAT = 'sieve-features/1';

/**
 * The pool and test features after `spec.preprocess`, fitted once per context: PCA on an
 * image pool takes seconds, and baselines score many training sets on the same features.
 * With the disk cache on, fitted once per pool, preprocessing spec and evaluator version: the
 * key holds the pool's content hash (its verified files), the spec, the evaluator's version
 * (which changes whenever a number could) and the shapes; the arrays come back bit for bit.
 */
export function preparedFeatures(ctx: EvalContext, spec: ModelSpec): PreparedFeatures {
  const key = JSON.stringify(spec.preprocess ?? null);
  let f = ctx.featureCache.get(key);
  if (!f) {
    const t0 = performance.now();
    const preprocess = spec.preprocess && Object.keys(spec.preprocess).length ? spec.preprocess : null;
    const { poolInput: pool, testInput: test } = ctx;
    // No preprocessing: the features are the split's own arrays, nothing to cache.
    const diskKey = ctx.diskCache && preprocess
      ? cacheKey({
          format: FEATURES_CACHE_FORMAT, evaluator: EVALUATOR_VERSION, pool: ctx.pool.manifest.content_hash,
          one_vs_rest: ctx.challenge.one_vs_rest ?? null, preprocess, n: pool.n, d: pool.d, test: test.n,
        })
      : null;
    const hit = diskKey ? readCacheEntry('features', diskKey) : null;
    const d = (hit?.meta as { d?: unknown } | undefined)?.d;
    const Xpool = hit?.arrays.Xpool, Xtest = hit?.arrays.Xtest;
    if (typeof d === 'number' && d >= 1 && Xpool instanceof Float32Array && Xtest instanceof Float32Array && Xpool.length === pool.n * d && Xtest.length === test.n * d) {
      f = { Xpool, Xtest, d, seconds: (performance.now() - t0) / 1000 };
    } else {
      try {
        f = prepareFeatures(spec, pool, test);
      } catch (err) {
        throw evaluatorRefusal(err, ctx.challenge.specPath); // a preprocessing option the pool cannot take (pca > d)
      }
      if (diskKey) writeCacheEntry('features', diskKey, { format: FEATURES_CACHE_FORMAT, d: f.d }, { Xpool: f.Xpool, Xtest: f.Xtest });
    }
    ctx.featureCache.set(key, f);
  }
  return f;
}

export async function loadEvalContext(
  challengeRef: string | Challenge,
  opts: {
    progress?: Progress;
    /** Hash every pool file again, ignoring the hash cache (sieve verify). */
    rehash?: boolean;
    /** The challenge's pool, already opened (so one evaluation opens it once). */
    pool?: Pool;
    /**
     * Read and write the on-disk evaluation cache (decoded splits, prepared features). Default:
     * on unless `rehash` or SIEVE_EVAL_CACHE=off; results are bit-identical either way.
     */
    cache?: boolean;
  } = {},
): Promise<EvalContext> {
  const diskCache = opts.cache ?? (!opts.rehash && evalCacheEnabled());
  const t0 = performance.now();
  const challenge = typeof challengeRef === 'string' ? await loadChallenge(challengeRef) : challengeRef;
  const pool = opts.pool ?? (await openChallengePool(challenge));
  const m = pool.manifest;
  const where = challenge.specPath;

  const missingGroups = challenge.groups.filter((g) => !m.groups.some((x) => x.name === g));
  if (missingGroups.length) {
    throw new SieveError(`challenge groups not in pool "${pool.name}": ${missingGroups.join(', ')}`, {
      where: `${where}: groups`,
      examples: [`pool groups: ${m.groups.map((g) => g.name).join(', ') || '(none)'}`],
    });
  }
  // one_vs_rest: the challenge scores a two-class view of the pool (src/evaluate/one-vs-rest.ts).
  const concept = challenge.one_vs_rest === undefined ? undefined : positiveIndex(m.classes, challenge.one_vs_rest, `${where}: one_vs_rest`);
  const classes = concept === undefined ? m.classes : oneVsRestClasses(m.classes[concept]);
  let positiveClass: number | undefined;
  if (challenge.metrics.positive_class !== undefined) {
    positiveClass = classes.indexOf(challenge.metrics.positive_class);
    if (positiveClass < 0) {
      throw new SieveError(`metrics.positive_class "${challenge.metrics.positive_class}" is not a class of pool "${pool.name}"`, {
        where: `${where}: metrics.positive_class`,
        examples: [`classes: ${classes.join(', ')}`],
      });
    }
  }
  if (!m.files.some((f) => f.role === 'test')) {
    throw new SieveError(`pool "${pool.name}" has no test split to score on`, { where: pool.dir });
  }

  // Scores only on verified files: what is read must be what the manifest (and so the record's pool hash) says.
  const task = taskOf(challenge.task);
  await verifyPoolFiles(pool, ['train', 'test', ...task.hiddenFiles], { rehash: opts.rehash });
  // A hidden variant pool (src/evaluate/variants.ts) keeps even its train split evaluator-only.
  const poolTrain = m.variant
    ? await readHiddenSplit(pool, 'train', { progress: opts.progress, cache: diskCache })
    : await readSplit(pool, 'train', { progress: opts.progress, cache: diskCache });
  const poolTest = await readHiddenSplit(pool, 'test', { progress: opts.progress, cache: diskCache });
  const train = concept === undefined ? poolTrain : oneVsRestSplit(poolTrain, concept);
  const test = concept === undefined ? poolTest : oneVsRestSplit(poolTest, concept);

  let cleanLabels: Int32Array | undefined;
  if (task.hiddenFiles.includes('truth')) {
    const truth = await readTruth(pool);
    if (!truth || truth.ids.length === 0) {
      throw new SieveError(`${task.name} challenge needs a pool with truth (clean labels); pool "${pool.name}" has none`, { where: pool.dir });
    }
    cleanLabels = Int32Array.from(train.labels);
    const index = indexIds(train.ids);
    const stray: string[] = [];
    for (let i = 0; i < truth.ids.length; i++) {
      const j = index.get(truth.ids[i]);
      if (j === undefined) stray.push(truth.ids[i]);
      else cleanLabels[j] = concept === undefined ? truth.cleanLabels[i] : Number(truth.cleanLabels[i] === concept);
    }
    if (stray.length) {
      throw new SieveError(`${stray.length} truth id(s) are not train rows of pool "${pool.name}"`, { where: pool.dir, count: stray.length, examples: stray });
    }
  }

  const groups: Record<string, GroupColumn> = {};
  for (const g of challenge.groups) groups[g] = encodeGroupColumn(test.groups[g]);
  // X read through the split: a cached split reads its features only when something uses them,
  // and with the prepared features cached (preparedFeatures) scoring never does.
  const poolInput: PoolInput = { get X() { return train.features; }, n: train.n, d: train.d, y: train.labels, k: classes.length, classNames: classes };
  const testInput: TestInput = { get X() { return test.features; }, n: test.n, y: test.labels, groups };
  const partition = partitionTestRows(test.labels, classes.length, challenge.test.public_fraction, challenge.test.seed);
  const rules = rulesFor(challenge, { ids: train.ids, classNames: classes });
  return {
    challenge,
    pool,
    train,
    test,
    cleanLabels,
    poolInput,
    testInput,
    partition,
    positiveClass,
    rules,
    idIndex: indexIds(train.ids),
    loadSeconds: (performance.now() - t0) / 1000,
    featureCache: new Map(),
    diskCache,
  };
}
