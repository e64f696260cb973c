/**
 * The result record: everything needed to trust a score and to re-run it. Stored as JSON
 * (`--out`, the leaderboard), compared field by field by `sieve verify`.
 *
 * Private scores are always computed and stored; `publicView` hides them while the challenge
 * is open (the CLI's output and, later, the server's API go through it).
 */
import type { MetricSummary } from '../../evaluator/aggregate.ts';
import type { LayoutDescription, MetricTallies } from '../../evaluator/metrics.ts';
import type { CurveCounts } from '../../evaluator/protocols/ranking.ts';
import type { ReplayJson } from '../../evaluator/replay.ts';
import type { ModelSpec } from '../../evaluator/types.ts';
import { isClosed } from '../challenge/load.ts';
import type { StrategyProvenance } from '../submission/sources/strategy.ts';
import type { SubmissionFormat } from '../submission/types.ts';
import type { TaskName } from '../tasks/types.ts';
import type { SystemFigures } from './system.ts';
import type { Generalisation } from './variants.ts';
import type { ConvergenceNote } from './convergence.ts';

export const RESULT_FORMAT = 'sieve-result/1';

export type Metrics = Record<string, MetricSummary>;

/** Ranking: test accuracy (every test row, mean over curve seeds) after k fixes. */
export interface RankingCurve {
  k: number[];
  /** k / pool rows. */
  fraction: number[];
  accuracy: number[];
  per_seed?: number[][];
  /**
   * Per test part (`all`, `public`, `private`) and curve seed: test rows, rows right at each
   * point and rows the clean-pool model gets right. Every ranking figure of that part is a
   * function of these (`sieve verify --rescore` recomputes them).
   */
  parts: Record<string, CurveCounts[]>;
}

/**
 * Selection / relabel: per test part (`all`, `public`, `private`) and seed, the counts every
 * classification metric is computed from (confusion matrix, log-loss sum, calibration bins,
 * group tallies), with the layout that names them.
 */
export interface MetricCounts {
  layout: LayoutDescription;
  parts: Record<string, MetricTallies[]>;
}

/**
 * What the bootstrap of one test part resamples, per row (evaluator/replay.ts), so that
 * `sieve verify --rescore` recomputes every interval without refits. The rows are the part's
 * test rows in ascending test-row order; `test_ids_sha256` (sha256 of the test split's ids,
 * one per line, in test-row order) pins that order to the pool's test split.
 */
export type RecordReplay = ReplayJson & { test_ids_sha256: string };

/** Ranking: how long the ranking was and how many planted errors it reached. */
export interface RankingSummary {
  rows: number;
  pool_rows: number;
  noisy_rows: number;
  noisy_fixed: number;
  step: number;
  segments: number;
}

/** Fits run: one per seed (selection, relabel) or the count of curve fits (ranking). */
export type FitSummary =
  | { seed: number; iterations: number; seconds: number }[]
  | { cold: number; warm: number; grid_points: number; seconds: number };

export interface SubsetSummary {
  rows: number;
  /** Class name → rows (selection: the subset's labels; relabel: the corrections' new labels). */
  class_counts: Record<string, number>;
  /** Group column → value → rows, over the submitted train rows (missing as "<missing>"). */
  group_counts: Record<string, Record<string, number>>;
  /** relabel: corrections that changed a label (the rest restate the pool's label). */
  changed?: number;
}

