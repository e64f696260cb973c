/**
 * Built-in baselines, scored exactly like submissions (same model, seeds, test partition and
 * bootstrap), so a participant knows what "doing nothing clever" is worth.
 *
 * selection  random          each model seed trains on its own random draw of budget rows, so
 *                            per_seed and std show the spread between draws
 *            class-balanced  the same with an equal number of rows per class (as far as each
 *                            class has rows)
 *            full-pool       every train row: over budget, shown for reference
 * relabel    no-corrections  the pool as it is
 *            random-corrections  budget random rows, each given a random other class (per seed)
 *            confident-learning  the rows confident learning flags (5-fold out-of-sample
 *                            probabilities from the challenge model), lowest normalised margin
 *                            first, up to the budget, each set to its most probable class
 * ranking    random-order    a seeded random permutation of every train row
 *            self-confidence rows by ascending out-of-sample probability of their own label
 *                            (5-fold cross-validation with the challenge model)
 *
 * Each baseline is a rule, not a list of ids, so on a challenge with hidden variants it is
 * re-run on every variant too (src/evaluate/variants.ts): its generalisation score.
 *
 * Next to them, every strategy of the built-in library (strategies/, src/strategy/library.ts)
 * that applies to the challenge's task is scored the way `sieve evaluate CHALLENGE FILE`
 * scores a user's copy of it: the same strategy source, runners and sandbox, validation,
 * scoring and variant re-runs. Their audit findings are computed once per pool (the public
 * pool and each variant: src/strategy/findings.ts caches them by content hash) and shared.
 */
import { applyCorrections, type MetricSummary, type ModelSpec } from '../../evaluator/index.ts';
import { scorePredictions, type SeedFit } from '../../evaluator/protocols/common.ts';
import { gatherRows } from '../../compute/rows.ts';
import { expectedWork, MIN_PARALLEL_WORK } from '../../evaluator/protocols/jobs.ts';
import { runFits, type FitJob } from '../../evaluator/parallel.ts';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { BASELINES } from '../challenge/schema.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { preparedFeatures, type EvalContext } from './context.ts';
import { selfConfidenceOrder } from './oos.ts';
import { kFoldProba } from '../../evaluator/oos.ts';
import { primaryMean, type FitSummary, type Metrics } from './record.ts';
import { convergenceNote, type ConvergenceNote } from './convergence.ts';
import { bootstrapOf, modelSpecOf, scoreSubmission, type Scored } from './runner.ts';
import { findLabelIssues, normalizedMargin, argmaxRow } from '../analysers/confident-learning.ts';
import { loadVariants, produceFromSource, scoreOnVariants, strategyGeneralisation, type Generalisation, type LoadedVariant } from './variants.ts';
import { validateSubmission } from '../submission/index.ts';
import type { StrategyReadSubmission } from '../submission/sources/strategy.ts';
import { applicableStrategies, libraryEntry, libraryKind, libraryPath, librarySummary, libraryText, type LibraryEntry } from '../strategy/library.ts';

export interface BaselineResult {
  name: string;
  description: string;
  /** Rows trained on / corrections / ranked ids. */
  rows: number;
  /** True when the baseline exceeds the challenge budget (shown for reference only). */
  over_budget: boolean;
  primary: { name: string; direction: 'max' | 'min'; mean: number | null };
  /** Public part. */
  metrics: Metrics;
  private: { metrics: Metrics; primary_mean: number | null } | null;
  curve?: Scored['curve'];
  ranking?: Scored['ranking'];
  /** Model seeds actually used (the challenge's unless overridden). */
  seeds: number[];
  seconds: number;
  /** The same baseline re-run on each hidden variant of the challenge (when it has any). */
  generalisation?: Generalisation;
  /** Set for a built-in library strategy: which file, and the hashes a record would hold. */
  strategy?: { file: string; kind: 'sql' | 'ts'; path: string; sha256: string; output_sha256: string; seed: number };
  /** Why a library strategy has no score (it failed on the challenge's own pool). */
  error?: string;
  /** Present when the fixed model stopped at its iteration limit on most of this baseline's fits. */
  convergence?: ConvergenceNote;
}

