/**
 * The leaderboard's significance marks (src/server/leaderboard.ts over src/evaluate/paired.ts):
 * every interval holds its estimate, the paired bootstrap agrees with a hand computation of
 * the accuracy difference over the same resamples, identical submissions are tied, a clearly
 * worse one is not, results that cannot be paired say why, Holm's adjustment matches its
 * definition, and everything is deterministic. The private part appears only after close,
 * with each entry's move.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeReplay, forEachResample, allRows, type ClassificationReplay } from '../evaluator/index.ts';
import { loadChallenge } from '../src/challenge/load.ts';
import type { Challenge } from '../src/challenge/schema.ts';
import { holmAdjust } from '../src/evaluate/paired.ts';
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
    expect(bad.vs_leader!.p_value).toBeCloseTo(2 / 401, 12); // no resample of 400 reaches 0
    // Deterministic: a fresh cache, the same marks bit for bit; the cache gives them again.
    // Computed on this thread instead of a pool worker: the same figures.
    expect(await leaderboard(open, results(records), new Date(), new Significance({ threads: 0 }))).toEqual(board);
    const cache = new Significance();
    expect(await leaderboard(open, results(records), new Date(), cache)).toEqual(board);
    expect(await leaderboard(open, results(records), new Date(), cache)).toEqual(board);
    // Nothing private while the challenge is open.
    expect(JSON.stringify(board)).not.toMatch(/private/);
  });

  it('agrees with a hand computation of the paired accuracy difference over the same resamples', async () => {
    // Per row: the share of seeds that predict it right, straight from the stored replays.
    const rightShare = (r: ResultRecord) => {
      const rep = decodeReplay(r.replay!) as ClassificationReplay;
      const out = new Float64Array(rep.n);
      for (const s of rep.seedSet) for (let i = 0; i < rep.n; i++) out[i] += (rep.sets[s].pred[i] === rep.y[i] ? 1 : 0) / rep.seedSet.length;
      return out;
    };
    const byRecord = new Map(Object.entries(records).map(([name, r]) => [`sub_${name}`, rightShare(r)]));
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
        const below = d.filter((v) => v <= 1e-12).length, above = d.filter((v) => v >= -1e-12).length;
        const diff = c.difference!;
        const far = diff > 1e-12 ? below : diff < -1e-12 ? above : 400;
        expect(c.p_value, `${e.participant} vs ${c.against}`).toBeCloseTo(Math.min(1, (2 * (1 + far)) / 401), 12);
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
    expect(between).toBeGreaterThan(0); // at least one comparison is neither certain nor null
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
