/**
 * Hidden variant pools and the generalisation score (docs/challenges.md "Variants").
 *
 * A challenge may declare `variants: { recipe, pools: [{ seed, content_hash? }] }`: its pool's
 * recipe run again with other seeds (pools/recipes/variants.ts). A strategy is code, so it can
 * be re-run on each variant; its scores there, their mean with a 95% Student t interval and
 * the gap to the public score show whether it generalises or only fits the public pool. A
 * list of ids cannot be re-run on a pool it never saw, so subset, ranking and relabel files
 * get no generalisation score (the record says so).
 *
 * Variants are built on demand into `variantCacheDir()/<recipe>-<seed>-<key>`, the key being a
 * sha256 of the recipe, its version, the seed and the source pool's content hash, so a
 * changed recipe or source never reuses a stale build. Every file of a variant pool is
 * evaluator-only (manifest `variant`), so participant reads (src/pool/read.ts) and guard.ts
 * refuse them; only this module and the evaluation context open them. Each use re-checks the
 * files against the manifest and, when the challenge pins it, the content hash.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { studentTInterval } from '../../compute/stats.ts';
import type { VariantRecipe } from '../../pools/recipes/variants.ts';
import { metricRange, type Challenge } from '../challenge/schema.ts';
import { grantStrategyRead, readHiddenSplit } from '../pool/hidden.ts';
import { verifyPoolFiles } from '../pool/integrity.ts';
import { canonicalJson, MANIFEST_FILE, type PoolManifest } from '../pool/manifest.ts';
import { openPool, readSplit, type Pool } from '../pool/read.ts';
import { variantCacheDir } from '../pool/resolve.ts';
import type { PoolSplit } from '../pool/types.ts';
import { parseSubmissionBytes, validateSubmission, type RawSubmission, type SubmissionRules, type ValidSubmission } from '../submission/index.ts';
import type { StrategyLimits } from '../strategy/types.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { loadEvalContext, type EvalContext } from './context.ts';
import { primaryMean } from './record.ts';
import { scoreSubmission } from './runner.ts';

/** Bumped when the cache layout or the key's inputs change. */
const VARIANT_FORMAT = 'sieve-variant/1';
/** zstd level of variant files: they are rebuilt, never committed, so speed wins over size. */
const VARIANT_ZSTD_LEVEL = 3;

export interface VariantPool {
  seed: number;
  pool: Pool;
  contentHash: string;
  /** True when this call built it (false: found in the cache and re-checked). */
  built: boolean;
}

async function recipeOf(challenge: Challenge): Promise<VariantRecipe> {
  const name = challenge.variants!.recipe;
  const { VARIANT_RECIPES } = await import('../../pools/recipes/variants.ts');
  const recipe = VARIANT_RECIPES[name];
  if (!recipe)
    throw new SieveError(`unknown variant recipe "${name}"`, {
      where: `${challenge.specPath}: variants.recipe`,
      examples: [`known: ${Object.keys(VARIANT_RECIPES).join(', ')}`],
    });
  return recipe;
}

/** The cache key of one variant: everything its bytes are a function of. */
export function variantKey(recipe: Pick<VariantRecipe, 'name' | 'version'>, seed: number, sourceHash: string | null): string {
  return createHash('sha256')
    .update(canonicalJson({ format: VARIANT_FORMAT, recipe: recipe.name, version: recipe.version, seed, source: sourceHash }))
    .digest('hex');
}

/** The source pool's splits as a recipe needs them (the test split through the evaluator's door). */
async function loadSource(name: string, progress?: Progress) {
  const pool = await openPool(name);
  await verifyPoolFiles(pool, ['train', 'test']);
  return {
    pool,
    source: { manifest: pool.manifest, train: await readSplit(pool, 'train', { progress }), test: await readHiddenSplit(pool, 'test', { progress }) },
  };
}

