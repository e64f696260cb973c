/**
 * A challenge's leaderboard: one row per participant, their best submission on the public
 * part (direction-aware), with the primary metric's 95% interval, the challenge's leaderboard
 * columns, and significance marks from paired tests over the same test rows (src/evaluate/paired.ts):
 *
 * - each entry against the leader and against the entry right above it, on the same test
 *   rows and the same resamples (the challenge's bootstrap seed and count);
 * - two-sided tests of "no difference" at family-wise level 0.05, Holm-corrected over the
 *   N − 1 comparisons of each kind; an entry whose adjusted p-value is ≥ 0.05 is marked as
 *   not significantly different from the leader (`tied_with_leader`);
 * - two results that cannot be paired (scored on different test rows, or stored without the
 *   rows' replay) are marked `comparable: false` with the reason, never silently tied.
 *
 * Private figures only once the challenge has closed: then each row also has its private mean
 * and interval, private rank, its move from the public rank, and the same marks on the
 * private part against the private leader.
 *
 * Comparisons are cached by submission pair and part (results never change once written), so
 * a read after a new result costs that result's comparisons only.
 */
import type { BootstrapSpec } from '../../evaluator/index.ts';
import { isClosed } from '../challenge/load.ts';
import type { Challenge } from '../challenge/schema.ts';
import { leaderboardColumns, leaderboardOrder } from '../evaluate/format.ts';
import { runPooled } from '../../compute/pool.ts';
import { holmAdjust, pairedJob, pairedTest, pairingRecord, type PairedOutcome, type PairJob } from '../evaluate/paired.ts';
import { privateVisible, type ResultRecord } from '../evaluate/record.ts';

export const SIGNIFICANCE_LEVEL = 0.05;

type Part = 'public' | 'private';

/**
 * Paired comparisons with a bounded cache (keyed by immutable results), computed off the
 * request thread: the missing pairs of a read go to one worker thread of compute/pool.ts in
 * one batch, and a pair already being computed for another read is awaited, not redone.
 * `threads: 0` computes on the calling thread (tests of the arithmetic alone).
 */
export class Significance {
  private done = new Map<string, PairedOutcome>();
  private inFlight = new Map<string, Promise<PairedOutcome>>();
  constructor(private readonly opts: { threads?: number; max?: number } = {}) {}

  private static key(job: PairJob): string {
    return `${job.a.id}\u0000${job.b.id}\u0000${job.part}\u0000${job.spec.samples}\u0000${job.spec.seed}`;
  }

  async outcomes(jobs: PairJob[]): Promise<PairedOutcome[]> {
    const keys = jobs.map(Significance.key);
    const fresh: { key: string; job: PairJob }[] = [];
    const seen = new Set<string>();
    keys.forEach((key, i) => {
      if (this.done.has(key) || this.inFlight.has(key) || seen.has(key)) return;
      seen.add(key);
      fresh.push({ key, job: jobs[i] });
    });
    if (fresh.length) {
      const batch = (this.opts.threads ?? 1) > 0
        ? runPooled<PairJob, PairedOutcome>({ module: PAIRED_MODULE, fn: 'pairedJob', jobs: fresh.map((f) => f.job), workers: this.opts.threads ?? 1 })
        : Promise.resolve().then(() => fresh.map((f) => pairedJob(f.job)));
      fresh.forEach((f, i) => {
        const p = batch.then((all) => {
          this.remember(f.key, all[i]);
          return all[i];
        });
        p.catch(() => undefined);
        this.inFlight.set(f.key, p);
        void p.finally(() => this.inFlight.delete(f.key)).catch(() => undefined);
      });
    }
    return Promise.all(keys.map((k) => this.done.get(k) ?? this.inFlight.get(k)!));
  }

  private remember(key: string, o: PairedOutcome): void {
    if (this.done.size >= (this.opts.max ?? 8192)) this.done.delete(this.done.keys().next().value!);
    this.done.set(key, o);
  }
}

