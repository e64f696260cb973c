/**
 * Paired comparison of two results of one challenge on the same test rows: is the difference
 * between their primary metrics larger than test-row sampling explains?
 *
 * Both records store, per test part, the per-row facts their own bootstrap resamples
 * (evaluator/replay.ts). Pairing means each resample draws one set of test rows and scores
 * BOTH submissions on it (each metric averaged over its record's seeds, as the evaluator
 * does), so the row-to-row variation the two share cancels in the difference. The resamples
 * are the evaluator's own (evaluator/bootstrap.ts, the challenge's bootstrap seed and count),
 * the very draws each entry's interval came from: the result is deterministic.
 *
 * Reported: the difference a − b of the means and its 95% percentile interval (extended to
 * reach the estimate if the percentiles miss it, compute/stats.ts), and a two-sided p-value
 * for "no difference". Classification: a paired permutation test (approximate randomisation,
 * Noreen 1989): under "no difference" each test row's two predictions could have come from
 * either entry, so each draw exchanges them (every seed's) on a random subset of the D rows
 * where they differ, p = (1 + #{|d*| ≥ |d|}) / (B + 1); where 2^D ≤ B every exchange is
 * scored and p is the exact share (for accuracy, exact McNemar). The bootstrap's inverted
 * interval, p = 2(1 + #{d* beyond 0}) / (B + 1), is no test where few rows differ: with 4
 * rows, all one way, nearly every resample keeps one of them and p ≈ 0.04 on any number of
 * test rows (e^−4 of resamples miss all four), where the exact p is 2/16 = 0.125 (a stats
 * tryout: two 400-row submissions differing on 4 of 150 test rows were marked "below"). The
 * interval is still the bootstrap's, and can exclude 0 where the test does not reject.
 * Ranking records (curves over a global order, whose rows cannot be exchanged one by one)
 * keep the bootstrap p-value. Corrections for multiple comparisons (Holm) are the caller's:
 * a leaderboard compares many pairs.
 */
import { bootstrapInterval } from '../../compute/stats.ts';
import { allRows, forEachResample, swappablePair, type BootstrapSpec, type ClassificationReplay, type LayoutDescription, type Replay, type SeedScorer } from '../../evaluator/index.ts';
import { createRng } from '../../compute/rng.ts';
import type { ResultRecord } from './record.ts';
import { partScorer } from './rescore.ts';

/** What pairing reads of a record (its replays and how to score them), small enough to post to a worker. */
export type PairingRecord = Pick<ResultRecord, 'challenge' | 'primary' | 'replay' | 'test' | 'seeds' | 'created_at'> & {
  private: Pick<NonNullable<ResultRecord['private']>, 'replay' | 'public_mask'> | null;
  counts?: Pick<NonNullable<ResultRecord['counts']>, 'layout'> & { parts: Record<string, never> };
  curve?: Pick<NonNullable<ResultRecord['curve']>, 'k'>;
  ranking?: ResultRecord['ranking'];
};

export function pairingRecord(rec: ResultRecord): PairingRecord {
  const priv = rec.private && !('hidden' in rec.private) ? { replay: rec.private.replay, public_mask: rec.private.public_mask } : null;
  return {
    challenge: rec.challenge, primary: rec.primary, replay: rec.replay, test: rec.test, seeds: rec.seeds, created_at: rec.created_at, private: priv,
    ...(rec.counts ? { counts: { layout: rec.counts.layout, parts: {} } } : {}),
    ...(rec.curve ? { curve: { k: rec.curve.k } } : {}),
    ...(rec.ranking ? { ranking: rec.ranking } : {}),
  };
}

/** Resampled differences this close to 0 count as 0 (floating-point rounding, not evidence). */
const TIE = 1e-12;

/** How the p-value is found, by task: the permutation test where rows can be exchanged, else the bootstrap. */
export function pairedTest(task: string): 'permutation' | 'bootstrap' {
  return task === 'ranking' ? 'bootstrap' : 'permutation';
}

export interface PairedDifference {
  /** Mean of a's primary metric minus b's, on this part. */
  difference: number;
  ci95: [number, number];
  ci_extended?: true;
  /** Two-sided p-value of "no difference" (unadjusted): the permutation test's, or the bootstrap's for rankings. */
  p_value: number;
  samples: number;
  seed: number;
}

export type PairedOutcome = ({ comparable: true } & PairedDifference) | { comparable: false; reason: string };