export const BASELINE_DESCRIPTIONS: Record<string, string> = {
  random: 'uniform random rows within the budget, a fresh draw per model seed',
  'class-balanced': 'random rows, equal count per class, a fresh draw per model seed',
  'full-pool': 'every train row (over budget: reference only)',
  'no-corrections': 'the pool labels as they are',
  'random-corrections': 'budget random rows, each set to a random other class',
  'confident-learning': "confident learning's label issues (5-fold CV), lowest normalised margin first, set to the most probable class",
  'random-order': 'a seeded random order of every train row',
  'self-confidence': 'ascending out-of-sample probability of the given label (5-fold CV)',
};

/** `budget` distinct rows drawn uniformly (seeded), ascending. */
export function randomRows(n: number, budget: number, seed: number): Int32Array {
  const perm = createRng(seed).permutation(n);
  return perm.slice(0, Math.min(budget, n)).sort();
}

/**
 * `budget` rows with classes as equal as the pool allows: each class gets floor(budget / k),
 * classes too small give all they have, and the rest goes to a seeded random order of classes.
 */
export function classBalancedRows(y: Int32Array, k: number, budget: number, seed: number): Int32Array {
  const rng = createRng(seed);
  const byClass: Int32Array[] = [];
  for (let c = 0; c < k; c++) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === c) rows.push(i);
    byClass.push(rng.shuffle(Int32Array.from(rows)));
  }
  const take = new Int32Array(k);
  let left = Math.min(budget, y.length);
  // Water-filling: repeatedly share what is left equally among classes that still have rows.
  for (;;) {
    const open = [...Array(k).keys()].filter((c) => take[c] < byClass[c].length);
    if (!left || !open.length) break;
    const share = Math.floor(left / open.length);
    if (share === 0) {
      rng.shuffle(open);
      for (let j = 0; j < left; j++) take[open[j]]++;
      break;
    }
    for (const c of open) {
      const add = Math.min(share, byClass[c].length - take[c]);
      take[c] += add;
      left -= add;
    }
  }
  const out: number[] = [];
  for (let c = 0; c < k; c++) for (let j = 0; j < take[c]; j++) out.push(byClass[c][j]);
  return Int32Array.from(out).sort();
}