/** src/evaluate/paired.ts, compiled or not (the pool's worker imports it by URL). */
const PAIRED_MODULE = new URL(`../evaluate/paired.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

export interface Comparison {
  /** Against whom: the leader's or the entry above's submission. */
  against: string;
  comparable: boolean;
  /** This entry's primary mean minus the other's. */
  difference?: number;
  ci95?: [number, number];
  ci_extended?: true;
  p_value?: number;
  /** Holm-adjusted p-value (over the comparisons of this kind on this part). */
  p_holm?: number;
  /** Adjusted p < level. */
  significant?: boolean;
  reason?: string;
}

interface Ranked {
  submission: string;
  record: ResultRecord;
}

/** Entry i against the leader (i ≥ 1) and against entry i − 1, Holm-corrected per kind. */
async function compare(order: Ranked[], part: Part, spec: BootstrapSpec, sig: Significance): Promise<{ vsLeader: (Comparison | null)[]; vsAbove: (Comparison | null)[] }> {
  const slim = new Map(order.map((r) => [r.submission, pairingRecord(r.record)]));
  const job = (x: Ranked, y: Ranked): PairJob => ({ a: { id: x.submission, record: slim.get(x.submission)! }, b: { id: y.submission, record: slim.get(y.submission)! }, part, spec });
  // Entry i ≥ 1: jobs 2(i − 1) against the leader and 2(i − 1) + 1 against entry i − 1 (for i = 1 the same pair, computed once).
  const outcomes = await sig.outcomes(order.slice(1).flatMap((r, k) => [job(r, order[0]), job(r, order[k])]));
  const asComparison = (o: PairedOutcome, against: string): Comparison => (o.comparable
    ? { against, comparable: true, difference: o.difference, ci95: o.ci95, ...(o.ci_extended ? { ci_extended: true as const } : {}), p_value: o.p_value }
    : { against, comparable: false, reason: o.reason });
  const vsLeader = order.map((_, i) => (i === 0 ? null : asComparison(outcomes[2 * (i - 1)], order[0].submission)));
  const vsAbove = order.map((_, i) => (i === 0 ? null : asComparison(outcomes[2 * (i - 1) + 1], order[i - 1].submission)));
  const adjust = (list: (Comparison | null)[]) => {
    const holm = holmAdjust(list.map((c) => (c && c.comparable ? c.p_value! : null)));
    list.forEach((c, i) => {
      if (c && c.comparable) Object.assign(c, { p_holm: holm[i]!, significant: holm[i]! < SIGNIFICANCE_LEVEL });
    });
  };
  adjust(vsLeader);
  adjust(vsAbove);
  return { vsLeader, vsAbove };
}

function describe(ch: Challenge, part: Part, n: number) {
  const m = Math.max(0, n - 1);
  return {
    part,
    method: pairedTest(ch.task) === 'permutation'
      ? `paired permutation test over the ${part} test rows: each draw exchanges the two entries' predictions (every seed's) on a random subset of the rows where they differ, or every exchange once when those are at most ${Math.floor(Math.log2(Math.max(1, ch.bootstrap.samples)))} rows; the interval of the difference is a paired percentile bootstrap (each resample draws one set of ${part} test rows and scores both entries on it; ${ch.metrics.primary} averaged over the model's seeds)`
      : `paired percentile bootstrap over the ${part} test rows: each resample draws one set of them and scores both entries on it (${ch.metrics.primary} averaged over the model's seeds)`,
    resamples: ch.bootstrap.samples,
    seed: ch.bootstrap.seed,
    test: pairedTest(ch.task) === 'permutation'
      ? `two-sided test of no difference in ${ch.metrics.primary}; p = (1 + #draws whose difference is at least as far from 0 as the observed one) / (B + 1), or the exact share of all exchanges`
      : `two-sided test of no difference in ${ch.metrics.primary}; p = min(1, 2(1 + #resampled differences at or beyond 0, on the side away from the observed difference) / (B + 1))`,
    level: SIGNIFICANCE_LEVEL,
    correction: m === 0 ? 'none needed: no comparison (one entry)' : m === 1 ? 'none needed: one comparison with the leader (the entry above is the leader)' : `Holm over the ${m} comparisons with the leader, and separately over the ${m} comparisons with the entry above`,
    tied: `tied_with_leader: the Holm-adjusted p-value against the leader is ≥ ${SIGNIFICANCE_LEVEL} (not significantly different at the ${SIGNIFICANCE_LEVEL} level)`,
  };
}

const tiedWith = (c: Comparison | null): boolean | null => (c === null ? true : c.comparable ? !c.significant : null);