/** One part's scorer of a record with the primary metric's index in it (decoded once, reused). */
export interface PartScorer {
  scorer: SeedScorer;
  rows: number;
  testIds: string;
  primary: number;
  first: readonly number[];
  /** Classification: the replay and layout a permutation test exchanges rows of (absent for curves). */
  classification?: { replay: ClassificationReplay; layout: LayoutDescription };
}

/** The scorer of `part` of a record for paired comparisons; a string says why there is none. */
export function pairedScorer(rec: ResultRecord | PairingRecord, part: 'public' | 'private'): PartScorer | string {
  if (part === 'private' && (!rec.private || 'hidden' in rec.private)) return 'the record holds no private scores';
  let built: { replay: Replay; scorer: SeedScorer };
  try {
    built = partScorer(rec as ResultRecord, part);
  } catch (err) {
    if (err instanceof RangeError) return `no replay of its ${part} test rows (${err.message})`;
    throw err;
  }
  const primary = built.scorer.names.indexOf(rec.primary.name);
  if (primary < 0) return `the replay does not score the primary metric ${rec.primary.name}`;
  const S = built.scorer.seeds;
  return {
    scorer: built.scorer,
    rows: built.replay.n,
    testIds: rec.replay!.test_ids_sha256,
    primary,
    first: built.scorer.firstIdentical ?? Array.from({ length: S }, (_, s) => s),
    ...(built.replay.kind === 'classification' ? { classification: { replay: built.replay, layout: rec.counts!.layout } } : {}),
  };
}

/** The primary metric averaged over seeds, under `weights` (null: every row once), seeds summed in order. */
function primaryOf(p: PartScorer, rows: Int32Array, weights: Int32Array | null, outs: (Float64Array | null)[]): number {
  const S = p.scorer.seeds;
  for (let s = 0; s < S; s++) if (p.first[s] === s) p.scorer.compute(s, rows, weights, outs[s]!);
  let acc = 0;
  for (let s = 0; s < S; s++) acc += outs[p.first[s]]![p.primary];
  return acc / S;
}

/** Compares a and b (scorers of the same part of two records) over the same resamples. */
export function pairedDifference(a: PartScorer, b: PartScorer, spec: BootstrapSpec): PairedOutcome {
  if (a.testIds !== b.testIds) return { comparable: false, reason: 'the two results were scored on different test rows (test ids differ)' };
  if (a.rows !== b.rows) return { comparable: false, reason: `the two results cover ${a.rows} and ${b.rows} rows of the part` };
  if (spec.samples < 1) return { comparable: false, reason: 'the challenge asks for no bootstrap resamples' };
  const rows = allRows(a.rows);
  const outsOf = (p: PartScorer) => Array.from({ length: p.scorer.seeds }, (_, s) => (p.first[s] === s ? new Float64Array(p.scorer.names.length) : null));
  const oa = outsOf(a), ob = outsOf(b);
  const difference = primaryOf(a, rows, null, oa) - primaryOf(b, rows, null, ob);
  if (!Number.isFinite(difference)) return { comparable: false, reason: 'the primary metric is not a number on this part' };
  const d = new Float64Array(spec.samples);
  let atOrBelow = 0, atOrAbove = 0;
  forEachResample(rows, a.rows, spec, (k, weights) => {
    const v = primaryOf(a, rows, weights, oa) - primaryOf(b, rows, weights, ob);
    d[k] = v;
    // Within TIE of 0 counts as 0: averaging over seeds leaves rounding noise on equal scores.
    if (v <= TIE) atOrBelow++;
    if (v >= -TIE) atOrAbove++;
  });
  // The far side of 0 from the estimate; an estimate of exactly 0 is no evidence either way.
  const far = difference > 0 ? atOrBelow : difference < 0 ? atOrAbove : spec.samples;
  const p = (a.classification && b.classification ? permutationP(a, b, difference, spec) : null) ?? Math.min(1, (2 * (1 + far)) / (spec.samples + 1));
  const iv = bootstrapInterval(d, difference, { method: 'percentile' });
  return {
    comparable: true,
    difference,
    ci95: [iv.low, iv.high],
    ...(iv.extended ? { ci_extended: true as const } : {}),
    p_value: p,
    samples: spec.samples,
    seed: spec.seed,
  };
}

/**
 * The paired permutation test's two-sided p-value (see the module comment): the two entries'
 * predictions exchanged on rows where they differ, every exchange (a Gray code: one row more
 * or less each step) when 2^D ≤ B, else B random subsets drawn with the bootstrap's seed.
 */
