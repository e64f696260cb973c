import { describe, expect, it } from 'vitest';
import { classificationScorer, summariseSeeds } from '../evaluator/aggregate.ts';
import { allRows, describeLayout, encodeGroupColumn, metricLayout, rowScores } from '../evaluator/metrics.ts';
import { curveReplayScorer, curveScorer, type SeedCurve } from '../evaluator/protocols/ranking.ts';
import {
  classificationReplay, classificationReplayScorer, curveReplay, decodeReplay, encodeReplay, mergeReplay, restrictReplay, type ReplayJson,
} from '../evaluator/replay.ts';
import { createRng } from '../compute/rng.ts';

const n = 300, k = 3;
const rng = createRng(11);
const y = Int32Array.from({ length: n }, () => rng.int(k));
const probaOf = () => {
  const p = new Float32Array(n * k);
  for (let i = 0; i < n * k; i++) p[i] = rng.uniform();
  // Some rows with a zero probability (log loss at its clip) and exact ties.
  for (let i = 0; i < n; i += 17) { p[i * k] = 0; p[i * k + 1] = p[i * k + 2]; }
  for (let i = 0; i < n; i++) {
    const s = p[i * k] + p[i * k + 1] + p[i * k + 2];
    for (let c = 0; c < k; c++) p[i * k + c] = p[i * k + c] / s;
  }
  return p;
};
const sex = encodeGroupColumn(Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : i % 3 ? 'f' : 'm')));
const layout = metricLayout(k, { classNames: ['a', 'b', 'c'], groups: { sex }, positiveClass: 1, minGroupSize: 20 });
// Three seeds, the third with the first one's predictions (as a seedless model gives).
const p0 = probaOf(), p1 = probaOf();
const scores = [p0, p1, p0].map((p) => rowScores(y, p, n, k));
// A stratified-looking part: every row whose index is not a multiple of 3.
const publicRows = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0));
const privateRows = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === 0));
const mask = Uint8Array.from({ length: n }, (_, i) => (i % 3 !== 0 ? 1 : 0));
const bootstrap = { samples: 200, seed: 5 };
const roundTrip = (j: ReplayJson) => decodeReplay(JSON.parse(JSON.stringify(j)));

function randomCurves(): SeedCurve[] {
  const points = 40;
  const make = (): SeedCurve => {
    const correct = Uint8Array.from({ length: n }, () => (rng.uniform() < 0.6 ? 1 : 0));
    const correct0 = correct.slice();
    const cleanCorrect = Uint8Array.from({ length: n }, () => (rng.uniform() < 0.8 ? 1 : 0));
    const flips: number[] = [];
    const offsets = new Int32Array(points);
    for (let p = 1; p < points; p++) {
      for (let i = 0; i < n; i++) {
        if (rng.uniform() < 0.03) { correct[i] ^= 1; flips.push(correct[i] ? i + 1 : -(i + 1)); }
      }
      offsets[p] = flips.length;
    }
    return { correct0, cleanCorrect, flips: Int32Array.from(flips), offsets };
  };
  const a = make();
  return [a, make(), a];
}

describe('replays: what the bootstrap resamples, stored and scored again', () => {
  it('classification: a part decoded from JSON gives the same summaries, intervals and notes bit for bit', () => {
    const replay = classificationReplay(scores, [sex.codes]);
    expect(replay.sets).toHaveLength(2); // seeds 0 and 2 share one set
    expect(replay.seedSet).toEqual([0, 1, 0]);
    const reference = classificationScorer(layout, scores);
    for (const rows of [publicRows, privateRows, allRows(n)]) {
      const part = roundTrip(encodeReplay(restrictReplay(replay, rows)));
      if (part.kind !== 'classification') throw new Error('kind');
      const scorer = classificationReplayScorer(part, describeLayout(layout));
      expect(summariseSeeds(scorer, allRows(part.n), part.n, bootstrap)).toEqual(summariseSeeds(reference, rows, n, bootstrap));
      expect(scorer.counts!(1, allRows(part.n))).toEqual(reference.counts!(1, rows));
    }
    const merged = mergeReplay(restrictReplay(replay, publicRows), restrictReplay(replay, privateRows), mask);
    expect(merged).toEqual(replay);
  });

  it('curve: restricted, encoded, decoded and merged back, the same ranking figures and intervals', () => {
    const curves = randomCurves();
    const gridK = Int32Array.from({ length: 40 }, (_, p) => p * 5);
    const replay = curveReplay(curves);
    expect(replay.seedSet).toEqual([0, 1, 0]);
    const reference = curveScorer(curves, gridK, 200, 5);
    for (const rows of [publicRows, privateRows]) {
      const part = roundTrip(encodeReplay(restrictReplay(replay, rows)));
      if (part.kind !== 'curve') throw new Error('kind');
      const scorer = curveReplayScorer(part, gridK, 200, 5);
      expect(summariseSeeds(scorer, allRows(part.n), part.n, bootstrap)).toEqual(summariseSeeds(reference, rows, n, bootstrap));
      expect(scorer.counts(1, allRows(part.n))).toEqual(reference.counts(1, rows));
    }
    const pub = roundTrip(encodeReplay(restrictReplay(replay, publicRows)));
    const priv = roundTrip(encodeReplay(restrictReplay(replay, privateRows)));
    expect(mergeReplay(pub, priv, mask)).toEqual(replay);
  });

  it('is compact, and a malformed field is named', () => {
    const json = encodeReplay(classificationReplay(scores, [sex.codes]));
    if (json.kind !== 'classification') throw new Error('kind');
    // Per row: class (1 byte) and group (1 byte), and per set: class, float32 confidence, float64 log loss.
    expect(JSON.stringify(json).length).toBeLessThan(1.4 * n * (2 + 2 * 13) + 400);
    expect(json.y.startsWith('u8:')).toBe(true);
    const short = { ...json, sets: [{ ...json.sets[0], nll: json.sets[0].nll.slice(0, 20) }, json.sets[1]] };
    expect(() => decodeReplay(short)).toThrow(/sets\[0\]\.nll/);
    expect(() => decodeReplay({ ...json, y: 'f64:AAAA' })).toThrow(/y: dtype "f64"/);
    expect(() => decodeReplay({ ...json, seed_sets: [0, 2] })).toThrow(/seed_sets/);
    const shifted = encodeReplay({ ...classificationReplay(scores, [sex.codes]), y: y.map((v) => v + 1) });
    const badClass = { ...json, y: (shifted as typeof json).y };
    const decoded = decodeReplay(badClass);
    if (decoded.kind !== 'classification') throw new Error('kind');
    expect(() => classificationReplayScorer(decoded, describeLayout(layout))).toThrow(/replay\.y\[\d+\]: class 3 is outside/);
  });
});