/** Scores per-seed training sets (one per model seed) as one entry with intervals. */
async function scorePerSeedTrainSets(
  ctx: EvalContext,
  spec: ModelSpec,
  trainFor: (seed: number) => { rows: Int32Array; labels: Int32Array },
  opts: { bootstrapSamples?: number; progress?: Progress },
): Promise<{ metrics: Metrics; privateMetrics: Metrics; rows: number; fits: FitSummary; perSeedRows: true }> {
  const pool = ctx.poolInput, test = ctx.testInput;
  const features = preparedFeatures(ctx, spec);
  let rows = 0;
  const jobs: FitJob[] = spec.seeds.map((seed) => {
    const { rows: r, labels } = trainFor(seed);
    rows = r.length;
    const train = { X: gatherRows(features.Xpool, features.d, r), n: r.length, d: features.d, y: gatherRows(labels, 1, r), k: pool.k };
    return { kind: spec.kind, params: spec.params, train, evals: [{ X: features.Xtest, n: test.n }], seed };
  });
  // Worker threads only when the fits repay starting them (as the evaluator decides for seeds).
  const work = expectedWork(rows, features.d, pool.k, jobs.length);
  opts.progress?.start(jobs.length, 'fitting');
  const results = await runFits(jobs, { threads: work >= MIN_PARALLEL_WORK ? undefined : 1, onDone: () => opts.progress?.tick() });
  opts.progress?.stop();
  const fits: SeedFit[] = results.map((r, i) => ({ seed: spec.seeds[i], proba: r.proba[0], iterations: r.iterations, seconds: r.fitSeconds }));
  const parts: Record<string, Int32Array> = { public: ctx.partition.public };
  if (ctx.partition.private.length) parts.private = ctx.partition.private;
  const { parts: scored } = await scorePredictions(fits, pool, test, {
    bootstrap: bootstrapOf(ctx.challenge, opts.bootstrapSamples),
    parts,
    positiveClass: ctx.positiveClass,
  });
  return { metrics: scored.public, privateMetrics: scored.private ?? {}, rows, fits: fits.map(({ seed, iterations, seconds }) => ({ seed, iterations, seconds })), perSeedRows: true };
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Runs one named baseline against a loaded context. */
export async function runBaseline(
  ctx: EvalContext,
  name: string,
  opts: { bootstrapSamples?: number; progress?: Progress; seeds?: number[] } = {},
): Promise<BaselineResult> {
  const t0 = performance.now();
  const { challenge } = ctx;
  // `seeds` (a subset of the challenge's) is for quick looks such as the demo; it is reported.
  const spec = { ...modelSpecOf(challenge), ...(opts.seeds ? { seeds: [...opts.seeds] } : {}) };
  const n = ctx.train.n, k = ctx.poolInput.k, y = ctx.train.labels;
  const budget = ctx.rules.budget ?? n;
  let metrics: Metrics, privateMetrics: Metrics, rows: number, fits: FitSummary;
  let perSeedRows = false;
  let extra: Pick<BaselineResult, 'curve' | 'ranking'> = {};
  const score = (sub: Parameters<typeof scoreSubmission>[1]) =>
    scoreSubmission(ctx, sub, { bootstrapSamples: opts.bootstrapSamples, progress: opts.progress, spec });

  switch (`${challenge.task}:${name}`) {
    case 'selection:random':
      ({ metrics, privateMetrics, rows, fits, perSeedRows } = await scorePerSeedTrainSets(
        ctx, spec, (seed) => ({ rows: randomRows(n, budget, deriveSeed(seed, 'baseline', 'random')), labels: y }), opts,
      ));
      break;
    case 'selection:class-balanced':
      ({ metrics, privateMetrics, rows, fits, perSeedRows } = await scorePerSeedTrainSets(
        ctx, spec, (seed) => ({ rows: classBalancedRows(y, k, budget, deriveSeed(seed, 'baseline', 'class-balanced')), labels: y }), opts,
      ));
      break;
    case 'selection:full-pool': {
      const s = await score({ task: 'selection', indices: allRows(n) });
      ({ metrics, privateMetrics, fits } = s);
      rows = n;
      break;
    }
    case 'relabel:no-corrections': {
      const s = await score({ task: 'relabel', indices: new Int32Array(0), labels: new Int32Array(0) });
      ({ metrics, privateMetrics, fits } = s);
      rows = 0;
      break;
    }
    case 'relabel:random-corrections':
      ({ metrics, privateMetrics, rows, fits, perSeedRows } = await scorePerSeedTrainSets(
        ctx, spec, (seed) => {
          const rng = createRng(deriveSeed(seed, 'baseline', 'random-corrections'));
          const picked = rng.permutation(n).slice(0, Math.min(budget, n));
          const labels = new Int32Array(picked.length);
          for (let j = 0; j < picked.length; j++) labels[j] = (y[picked[j]] + 1 + rng.int(k - 1)) % k;
          const fixed = applyCorrections(y, k, { rows: picked, labels }).labels;
          return { rows: allRows(n), labels: fixed };
        }, opts,
      ));
      rows = Math.min(budget, n);
      break;
    case 'relabel:confident-learning': {
      const features = preparedFeatures(ctx, spec);
      // As for self-confidence: preprocessing is fitted on the whole pool without labels.
      const proba = await kFoldProba({ X: features.Xpool, n, d: features.d, y, k }, spec, { folds: 5, seed: spec.seeds[0], threads: 1 });
      const corrections = confidentCorrections(proba, y, k, budget);
      const s = await score({ task: 'relabel', indices: corrections.rows, labels: corrections.labels });
      ({ metrics, privateMetrics, fits } = s);
      rows = corrections.rows.length;
      break;
    }
    case 'ranking:random-order':
    case 'ranking:self-confidence': {
      let order: Int32Array;
      if (name === 'random-order') {
        order = createRng(deriveSeed(spec.seeds[0], 'baseline', 'random-order')).permutation(n);
      } else {
        const features = preparedFeatures(ctx, spec);
        // Features are already preprocessed (the evaluator fits the preprocessing on the whole
        // pool, labels unseen, so doing the same here leaks nothing).
        const data = { X: features.Xpool, n, d: features.d, y, k };
        const proba = await kFoldProba(data, spec, { folds: 5, seed: spec.seeds[0], threads: 1 });
        order = selfConfidenceOrder(proba, y, k);
      }
      order = order.slice(0, Math.min(budget, n));
      const s = await score({ task: 'ranking', indices: order });
      ({ metrics, privateMetrics, fits } = s);
      extra = { curve: s.curve, ranking: s.ranking };
      rows = order.length;
      break;
    }
    default:
      throw new SieveError(`no baseline "${name}" for ${challenge.task} challenges`, {
        where: 'baselines',
        examples: [...BASELINES[challenge.task]],
      });
  }
  const primary = challenge.metrics.primary;
  const convergence = convergenceNote(spec, fits, { perSeedRows });
  return {
    name,
    description: BASELINE_DESCRIPTIONS[name],
    rows,
    over_budget: ctx.rules.budget !== undefined && rows > ctx.rules.budget,
    primary: { name: primary, direction: challenge.metrics.direction, mean: primaryMean(metrics, primary) },
    metrics,
    private: ctx.partition.private.length ? { metrics: privateMetrics, primary_mean: primaryMean(privateMetrics, primary) } : null,
    ...extra,
    seeds: [...spec.seeds],
    seconds: (performance.now() - t0) / 1000,
    ...(convergence ? { convergence } : {}),
  };
}

/**
 * Confident learning's suggested corrections: the rows it flags as label issues, lowest
 * normalised margin (cleanlab's default ranking) first, at most `budget`, each to its most
 * probable class under the out-of-sample probabilities.
 */
export function confidentCorrections(proba: Float32Array, y: Int32Array, k: number, budget: number): { rows: Int32Array; labels: Int32Array } {
  const lp = { labels: y, proba, n: y.length, k };
  const mask = findLabelIssues(lp);
  const margin = normalizedMargin(lp);
  const flagged: number[] = [];
  for (let i = 0; i < y.length; i++) if (mask[i]) flagged.push(i);
  flagged.sort((a, b) => margin[a] - margin[b] || a - b);
  const rows = Int32Array.from(flagged.slice(0, budget));
  return { rows, labels: Int32Array.from(rows, (i) => argmaxRow(proba, i, k)) };
}

/**
 * A built-in library strategy scored like a user's copy of its file: run on the challenge's
 * pool through the strategy source (its sandbox for code), validated, scored, then re-run on
 * each loaded variant. A failure on the public pool (a SieveError) is the row's `error`.
 */
export async function runLibraryStrategy(
  ctx: EvalContext,
  entry: LibraryEntry,
  opts: { bootstrapSamples?: number; progress?: Progress; loaded?: LoadedVariant[]; allowUnisolated?: boolean } = {},
): Promise<BaselineResult> {
  const t0 = performance.now();
  const { challenge } = ctx;
  const primary = challenge.metrics.primary;
  const { strategySource } = await import('../submission/sources/strategy.ts');
  const source = strategySource(libraryPath(entry), { allowUnisolated: opts.allowUnisolated, progress: opts.progress });
  const base = {
    name: entry.name,
    description: librarySummary(libraryText(entry)),
    over_budget: false,
    seeds: [...challenge.model.seeds],
  };
  let read: StrategyReadSubmission, scored: Scored;
  try {
    read = (await source.read({ challenge, pool: ctx.pool, rules: ctx.rules })) as StrategyReadSubmission;
    const sub = validateSubmission(read.raw, ctx.rules, { where: read.path, sha256: read.sha256, idIndex: ctx.idIndex });
    scored = await scoreSubmission(ctx, sub, { bootstrapSamples: opts.bootstrapSamples, progress: opts.progress });
  } catch (err) {
    if (!(err instanceof SieveError)) throw err;
    return {
      ...base, rows: 0, primary: { name: primary, direction: challenge.metrics.direction, mean: null }, metrics: {}, private: null,
      seconds: (performance.now() - t0) / 1000, error: err.message,
    };
  }
  const mean = primaryMean(scored.metrics, primary);
  const generalisation = opts.loaded
    ? await strategyGeneralisation(challenge, produceFromSource(challenge, source), mean, { loaded: opts.loaded, bootstrapSamples: opts.bootstrapSamples, progress: opts.progress })
    : null;
  return {
    ...base,
    rows: read.raw.ids.length,
    primary: { name: primary, direction: challenge.metrics.direction, mean },
    metrics: scored.metrics,
    private: ctx.partition.private.length ? { metrics: scored.privateMetrics, primary_mean: primaryMean(scored.privateMetrics, primary) } : null,
    ...(scored.curve ? { curve: scored.curve, ranking: scored.ranking } : {}),
    seconds: (performance.now() - t0) / 1000,
    ...(generalisation ? { generalisation } : {}),
    strategy: {
      file: entry.file, kind: libraryKind(entry), path: read.strategy.path, sha256: read.strategy.sha256,
      output_sha256: read.strategy.output_sha256, seed: read.strategy.seed,
    },
  };
}

/**
 * What `names` (--only) picks: baselines by name, library strategies by name; without names,
 * the challenge's baselines and (unless `strategies` is false) every library strategy that
 * applies to its task and pool.
 */
export function baselinePlan(ctx: EvalContext, names: string[] | undefined, strategies = true): { baselines: string[]; strategies: LibraryEntry[] } {
  const applicable = applicableStrategies(ctx.challenge.task, ctx.pool.manifest.groups.length);
  if (!names) return { baselines: [...ctx.challenge.baselines], strategies: strategies ? applicable : [] };
  const picked: LibraryEntry[] = [];
  const baselines: string[] = [];
  for (const name of names) {
    const entry = libraryEntry(name);
    if (!entry) {
      // Refused before anything is scored, naming what this challenge's task can run.
      if (!BASELINES[ctx.challenge.task].includes(name)) {
        throw new SieveError(
          `no baseline or built-in strategy "${name}" for ${ctx.challenge.name}; a ${ctx.challenge.task} challenge's baselines are ${BASELINES[ctx.challenge.task].join(', ')}, `
          + `and the built-in strategies that apply to it ${applicable.map((e) => e.name).join(', ') || 'none'}`,
          { where: '--only', examples: [name] },
        );
      }
      baselines.push(name);
      continue;
    }
    if (!applicable.includes(entry)) {
      throw new SieveError(`the built-in strategy "${name}" does not apply to ${ctx.challenge.name}`, {
        where: 'baselines',
        examples: [
          `${name} applies to ${entry.tasks.join(', ')} challenges${entry.needs ? ` whose pool has ${entry.needs}` : ''}; ${ctx.challenge.name} is a ${ctx.challenge.task} challenge`,
          `strategies that apply: ${applicable.map((e) => e.name).join(', ') || 'none'}`,
        ],
      });
    }
    picked.push(entry);
  }
  return { baselines, strategies: picked };
}

/** Every baseline the challenge lists (or `names`), in that order, then the library strategies that apply. */
export async function runBaselines(
  ctx: EvalContext,
  opts: {
    names?: string[];
    bootstrapSamples?: number;
    progress?: Progress;
    onResult?: (r: BaselineResult) => void;
    /** Per-baseline seed override, e.g. { 'full-pool': [0] }. */
    seeds?: Record<string, number[]>;
    /** Re-run each baseline on the challenge's hidden variants (default true when it has any). */
    variants?: boolean;
    /** Score the library strategies that apply (default true; `names` picks them by name too). */
    strategies?: boolean;
    /** Code strategies: run even where the network cannot be isolated (--allow-network-unsandboxed). */
    allowUnisolated?: boolean;
  } = {},
): Promise<BaselineResult[]> {
  const plan = baselinePlan(ctx, opts.names, opts.strategies);
  const names = plan.baselines;
  if (!names.length && !plan.strategies.length) throw new SieveError(`challenge ${ctx.challenge.name} lists no baselines`, { where: ctx.challenge.specPath });
  // Variant contexts are loaded once and shared by every baseline.
  let loaded: LoadedVariant[] | undefined;
  if (opts.variants !== false && ctx.challenge.variants) loaded = await loadVariants(ctx.challenge, { progress: opts.progress });
  const out: BaselineResult[] = [];
  for (const name of names) {
    const run = (c: EvalContext) => runBaseline(c, name, { bootstrapSamples: opts.bootstrapSamples, progress: opts.progress, seeds: opts.seeds?.[name] });
    const r = await run(ctx);
    if (loaded) {
      const g = await scoreOnVariants(ctx.challenge, async (vctx) => (await run(vctx)).primary.mean, r.primary.mean, { loaded, progress: opts.progress });
      if (g) r.generalisation = g;
    }
    opts.onResult?.(r);
    out.push(r);
  }
  for (const entry of plan.strategies) {
    const r = await runLibraryStrategy(ctx, entry, { bootstrapSamples: opts.bootstrapSamples, progress: opts.progress, loaded, allowUnisolated: opts.allowUnisolated });
    opts.onResult?.(r);
    out.push(r);
  }
  return out;
}

export { leaderboardOrder } from './format.ts';
export type { MetricSummary };