function permutationP(a: PartScorer, b: PartScorer, difference: number, spec: BootstrapSpec): number | null {
  let pair: ReturnType<typeof swappablePair>;
  try {
    pair = swappablePair(a.classification!.replay, b.classification!.replay, a.classification!.layout);
  } catch (err) {
    // Rows that cannot be exchanged (results of another seed list or group layout, scored on
    // the same test rows): the bootstrap's p-value, as for rankings.
    if (err instanceof RangeError) return null;
    throw err;
  }
  const D = pair.differing.length;
  // Equal predictions on every row: the same scores under any exchange.
  if (D === 0) return 1;
  const rows = allRows(a.rows), S = pair.first.length;
  const outs = pair.first.map((f, s) => (f === s ? new Float64Array(a.scorer.names.length) : null));
  const meanOf = (sc: SeedScorer) => {
    for (let s = 0; s < S; s++) if (pair.first[s] === s) sc.compute(s, rows, null, outs[s]!);
    let acc = 0;
    for (let s = 0; s < S; s++) acc += outs[pair.first[s]]![a.primary];
    return acc / S;
  };
  // At least as far from 0 as observed (within TIE: rounding of the seed average is no evidence).
  const bound = Math.abs(difference) - TIE;
  const atLeast = () => Math.abs(meanOf(pair.a) - meanOf(pair.b)) >= bound;
  if (D < 31 && 2 ** D <= spec.samples) {
    const total = 2 ** D;
    let count = atLeast() ? 1 : 0;
    const one = new Int32Array(1);
    for (let g = 1; g < total; g++) {
      one[0] = pair.differing[31 - Math.clz32(g & -g)];
      pair.swap(one);
      if (atLeast()) count++;
    }
    return count / total;
  }
  const rng = createRng(spec.seed);
  const chosen = new Int32Array(D);
  let count = 0;
  for (let k = 0; k < spec.samples; k++) {
    let m = 0;
    for (let j = 0; j < D; j += 32) {
      const bits = rng.nextU32();
      for (let t = 0; t < 32 && j + t < D; t++) if ((bits >>> t) & 1) chosen[m++] = pair.differing[j + t];
    }
    const sub = chosen.subarray(0, m);
    pair.swap(sub);
    if (atLeast()) count++;
    pair.swap(sub);
  }
  return (1 + count) / (spec.samples + 1);
}

/**
 * Holm's step-down adjustment of p-values (family-wise error rate): the i-th smallest of m is
 * multiplied by m − i + 1, then made non-decreasing and capped at 1. Nulls stay null.
 */
export function holmAdjust(p: (number | null)[]): (number | null)[] {
  const idx = p.map((v, i) => ({ v, i })).filter((x): x is { v: number; i: number } => x.v !== null).sort((x, y) => x.v - y.v || x.i - y.i);
  const m = idx.length;
  const out: (number | null)[] = p.map(() => null);
  let running = 0;
  idx.forEach(({ v, i }, r) => {
    running = Math.max(running, Math.min(1, (m - r) * v));
    out[i] = running;
  });
  return out;
}

/** One comparison for a worker thread (compute/pool.ts runPooled): two results by submission id, their pairing records. */
export interface PairJob {
  a: { id: string; record: PairingRecord };
  b: { id: string; record: PairingRecord };
  part: 'public' | 'private';
  spec: BootstrapSpec;
}

/** This thread's decoded scorers by submission and part (results never change; bounded). */
const scorers = new Map<string, PartScorer | string>();
const MAX_SCORERS = 1024;

function cachedScorer(x: PairJob['a'], part: 'public' | 'private'): PartScorer | string {
  // Keyed by submission (a stored result never changes), and by what its replay pins, should an id ever be reused.
  const key = `${x.id}\u0000${part}\u0000${x.record.created_at ?? ''}\u0000${x.record.replay?.test_ids_sha256 ?? 'no replay'}`;
  let s = scorers.get(key);
  if (s === undefined) {
    s = pairedScorer(x.record, part);
    if (scorers.size >= MAX_SCORERS) scorers.delete(scorers.keys().next().value!);
    scorers.set(key, s);
  }
  return s;
}

/** Runs one PairJob (in a pool worker, or on the calling thread). */
export function pairedJob(job: PairJob): PairedOutcome {
  const sa = cachedScorer(job.a, job.part), sb = cachedScorer(job.b, job.part);
  if (typeof sa === 'string') return { comparable: false, reason: `${job.a.id}: ${sa}` };
  if (typeof sb === 'string') return { comparable: false, reason: `${job.b.id}: ${sb}` };
  return pairedDifference(sa, sb, job.spec);
}