/** A cached variant directory that is complete and what the key says, or null. */
async function openCached(dir: string, expect: NonNullable<PoolManifest['variant']>): Promise<Pool | null> {
  if (!existsSync(join(dir, MANIFEST_FILE))) return null;
  try {
    const pool = await openPool(dir);
    if (canonicalJson(pool.manifest.variant) !== canonicalJson(expect)) return null;
    await verifyPoolFiles(pool);
    return pool;
  } catch {
    return null; // damaged or half-written by hand: rebuilt below
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `progress` with every step's label prefixed by `prefix`. */
function prefixed(progress: Progress, prefix: string): Progress {
  return { start: (n, label, unit) => progress.start(n, label ? `${prefix}: ${label}` : prefix, unit), tick: (u) => progress.tick(u), stop: () => progress.stop() };
}

/**
 * Builds (or finds in the cache and re-checks) every variant pool of `challenge`. A pinned
 * content hash that differs stops the run, except with `checkPins: false` (for the command that
 * shows the hashes to pin: it must show them exactly when they differ).
 */
export async function ensureVariants(challenge: Challenge, opts: { progress?: Progress; checkPins?: boolean } = {}): Promise<VariantPool[]> {
  if (!challenge.variants) return [];
  const recipe = await recipeOf(challenge);
  let source: Awaited<ReturnType<typeof loadSource>> | undefined;
  // The source pool's hash is part of the key; its data are read only to build.
  const sourceHash = recipe.source ? (await openPool(recipe.source)).manifest.content_hash : null;
  // A variant is the recipe's pool with another seed: a challenge whose pool is something else
  // (an embedded version, a pool edited by hand) would be scored on other features there, and
  // its generalisation gap would compare the two feature sets.
  const own = (await openPool(challenge.poolRef)).manifest;
  const out: VariantPool[] = [];
  for (const [i, entry] of challenge.variants.pools.entries()) {
    const where = `${challenge.specPath}: variants.pools[${i}]`;
    const expect = { recipe: recipe.name, recipe_version: recipe.version, seed: entry.seed, source: sourceHash };
    const dir = join(variantCacheDir(), `${recipe.name}-${entry.seed}-${variantKey(recipe, entry.seed, sourceHash).slice(0, 16)}`);
    let pool = await openCached(dir, expect);
    let built = false;
    // Say that this is a one-time cost: the first strategy run of a challenge builds every variant.
    const progress = opts.progress && prefixed(opts.progress, `hidden variant ${i + 1}/${challenge.variants.pools.length} (built once, then cached)`);
    for (let attempt = 0; !pool; attempt++) {
      if (recipe.source && !source) source = await loadSource(recipe.source, progress);
      const draft = recipe.draft(entry.seed, source?.source ?? null);
      draft.manifest = { ...draft.manifest, variant: expect };
      try {
        const { writePool } = await import('../pool/write.ts'); // DuckDB: only when a variant is built
        await writePool(dir, draft, { overwrite: existsSync(dir), compressionLevel: VARIANT_ZSTD_LEVEL, option: 'variant cache', progress });
        built = true;
      } catch (err) {
        // Another sieve process is building the same variant: wait for it (up to ~2 minutes).
        if (!(err instanceof SieveError && /is in use/.test(err.message)) || attempt > 240) throw err;
        await sleep(500);
      }
      pool = await openCached(dir, expect);
      if (!pool && built) throw new SieveError('internal: a freshly built variant pool fails its own checks', { where: dir });
    }
    if (opts.checkPins !== false && entry.content_hash && entry.content_hash !== pool.manifest.content_hash)
      throw new SieveError(`variant seed ${entry.seed} of ${challenge.name} has content hash ${pool.manifest.content_hash}; the challenge pins ${entry.content_hash}`, {
        where,
        examples: [
          'the variant recipe, its source pool or the Parquet writer changed since the hash was pinned',
          // A copied challenge keeps its name: the command must name the copy, not the built-in.
          `\`sieve challenge variants ${challenge.builtin ? challenge.name : dirname(challenge.specPath)}\` shows the hashes built here`,
        ],
      });
    const diff = featureDifference(own, pool.manifest);
    if (diff)
      throw new SieveError(`variant seed ${entry.seed} of ${challenge.name} does not have the features of the challenge's pool ${own.name}: ${diff}`, {
        where: `${challenge.specPath}: variants`,
        examples: [
          `variant recipe "${recipe.name}" builds pools like ${recipe.source ?? 'its own synthetic pool'}${own.datasheet.embeddings?.length ? `; ${own.name} adds the embedding column ${own.datasheet.embeddings.map((e) => `"${e.column}"`).join(', ')} to them` : ''}`,
          'remove `variants:` from the challenge.yaml: its strategies are then scored on the pool alone',
        ],
      });
    out.push({ seed: entry.seed, pool, contentHash: pool.manifest.content_hash, built });
  }
  return out;
}

/** What differs between two pools' features (names, kinds, sizes), in words; null when nothing does. */
function featureDifference(own: PoolManifest, variant: PoolManifest): string | null {
  const shape = (f: PoolManifest['features'][number]) => `${f.kind}${'dim' in f && f.dim ? `[${f.dim}]` : ''}`;
  const theirs = new Map(variant.features.map((f) => [f.name, shape(f)]));
  const ours = new Map(own.features.map((f) => [f.name, shape(f)]));
  const missing = [...ours.keys()].filter((n) => !theirs.has(n));
  const extra = [...theirs.keys()].filter((n) => !ours.has(n));
  const changed = [...ours.keys()].filter((n) => theirs.has(n) && theirs.get(n) !== ours.get(n));
  const parts = [
    missing.length ? `the variant lacks ${missing.map((n) => `"${n}"`).join(', ')}` : '',
    extra.length ? `the variant adds ${extra.map((n) => `"${n}"`).join(', ')}` : '',
    changed.length ? changed.map((n) => `"${n}" is ${ours.get(n)} in the pool, ${theirs.get(n)} in the variant`).join('; ') : '',
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : null;
}

/** The challenge scored on a variant pool instead of its own (same model, seeds, rules). */
export async function loadVariantContext(challenge: Challenge, variant: VariantPool, opts: { progress?: Progress } = {}): Promise<EvalContext> {
  return loadEvalContext({ ...challenge, poolRef: variant.pool.dir }, { progress: opts.progress });
}

export interface LoadedVariant {
  variant: VariantPool;
  ctx: EvalContext;
}

/**
 * Every variant with its evaluation context, loaded once: baselines score several training
 * sets on each, and preprocessing (PCA) is fitted once per context.
 */
export async function loadVariants(challenge: Challenge, opts: { progress?: Progress } = {}): Promise<LoadedVariant[]> {
  const out: LoadedVariant[] = [];
  for (const variant of await ensureVariants(challenge, opts)) out.push({ variant, ctx: await loadVariantContext(challenge, variant, opts) });
  return out;
}

/** One variant's score, or why there is none. */
export interface VariantScore {
  seed: number;
  content_hash: string;
  /** The primary metric on the variant's public test part; null when the run failed. */
  primary: number | null;
  error?: string;
  seconds: number;
}

/** How the interval over variants is computed, written into every record. */
export const GENERALISATION_INTERVAL =
  "Student t over variants: mean ± t(0.975, n − 1) · s / √n of the per-variant primary scores (3–5 values are too few for a bootstrap: n = 3 gives 10 distinct resamples), clipped to the metric's range (e.g. [0, 1] for accuracy); it contains the mean by construction and reflects variant-to-variant spread, each score already averaging its variant's test rows and model seeds";

/**
 * A t interval clipped to the metric's range [lo, hi]: the t interval is symmetric and knows no
 * bounds, so with 3 scores near 1 (t = 4.30) it passes 1 although no accuracy can. The mean of
 * scores inside the range lies inside it, so the clipped interval still holds the mean; a score
 * outside its metric's range is a bug and is refused rather than hidden.
 */
export function clipToRange(mean: number, low: number, high: number, range: readonly [number, number], metric: string): [number, number] {
  const [lo, hi] = range;
  if (!(mean >= lo && mean <= hi)) throw new Error(`generalisation: the mean ${metric} over variants, ${mean}, is outside the metric's range [${lo}, ${hi}]`);
  return [Math.min(Math.max(low, lo), mean), Math.max(Math.min(high, hi), mean)];
}

export interface Generalisation {
  recipe: string;
  /** Primary metric, its direction, and the part of each variant's test split scored. */
  primary: { name: string; direction: 'max' | 'min'; part: 'public' };
  variants: VariantScore[];
  /** Variants scored (failed ones are listed but not averaged). */
  n: number;
  mean: number | null;
  std: number | null;
  ci95: [number, number] | null;
  interval: string;
  /** The submission's public score, and public − mean (positive: the public pool flatters it, for a max metric). */
  public: number | null;
  gap: number | null;
  /** Set when the figures are missing or too thin to judge: why. */
  note?: string;
}

/** Per-variant scores → the generalisation summary (failed variants void the mean). */
export function summariseGeneralisation(
  challenge: Pick<Challenge, 'metrics' | 'variants'>,
  scores: VariantScore[],
  publicScore: number | null,
): Generalisation {
  const ok = scores.filter((s) => s.primary !== null && Number.isFinite(s.primary)).map((s) => s.primary as number);
  const failed = scores.length - ok.length;
  const base = {
    recipe: challenge.variants?.recipe ?? '',
    primary: { name: challenge.metrics.primary, direction: challenge.metrics.direction, part: 'public' as const },
    variants: scores,
    n: ok.length,
    interval: GENERALISATION_INTERVAL,
    public: publicScore,
  };
  if (failed) {
    return {
      ...base, mean: null, std: null, ci95: null, gap: null,
      note: `${failed} of ${scores.length} variant(s) failed; a strategy that does not run on every variant has no generalisation score`,
    };
  }
  const t = studentTInterval(ok);
  return {
    ...base,
    mean: t.mean,
    std: Number.isFinite(t.std) ? t.std : null,
    ci95: t.low === null || t.high === null ? null : clipToRange(t.mean, t.low, t.high, metricRange(challenge.metrics.primary), challenge.metrics.primary),
    gap: publicScore === null ? null : publicScore - t.mean,
    ...(ok.length < 2 ? { note: 'one variant: no interval (no spread to judge)' } : ok.length < 5 ? { note: `${ok.length} variants: a wide interval by design; differences inside it are not evidence` } : {}),
  };
}

/** Longest error text a record keeps for one variant. */
export const VARIANT_ERROR_CHARS = 300;

/**
 * A variant run's error as the record keeps it: its first line, at most VARIANT_ERROR_CHARS
 * characters. A strategy controls its own error text, and a record reaches the entrant: a
 * strategy that threw its variant's rows (ids, labels) back in the message would carry an
 * organiser's hidden variant out through the result (a tryout did, 100 KB per variant).
 */
export function variantError(message: string): string {
  const line = message.split('\n', 1)[0];
  return line.length > VARIANT_ERROR_CHARS ? `${line.slice(0, VARIANT_ERROR_CHARS - 1)}…` : line;
}

/**
 * A variant's error as an entrant may read it. The strategy's own words (an exception's text,
 * DuckDB's message around its error() call, the ids an invalid output names) are a channel out
 * of the hidden variant: an SQL strategy put 3,000 of a variant's rows, labels and text into
 * error(). Kept: sieve's own sentence up to its first colon (a limit it hit, "the SQL strategy
 * failed"); an invalid output is said as such, without its ids or counts.
 */
export function entrantVariantError(message: string): string {
  const line = message.split('\n', 1)[0];
  // Up to the first colon or parenthesis: "(exit code 106)" carried a label of the variant.
  const own = /^the (SQL )?strategy\b/.test(line) ? line.split(/[:(]/, 1)[0].trim() : 'its output is not a valid submission';
  return `${own} (the rest is withheld from entrants: it could quote the hidden variant's rows; the organiser's record has it)`;
}

/**
 * Scores something on every variant of the challenge: `scoreOne` gets each variant's context
 * and returns the primary metric on its public part (or throws: recorded as that variant's
 * error). Baselines plug in here directly; strategies through `strategyGeneralisation`.
 */
export async function scoreOnVariants(
  challenge: Challenge,
  scoreOne: (ctx: EvalContext, variant: VariantPool) => Promise<number | null>,
  publicScore: number | null,
  opts: { progress?: Progress; loaded?: LoadedVariant[]; onVariant?: (s: VariantScore) => void } = {},
): Promise<Generalisation | null> {
  if (!challenge.variants) return null;
  const loaded = opts.loaded ?? (await loadVariants(challenge, opts));
  const scores: VariantScore[] = [];
  for (const { variant: v, ctx } of loaded) {
    const t0 = performance.now();
    let primary: number | null = null, error: string | undefined;
    try {
      primary = await scoreOne(ctx, v);
    } catch (err) {
      // A variant the strategy cannot handle is a finding about the strategy, not a crash.
      if (!(err instanceof SieveError)) throw err;
      error = variantError(err.message);
    }
    const s: VariantScore = { seed: v.seed, content_hash: v.contentHash, primary, ...(error ? { error } : {}), seconds: (performance.now() - t0) / 1000 };
    opts.onVariant?.(s);
    scores.push(s);
  }
  return summariseGeneralisation(challenge, scores, publicScore);
}

/**
 * What a strategy runner gets for one pool (the public one or a variant): the pool, its train
 * split already read, the one train file it may hand to a sandbox, and the rules its output is
 * validated with. `variant` is null for the challenge's own pool.
 */
export interface StrategyPoolInput {
  pool: Pool;
  train: PoolSplit;
  trainFile: string;
  rules: SubmissionRules;
  idIndex: Map<string, number>;
  variant: { seed: number; content_hash: string } | null;
}

/** A strategy, as the evaluation step sees it: a function producing a valid submission for a given pool. */
export type ProduceSubmission = (input: StrategyPoolInput) => Promise<Pick<ValidSubmission, 'task' | 'indices' | 'labels'>>;

/** The input of `produce` for a loaded context (its pool's train file, resolved from the manifest). */
export function strategyInputOf(ctx: EvalContext, variant: VariantPool | null): StrategyPoolInput {
  const file = ctx.pool.manifest.files.find((f) => f.role === 'train')!;
  return {
    // A variant's train split is evaluator-only: the runner gets a pool object granted to read it.
    pool: variant ? grantStrategyRead(ctx.pool) : ctx.pool,
    train: ctx.train,
    trainFile: join(ctx.pool.dir, file.path),
    rules: ctx.rules,
    idIndex: ctx.idIndex,
    variant: variant ? { seed: variant.seed, content_hash: variant.contentHash } : null,
  };
}

/**
 * The evaluation step for strategies: runs `produce` on each variant pool, scores its output
 * exactly like a submission to the challenge (same model, seeds, partition rule, bootstrap),
 * and summarises against `publicScore`.
 */
export async function strategyGeneralisation(
  challenge: Challenge,
  produce: ProduceSubmission,
  publicScore: number | null,
  opts: { progress?: Progress; bootstrapSamples?: number; loaded?: LoadedVariant[]; onVariant?: (s: VariantScore) => void } = {},
): Promise<Generalisation | null> {
  return scoreOnVariants(
    challenge,
    async (ctx, v) => {
      const sub = await produce(strategyInputOf(ctx, v));
      if (sub.task !== challenge.task)
        throw new SieveError(`the strategy produced a ${sub.task} submission on variant ${v.seed}; ${challenge.name} is a ${challenge.task} challenge`, { where: `variant ${v.seed}` });
      const scored = await scoreSubmission(ctx, sub, { progress: opts.progress, bootstrapSamples: opts.bootstrapSamples });
      return primaryMean(scored.metrics, challenge.metrics.primary);
    },
    publicScore,
    opts,
  );
}

/** What a record says when the submission was a file of ids: nothing to re-run. */
export function notRerun(challenge: Challenge): { note: string } | null {
  return challenge.variants
    ? { note: `a ${challenge.task} file names rows of the public pool and cannot be re-run on the challenge's ${challenge.variants.pools.length} hidden variants; submit a strategy (SQL or TS) for a generalisation score` }
    : null;
}

/** A record's generalisation block without its timings, for `sieve verify`. */
export function comparableGeneralisation(g: Generalisation | { note: string } | undefined): unknown {
  if (!g || !('variants' in g)) return g;
  return { ...g, variants: g.variants.map(({ seconds: _s, ...rest }) => rest) };
}

/**
 * Anything that reads a submission for a given pool: a submission source (src/submission/
 * sources/, the strategy source re-runs its strategy on the pool it is given).
 */
export interface PoolSubmissionSource {
  read(args: { challenge: Challenge; pool: Pool; rules: SubmissionRules }): Promise<{ raw: RawSubmission; path: string; sha256: string }>;
}

/** A submission source as a ProduceSubmission: read it for the given pool, validate it with that pool's rules. */
export function produceFromSource(challenge: Challenge, source: PoolSubmissionSource): ProduceSubmission {
  return async (input) => {
    const read = await source.read({ challenge: { ...challenge, poolRef: input.pool.dir }, pool: input.pool, rules: input.rules });
    return validateSubmission(read.raw, input.rules, { where: read.path, sha256: read.sha256, idIndex: input.idIndex });
  };
}

/**
 * A strategy file (.sql, .ts, .mjs, .js) as a ProduceSubmission: run it on the given pool
 * (src/strategy/runners.ts, the challenge's first model seed, default limits), then validate
 * its output exactly like a submission file with those ids.
 */
export function produceWithStrategy(
  challenge: Challenge,
  strategyPath: string,
  opts: { allowUnisolated?: boolean; limits?: Partial<StrategyLimits> } = {},
): ProduceSubmission {
  return async (input) => {
    const [{ runStrategy }, { strategyLimits }, { poolFindings }, { outputCsv }] = await Promise.all([
      import('../strategy/runners.ts'), import('../strategy/limits.ts'), import('../strategy/findings.ts'), import('../strategy/output.ts'),
    ]);
    const run = await runStrategy(strategyPath, {
      task: challenge.task,
      budget: input.rules.budget ?? input.train.n,
      seed: challenge.model.seeds[0],
      pool: input.pool,
      classNames: input.rules.classNames,
      findings: () => poolFindings(input.pool, { train: input.train }),
      limits: strategyLimits(opts.limits),
      allowUnisolated: opts.allowUnisolated,
    });
    const bytes = new TextEncoder().encode(outputCsv(run.output));
    const raw = await parseSubmissionBytes(bytes, 'csv', run.path);
    return validateSubmission(raw, input.rules, { where: `${run.path} (output)`, sha256: run.outputSha256, idIndex: input.idIndex });
  };
}