export interface ResultRecord {
  format: typeof RESULT_FORMAT;
  challenge: {
    name: string;
    version: number;
    task: TaskName;
    /** Built-in name, or absolute path of the challenge.yaml. */
    ref: string;
    spec_sha256: string;
    closes: string | null;
    /** The challenge's metrics.report list: what tables show next to the primary metric. */
    report: string[];
    /** The challenge's scoring rule set (metrics.rules): `sieve` or `dataperf`. */
    rules?: string;
  };
  pool: { name: string; ref: string; content_hash: string };
  /**
   * What was scored. For a strategy: its output as a submission CSV (sha256, bytes of that
   * CSV), and `path` is the strategy file.
   */
  submission: { sha256: string; format: SubmissionFormat; rows: number; bytes: number; path: string };
  /** Set when a strategy produced the submission: its kind, file, sha256, output sha256 and seed. */
  strategy?: StrategyProvenance;
  /** `log_loss`: the log-loss convention (evaluator/metrics.ts LOG_LOSS_CONVENTION). */
  evaluator: { version: string; log_loss?: string };
  /** code_sha256: src/util/code-hash.ts of the code that ran (absent from older records). */
  /** git_commit: the clone's commit when sieve ran from one (src/util/code-hash.ts gitCommit). */
  sieve: { version: string; code_sha256?: string; git_commit?: string };
  model: ModelSpec;
  seeds: number[];
  bootstrap: { samples: number; seed: number };
  test: { rows: number; public_rows: number; private_rows: number; public_fraction: number; seed: number };
  primary: { name: string; direction: 'max' | 'min'; mean: number | null };
  /** Metrics on the public part of the test rows. */
  metrics: Metrics;
  /**
   * Metrics on the private part and on every test row; hidden by publicView while open. With
   * the private part's replay and which test rows are public (packed bits, test-row order),
   * from which the all-rows replay is interleaved.
   */
  private: {
    metrics: Metrics;
    all_metrics: Metrics;
    primary_mean: number | null;
    replay?: RecordReplay;
    public_mask?: string;
  } | null;
  /** Ranking: accuracy after k fixes over every test row (the curve's area etc. are in metrics). */
  curve?: RankingCurve;
  ranking?: RankingSummary;
  /** Selection / relabel: what every metric is computed from (re-scoring without refits). */
  counts?: MetricCounts;
  /** What the public part's bootstrap resamples (absent from records written before replays were stored). */
  replay?: RecordReplay;
  subset: SubsetSummary;
  /**
   * The challenge's hidden variants (src/evaluate/variants.ts): a strategy's per-variant
   * scores, mean, interval and gap; for a file of ids only a note that it was not re-run.
   */
  generalisation?: Generalisation | { note: string };
  fits: FitSummary;
  /** Present when the fixed model stopped at its iteration limit on most fits (src/evaluate/convergence.ts). */
  convergence?: ConvergenceNote;
  system: SystemFigures;
  created_at: string;
}

/**
 * What a participant may see of a record while private scores must stay hidden: `private`
 * replaced by a marker, the counts and curve counts of the public part only (the `all` part
 * holds the private rows too), and the curve's accuracy over the public rows.
 */
export type PublicRecord = Omit<ResultRecord, 'private'> & {
  private: ResultRecord['private'] | { hidden: true; until: string | null };
  /** Set in an entrant's copy from a server, which keeps the per-row replays (they hold the test rows' labels). */
  replay_withheld?: string;
  /** Set in an entrant's copy of a ranking record while the challenge is open (ranking.noisy_fixed and the fit counts withheld). */
  ranking_withheld?: string;
};

// Records of this evaluator major version on always store their replays (they arrived while
// 2.0.0 was current): one of these without them has had them removed.
const REPLAYS_FROM_MAJOR = 3;

/**
 * Why a record has no replay, for verify's notes: an entrant's copy from a server, or a record
 * from before replays; null when the record should have them (they were removed).
 */
export function missingReplayReason(rec: { replay_withheld?: string; evaluator?: { version?: string } }): string | null {
  if (rec.replay_withheld)
    return `this is an entrant's copy of a server's record, which keeps the per-row replays (${rec.replay_withheld}); the organiser's copy has them`;
  const major = Number(String(rec.evaluator?.version ?? '').split('.')[0]);
  if (Number.isInteger(major) && major >= REPLAYS_FROM_MAJOR) return null;
  return `an older record (evaluator ${rec.evaluator?.version ?? '?'}), written before records stored replays`;
}