export async function leaderboard(
  ch: Challenge,
  results: { submission: string; participantName: string; participant: string; record: string; submittedAt: number }[],
  now: Date,
  sig: Significance = new Significance(),
  /** The server's word on whether the challenge has closed (an organiser may close it before its date); default: its `closes` date. */
  closedNow?: boolean,
) {
  const best = new Map<string, { name: string; submission: string; record: ResultRecord; createdAt: number; count: number }>();
  const better = (a: number | null, b: number | null) => a !== null && (b === null || (ch.metrics.direction === 'max' ? a > b : a < b));
  for (const r of results) {
    const record = JSON.parse(r.record) as ResultRecord;
    const cur = best.get(r.participant);
    const count = (cur?.count ?? 0) + 1;
    if (!cur || better(record.primary.mean, cur.record.primary.mean) || (record.primary.mean === cur.record.primary.mean && r.submittedAt < cur.createdAt)) best.set(r.participant, { name: r.participantName, submission: r.submission, record, createdAt: r.submittedAt, count });
    else cur.count = count;
  }
  const first = [...best.values()][0]?.record;
  const columns = first ? leaderboardColumns(ch.metrics.primary, ch.metrics.report, Object.keys(first.metrics)) : [];
  // Equal scores: the earlier best submission ranks first (as on Codabench and Kaggle); the
  // order participants first appeared in said nothing.
  const byTime = [...best.values()].sort((a, b) => a.createdAt - b.createdAt || (a.submission < b.submission ? -1 : 1));
  const rows = leaderboardOrder(byTime.map((b) => ({ ...b, over_budget: false, primary: b.record.primary })));
  const closed = closedNow ?? (first ? privateVisible(first, { now }) : isClosed(ch, now));
  const spec: BootstrapSpec = { samples: ch.bootstrap.samples, seed: ch.bootstrap.seed };
  const pub = await compare(rows, 'public', spec, sig);
  const entries = rows.map((b, i) => {
    const m = b.record.metrics[ch.metrics.primary];
    return {
      rank: i + 1,
      participant: b.name,
      submission: b.submission,
      submitted_at: new Date(b.createdAt).toISOString(),
      submissions: b.count,
      primary: { name: ch.metrics.primary, direction: ch.metrics.direction, mean: m?.mean ?? null, ci95: m?.ci95 ?? null, ...(m?.ci_extended ? { ci_extended: true } : {}) },
      metrics: Object.fromEntries(columns.map((n) => [n, b.record.metrics[n]?.mean ?? null])),
      tied_with_leader: tiedWith(pub.vsLeader[i]),
      vs_leader: pub.vsLeader[i],
      vs_above: pub.vsAbove[i],
    } as Record<string, unknown> & { rank: number; submission: string };
  });
  let privateSignificance: ReturnType<typeof describe> | undefined;
  if (closed) {
    const priv = (b: (typeof rows)[number]) => (b.record.private && !('hidden' in b.record.private) ? b.record.private : null);
    const key = (x: number | null | undefined) => (x === null || x === undefined ? -Infinity : ch.metrics.direction === 'max' ? x : -x);
    const order = rows.map((b, i) => ({ b, i })).sort((x, y) => key(priv(y.b)?.primary_mean) - key(priv(x.b)?.primary_mean) || x.b.createdAt - y.b.createdAt || x.i - y.i);
    const priv2 = await compare(order.map((o) => o.b), 'private', spec, sig);
    order.forEach(({ b, i }, r) => {
      const pm = priv(b)?.metrics[ch.metrics.primary];
      Object.assign(entries[i], {
        private_mean: priv(b)?.primary_mean ?? null,
        private_ci95: pm?.ci95 ?? null,
        private_rank: r + 1,
        move: i + 1 - (r + 1),
        private_tied_with_leader: tiedWith(priv2.vsLeader[r]),
        private_vs_leader: priv2.vsLeader[r],
        private_vs_above: priv2.vsAbove[r],
      });
    });
    privateSignificance = describe(ch, 'private', rows.length);
  }
  return {
    challenge: ch.name,
    part: closed ? 'public and private (closed)' : 'public',
    primary: { name: ch.metrics.primary, direction: ch.metrics.direction },
    columns,
    significance: describe(ch, 'public', rows.length),
    ...(privateSignificance ? { private_significance: privateSignificance } : {}),
    entries,
  };
}
