/**
 * The leaderboard's significance marks (src/server/leaderboard.ts over src/evaluate/paired.ts):
 * every interval holds its estimate, the paired bootstrap interval of the accuracy difference
 * and the permutation test's p-value agree with hand computations, identical submissions are
 * tied, a clearly worse one is not, 4 rows that differ are no evidence, results that cannot be paired say why, Holm's adjustment matches its
 * definition, and everything is deterministic. The private part appears only after close,
 * with each entry's move.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeReplay, encodeReplay, forEachResample, allRows, type ClassificationReplay } from '../evaluator/index.ts';
import { loadChallenge } from '../src/challenge/load.ts';
import type { Challenge } from '../src/challenge/schema.ts';
import { holmAdjust, pairedDifference, pairedScorer, type PartScorer } from '../src/evaluate/paired.ts';
import type { ResultRecord } from '../src/evaluate/record.ts';
import { evaluateSource } from '../src/evaluate/runner.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { leaderboard, Significance } from '../src/server/leaderboard.ts';
import { bytesSource } from '../src/submission/sources/bytes.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let open: Challenge;
let closed: Challenge;
/** Records by name: good (a balanced 100), good2 (the same ids), other (another balanced 100), lopsided (half of one class), bad (one class only). */
const records: Record<string, ResultRecord> = {};
const closedRecords: Record<string, ResultRecord> = {};