/** True when private scores may be shown: the challenge has closed, or the caller insists. */
export function privateVisible(record: Pick<ResultRecord, 'challenge'>, opts: { showPrivate?: boolean; now?: Date } = {}): boolean {
  return opts.showPrivate === true || isClosed({ closes: record.challenge.closes ?? undefined }, opts.now);
}

/** The test part every participant may see; every other part holds private rows. */
export const PUBLIC_PART = 'public';

/**
 * The participant-visible view of a record: the record itself once private scores may be
 * shown (closed, or `showPrivate`), else one with no figure of the private test rows in it
 * (no private metrics, no private or all-rows counts, the curve over the public rows). The
 * CLI's output and the server's API show records only through it.
 */
export function publicView(record: ResultRecord, opts: { showPrivate?: boolean; now?: Date } = {}): PublicRecord {
  if (record.private === null || privateVisible(record, opts)) return record;
  const view: PublicRecord = { ...record, private: { hidden: true, until: record.challenge.closes } };
  if (record.counts) view.counts = { ...record.counts, parts: pick(record.counts.parts) };
  if (record.curve) {
    const { per_seed: _perSeed, ...curve } = record.curve;
    const seeds = record.curve.parts[PUBLIC_PART] ?? [];
    // The same arithmetic as the record's own all-rows curve: per seed right / rows, then the mean over seeds.
    const perSeed = seeds.map((c) => c.correct.map((r) => r / c.rows));
    view.curve = {
      ...curve,
      accuracy: perSeed.length ? perSeed[0].map((_, p) => perSeed.reduce((sum, a) => sum + a[p], 0) / perSeed.length) : [],
      ...(perSeed.length > 1 ? { per_seed: perSeed } : {}),
      parts: pick(record.curve.parts),
    };
  }
  return view;
}

/** Fractions of the pool at which an open challenge's entrants see their ranking curve. */
export const COARSE_CURVE_FRACTIONS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

/**
 * A ranking curve cut to its grid points nearest below each of COARSE_CURVE_FRACTIONS (the
 * first and last point always kept). The full curve has a point after every fix: where its
 * accuracy moves between consecutive points, the row fixed there was mislabelled, so one
 * submission in a random order would name the planted errors. The coarse points depend only on
 * the challenge's grid (pool rows and step), the same for every entrant, and tell at most how
 * much a tenth of the ranking helped.
 */
export function coarseCurve(curve: RankingCurve): RankingCurve {
  const n = curve.fraction.length;
  if (n === 0) return curve;
  const keep = new Set<number>([0, n - 1]);
  for (const f of COARSE_CURVE_FRACTIONS) {
    let best = 0;
    for (let i = 0; i < n; i++) if (curve.fraction[i] <= f + 1e-12) best = i;
    keep.add(best);
  }
  const idx = [...keep].sort((a, b) => a - b);
  const at = <T>(xs: readonly T[]) => idx.map((i) => xs[i]);
  return {
    k: at(curve.k),
    fraction: at(curve.fraction),
    accuracy: at(curve.accuracy),
    ...(curve.per_seed ? { per_seed: curve.per_seed.map(at) } : {}),
    parts: Object.fromEntries(Object.entries(curve.parts).map(([part, seeds]) => [part, seeds.map((c) => ({ ...c, correct: at(c.correct) }))])),
  };
}

function pick<T>(parts: Record<string, T>): Record<string, T> {
  return PUBLIC_PART in parts ? { [PUBLIC_PART]: parts[PUBLIC_PART] } : {};
}

/** The primary metric's mean from a metric map (null when absent or not finite). */
export function primaryMean(metrics: Metrics, name: string): number | null {
  const m = metrics[name];
  return m && Number.isFinite(m.mean) ? m.mean : null;
}