const csv = (ids: string[]) => new TextEncoder().encode(`id\n${ids.join('\n')}\n`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-significance-'));
  await writeTinyChallenge(dir, { name: 'sig', bootstrapSamples: 400 });
  await writeTinyChallenge(dir, { name: 'sig-closed', bootstrapSamples: 400, closes: '2001-01-01' });
  open = await loadChallenge(join(dir, 'sig'));
  closed = await loadChallenge(join(dir, 'sig-closed'));
  const train = await readSplit(await openPool(join(dir, 'sig', 'pool')), 'train');
  const byClass = (k: number) => train.ids.filter((_, i) => train.labels[i] === k);
  const balanced = (offset: number) => [0, 1, 2].flatMap((k) => byClass(k).slice(offset, offset + 33));
  const lopsided = [...byClass(0).slice(60, 110), ...byClass(1).slice(60, 85), ...byClass(2).slice(60, 85)];
  const sets: Record<string, string[]> = { good: balanced(0), good2: balanced(0), other: balanced(40), lopsided, bad: byClass(0).slice(0, 100) };
  for (const [name, ids] of Object.entries(sets)) {
    records[name] = await evaluateSource(open, bytesSource(csv(ids), { name: `${name}.csv` }), { cache: false });
    closedRecords[name] = await evaluateSource(closed, bytesSource(csv(ids), { name: `${name}.csv` }), { cache: false });
  }
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function results(recs: Record<string, ResultRecord>, names = Object.keys(recs)) {
  return names.map((n, i) => ({ submission: `sub_${n}`, participant: `par_${n}`, participantName: n, record: JSON.stringify(recs[n]), submittedAt: 1_700_000_000_000 + i }));
}

type Entry = {
  participant: string; submission: string; rank: number;
  primary: { mean: number; ci95: [number, number] };
  tied_with_leader: boolean | null;
  vs_leader: null | { comparable: boolean; difference?: number; ci95?: [number, number]; p_value?: number; p_holm?: number; significant?: boolean; reason?: string; against: string };
  vs_above: Entry['vs_leader'];
  private_rank?: number; move?: number; private_mean?: number; private_ci95?: [number, number];
  private_vs_leader?: Entry['vs_leader']; private_tied_with_leader?: boolean | null;
};

const contains = (iv: [number, number], x: number) => iv[0] <= x && x <= iv[1];

describe('leaderboard significance', async () => {
  it('holds every estimate in its interval, ties identical entries, separates a clearly worse one, deterministically', async () => {
    const board = await leaderboard(open, results(records), new Date());
    const entries = board.entries as unknown as Entry[];
    expect(board.significance).toMatchObject({ part: 'public', resamples: 400, seed: 0, level: 0.05 });
    expect(board.significance.correction).toMatch(/^Holm over the 4 comparisons with the leader/);
    expect(entries.map((e) => e.participant).at(-1)).toBe('bad');
    for (const e of entries) {
      expect(contains(e.primary.ci95, e.primary.mean), e.participant).toBe(true);
      for (const c of [e.vs_leader, e.vs_above]) {
        if (!c) continue;
        expect(c.comparable).toBe(true);
        expect(contains(c.ci95!, c.difference!), `${e.participant} vs ${c.against}`).toBe(true);
        expect(c.p_holm!).toBeGreaterThanOrEqual(c.p_value!);
        const other = entries.find((x) => x.submission === c.against)!;
        expect(c.difference).toBeCloseTo(e.primary.mean - other.primary.mean, 12);
      }
    }
    expect(entries[0].vs_leader).toBeNull();
    expect(entries[0].tied_with_leader).toBe(true);
    // good and good2 are the same ids: the same figures, a difference of exactly 0 on every resample.
    const good = entries.find((e) => e.participant === 'good')!, good2 = entries.find((e) => e.participant === 'good2')!;
    const pair = good.rank > good2.rank ? good.vs_above! : good2.vs_above!;
    expect(pair).toMatchObject({ difference: 0, ci95: [0, 0], p_value: 1, significant: false });
    // One class only: far below the leader, beyond any resampling doubt.
    const bad = entries.find((e) => e.participant === 'bad')!;
    expect(bad.vs_leader!.difference!).toBeLessThan(-0.2);
    expect(bad.vs_leader!.significant).toBe(true);
    expect(bad.tied_with_leader).toBe(false);
    expect(bad.vs_leader!.p_value).toBeCloseTo(1 / 401, 12); // no exchange of 400 comes as far from 0
    // Deterministic: a fresh cache, the same marks bit for bit; the cache gives them again.
    // Computed on this thread instead of a pool worker: the same figures.
    expect(await leaderboard(open, results(records), new Date(), new Significance({ threads: 0 }))).toEqual(board);
    const cache = new Significance();
    expect(await leaderboard(open, results(records), new Date(), cache)).toEqual(board);
    expect(await leaderboard(open, results(records), new Date(), cache)).toEqual(board);
    // Nothing private while the challenge is open.
    expect(JSON.stringify(board)).not.toMatch(/private/);
  });

  it('agrees with a hand computation: the interval over the same resamples, the p-value of the exact permutation test', async () => {
    // Per row: the share of seeds that predict it right, straight from the stored replays.
    const rightShare = (r: ResultRecord) => {
      const rep = decodeReplay(r.replay!) as ClassificationReplay;
      const out = new Float64Array(rep.n);
      for (const s of rep.seedSet) for (let i = 0; i < rep.n; i++) out[i] += (rep.sets[s].pred[i] === rep.y[i] ? 1 : 0) / rep.seedSet.length;
      return out;
    };
    const byRecord = new Map(Object.entries(records).map(([name, r]) => [`sub_${name}`, rightShare(r)]));
    const replays = new Map(Object.entries(records).map(([name, r]) => [`sub_${name}`, decodeReplay(r.replay!) as ClassificationReplay]));
    // Rows where some seed's stored prediction facts differ: what the test exchanges.
    const differing = (x: ClassificationReplay, y: ClassificationReplay) => {
      let D = 0;
      for (let i = 0; i < x.n; i++) {
        if (x.seedSet.some((sx, s) => { const a = x.sets[sx], b = y.sets[y.seedSet[s]]; return a.pred[i] !== b.pred[i] || a.confidence[i] !== b.confidence[i] || a.nll[i] !== b.nll[i]; })) D++;
      }
      return D;
    };
    // The exact two-sided permutation p-value of the accuracy difference: each row's difference
    // in right shares (a multiple of 1/S) takes either sign; the distribution of the signed sum by
    // dynamic programming over integers.
    const exactP = (rx: Float64Array, ry: Float64Array, S: number) => {
      const deltas = Array.from(rx, (v, i) => Math.round((v - ry[i]) * S)).filter((v) => v !== 0);
      const obs = Math.abs(deltas.reduce((t, v) => t + v, 0));
      const span = deltas.reduce((t, v) => t + Math.abs(v), 0);
      let dist = new Float64Array(2 * span + 1);
      dist[span] = 1;
      for (const v of deltas) {
        const next = new Float64Array(dist.length);
        for (let x = 0; x < dist.length; x++) if (dist[x]) { next[x + v] += dist[x] / 2; next[x - v] += dist[x] / 2; }
        dist = next;
      }
      let p = 0;
      for (let x = 0; x < dist.length; x++) if (Math.abs(x - span) >= obs) p += dist[x];
      return p;
    };
    const entries = (await leaderboard(open, results(records), new Date())).entries as unknown as Entry[];
    let checked = 0, between = 0;
    for (const e of entries) {
      for (const c of [e.vs_leader, e.vs_above]) {
        if (!c) continue;
        const rx = byRecord.get(e.submission)!, ry = byRecord.get(c.against)!;
        const n = rx.length;
        const d: number[] = [];
        forEachResample(allRows(n), n, { samples: 400, seed: 0 }, (_k, w) => {
          let sx = 0, sy = 0, m = 0;
          for (let i = 0; i < n; i++) { sx += w[i] * rx[i]; sy += w[i] * ry[i]; m += w[i]; }
          d.push(sx / m - sy / m);
        });
        const diff = c.difference!;
        const p = exactP(rx, ry, records.good.seeds.length);
        const D = differing(replays.get(e.submission)!, replays.get(c.against)!);
        // Every exchange scored when 2^D ≤ 400; else 400 random ones, (1 + count) / 401.
        if (2 ** D <= 400) expect(c.p_value, `${e.participant} vs ${c.against}`).toBeCloseTo(p, 12);
        else expect(Math.abs(c.p_value! - p), `${e.participant} vs ${c.against}: ${c.p_value} vs exact ${p}`).toBeLessThanOrEqual(4 * Math.sqrt(p * (1 - p) / 400) + 2 / 401);
        if (c.p_value! > 0.01 && c.p_value! < 0.99) between++;
        // The interval: the 2.5th and 97.5th percentiles of the same differences (numpy's linear rule).
        const sorted = [...d].sort((p, q) => p - q);
        const q = (f: number) => { const pos = (sorted.length - 1) * f, lo = Math.floor(pos); return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (pos - lo); };
        if (diff >= q(0.025) && diff <= q(0.975)) {
          expect(c.ci95![0]).toBeCloseTo(q(0.025), 12);
          expect(c.ci95![1]).toBeCloseTo(q(0.975), 12);
        }
        checked++;
      }
    }
    expect(checked).toBe(8);
    // 41 public rows: the near pairs differ by one row net (p 1), the far ones by half the rows.
    expect(between).toBe(0);
  });

  it('few differing rows are no evidence: 4 rows all one way give the exact p 2/16, not the bootstrap\'s ≈ 0.04', () => {
    // A copy of `good` made wrong on n of its right rows (every seed) and right on m of its wrong ones.
    const altered = (wrong: number, right: number): ResultRecord => {
      const rep = decodeReplay(records.good.replay!) as ClassificationReplay;
      const k = 3;
      const sets = rep.sets.map((x) => ({ pred: x.pred.slice(), confidence: x.confidence, nll: x.nll }));
      const allRight = [...Array(rep.n).keys()].filter((i) => rep.seedSet.every((s) => rep.sets[s].pred[i] === rep.y[i]));
      const allWrong = [...Array(rep.n).keys()].filter((i) => rep.seedSet.every((s) => rep.sets[s].pred[i] !== rep.y[i]));
      expect(allRight.length).toBeGreaterThanOrEqual(wrong);
      expect(allWrong.length).toBeGreaterThanOrEqual(right);
      for (const x of sets) {
        for (const i of allRight.slice(0, wrong)) x.pred[i] = (rep.y[i] + 1) % k;
        for (const i of allWrong.slice(0, right)) x.pred[i] = rep.y[i];
      }
      return { ...records.good, replay: { ...encodeReplay({ ...rep, sets }), test_ids_sha256: records.good.replay!.test_ids_sha256 } };
    };
    const spec = { samples: 1000, seed: 0 };
    const base = pairedScorer(records.good, 'public') as PartScorer;
    const four = pairedDifference(pairedScorer(altered(4, 0), 'public') as PartScorer, base, spec);
    expect(four).toMatchObject({ comparable: true, p_value: 2 / 16 });
    if (!four.comparable) return;
    expect(four.difference).toBeCloseTo(-4 / base.rows, 12);
    // The bootstrap's inverted interval, which decided before: p ≈ 0.04 on the same resamples.
    const rep = decodeReplay(records.good.replay!) as ClassificationReplay;
    const changed = [...Array(rep.n).keys()].filter((i) => rep.seedSet.every((s) => rep.sets[s].pred[i] === rep.y[i])).slice(0, 4);
    const d: number[] = [];
    forEachResample(allRows(base.rows), base.rows, spec, (_k, w) => {
      let drawn = 0;
      for (const i of changed) drawn += w[i];
      d.push(-drawn / base.rows);
    });
    expect((2 * (1 + d.filter((v) => v >= -1e-12).length)) / 1001).toBeLessThan(0.05);
    // 10 rows one way, 2 the other: 12 rows, more exchanges than draws, so 1000 random ones;
    // the exact p is P(|Σ ±1 over 12| ≥ 8) = 2·(1 + 12 + 66) / 4096 = 0.0386.
    const twelve = pairedDifference(pairedScorer(altered(10, 2), 'public') as PartScorer, base, spec);
    if (!twelve.comparable) throw new Error('not comparable');
    const exact = (2 * (1 + 12 + 66)) / 4096;
    expect(Math.abs(twelve.p_value - exact)).toBeLessThanOrEqual(4 * Math.sqrt(exact * (1 - exact) / 1000) + 2 / 1001);
    // Deterministic: the same draws again.
    expect(pairedDifference(pairedScorer(altered(10, 2), 'public') as PartScorer, base, spec)).toEqual(twelve);
    // Results whose rows cannot be exchanged (one seed more, same test rows) keep the bootstrap's p.
    const rep3 = decodeReplay(altered(4, 0).replay!) as ClassificationReplay;
    const three = { ...records.good, seeds: [...records.good.seeds, 99], replay: { ...encodeReplay({ ...rep3, seedSet: [...rep3.seedSet, rep3.seedSet[0]] }), test_ids_sha256: records.good.replay!.test_ids_sha256 } };
    const mixed = pairedDifference(pairedScorer(three, 'public') as PartScorer, base, spec);
    expect(mixed).toMatchObject({ comparable: true });
    if (mixed.comparable) expect(mixed.p_value).toBeLessThan(0.05); // the bootstrap's ≈ 0.04 for 4 rows one way
  });

  it('marks results that cannot be paired, and says why, instead of tying them', async () => {
    const stripped = { ...records, bad: { ...records.bad, replay: undefined } as unknown as ResultRecord };
    const entries = (await leaderboard(open, results(stripped), new Date())).entries as unknown as Entry[];
    const bad = entries.find((e) => e.participant === 'bad')!;
    expect(bad.tied_with_leader).toBeNull();
    expect(bad.vs_leader).toMatchObject({ comparable: false });
    expect(bad.vs_leader!.reason).toMatch(/no replay/);
    const otherTest = { ...records, bad: { ...records.bad, replay: { ...records.bad.replay!, test_ids_sha256: 'f'.repeat(64) } } };
    const e2 = ((await leaderboard(open, results(otherTest), new Date())).entries as unknown as Entry[]).find((e) => e.participant === 'bad')!;
    expect(e2.vs_leader!.reason).toMatch(/different test rows/);
  });

  it('after close: the private part with its own leader, intervals, marks and each entry\'s move', async () => {
    const board = await leaderboard(closed, results(closedRecords), new Date());
    expect(board.part).toBe('public and private (closed)');
    expect(board.private_significance).toMatchObject({ part: 'private', resamples: 400 });
    const entries = board.entries as unknown as Entry[];
    expect(entries.map((e) => e.private_rank).sort()).toEqual([1, 2, 3, 4, 5]);
    for (const e of entries) {
      expect(e.move).toBe(e.rank - e.private_rank!);
      expect(e.private_mean).toBe(closedRecords[e.participant].private!.primary_mean);
      expect(contains(e.private_ci95!, e.private_mean!)).toBe(true);
      const c = e.private_vs_leader;
      if (e.private_rank === 1) { expect(c).toBeNull(); continue; }
      expect(c!.comparable).toBe(true);
      expect(contains(c!.ci95!, c!.difference!)).toBe(true);
      const leader = entries.find((x) => x.private_rank === 1)!;
      expect(c!.against).toBe(leader.submission);
      expect(c!.difference).toBeCloseTo(e.private_mean! - leader.private_mean!, 12);
    }
    expect(entries.find((e) => e.participant === 'bad')!.private_tied_with_leader).toBe(false);
  });

  it('ranks equal scores by when the best submission came in, earlier first, public and private', async () => {
    // good and good2 score the same; good2's best came in first, though good's participant appeared first (with a worse try).
    const rows = [
      { submission: 'sub_early_bad', participant: 'par_good', participantName: 'good', record: JSON.stringify(records.bad), submittedAt: 1_000 },
      { submission: 'sub_good2', participant: 'par_good2', participantName: 'good2', record: JSON.stringify(records.good2), submittedAt: 2_000 },
      { submission: 'sub_good', participant: 'par_good', participantName: 'good', record: JSON.stringify(records.good), submittedAt: 3_000 },
    ];
    const board = await leaderboard(open, rows, new Date());
    expect((board.entries as unknown as Entry[]).map((e) => e.participant)).toEqual(['good2', 'good']);
    const closedRows = rows.map((r) => ({ ...r, record: JSON.stringify(closedRecords[r.submission === 'sub_early_bad' ? 'bad' : r.submission === 'sub_good2' ? 'good2' : 'good']) }));
    const after = (await leaderboard(closed, closedRows, new Date())).entries as unknown as Entry[];
    expect(after.find((e) => e.participant === 'good2')!.private_rank).toBe(1);
  });

  it('adjusts p-values by Holm\'s step-down rule', async () => {
    // statsmodels multipletests([0.01, 0.04, 0.03, 0.005], method='holm') → [0.03, 0.06, 0.06, 0.02]
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005, null]);
    expect(adj.slice(0, 4).map((v) => Number(v!.toFixed(12)))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(adj[4]).toBeNull();
    expect(holmAdjust([0.6, 0.9])).toEqual([1, 1]);
  });
});
