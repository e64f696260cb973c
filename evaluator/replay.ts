/**
 * Replays: the per-row facts a result's bootstrap resamples, kept so that every interval of
 * a record can be recomputed bit for bit without refitting (`sieve verify --rescore`).
 *
 * The tallies of a record (metrics.ts MetricTallies, ranking CurveCounts) give every mean,
 * std and per-seed value, but an interval resamples test rows, so it needs what each row
 * contributes:
 * - classification (selection, relabel): the true class and group codes of each row, and per
 *   distinct set of predictions its arg-max class, max probability (a float32 value) and
 *   log loss (float64); the ECE bin follows from the probability (metrics.ts eceBin);
 * - curve (ranking): per distinct curve, which rows the first point and the clean-pool model
 *   get right, and the rows whose correctness flips into each later point.
 * Seeds with identical predictions (a seedless model fits once for every seed) share one set.
 *
 * A replay covers some rows in a fixed order; `restrictReplay` takes the rows of one test part
 * (in the part's order, so the bootstrap over the part draws the same resamples over the same
 * data), and `mergeReplay` interleaves two disjoint parts back into test-row order. The JSON
 * form encodes every array as "<dtype>:<base64 of its little-endian bytes>" (dtype u8, u16,
 * u32, f32, f64, or bits: LSB-first packed booleans).
 */
import { classificationScorer, type SeedScorer } from './aggregate.ts';
import { eceBin, layoutOf, type LayoutDescription, type RowScores } from './metrics.ts';
import type { SeedCurve } from './protocols/ranking.ts';

export const REPLAY_FORMAT = 'sieve-replay/1';

/** One set of predictions, per row. */
export interface PredictionRows {
  pred: Int32Array;
  /** Max class probability (a float32 value, widened). */
  confidence: Float64Array;
  /** scikit-learn's per-row log loss (metrics.ts trueClassNll). */
  nll: Float64Array;
}

export interface ClassificationReplay {
  kind: 'classification';
  /** Rows covered. */
  n: number;
  y: Int32Array;
  /** Group codes per group column, in layout order. */
  groups: Int32Array[];
  sets: PredictionRows[];
  /** Seed index → index into `sets`. */
  seedSet: number[];
}

export interface CurveReplay {
  kind: 'curve';
  n: number;
  /** Grid points. */
  points: number;
  sets: SeedCurve[];
  seedSet: number[];
}

export type Replay = ClassificationReplay | CurveReplay;

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Index of the first of `sets` equal to `x`, appending it when new. */
function dedupe<T>(sets: T[], x: T, equal: (a: T, b: T) => boolean): number {
  const i = sets.findIndex((s) => equal(s, x));
  if (i >= 0) return i;
  sets.push(x);
  return sets.length - 1;
}

const samePredictions = (a: PredictionRows, b: PredictionRows) =>
  sameArray(a.pred, b.pred) && sameArray(a.confidence, b.confidence) && sameArray(a.nll, b.nll);
const sameCurve = (a: SeedCurve, b: SeedCurve) =>
  sameArray(a.correct0, b.correct0) && sameArray(a.cleanCorrect, b.cleanCorrect) && sameArray(a.flips, b.flips) && sameArray(a.offsets, b.offsets);

/** The replay of per-seed row scores over the test rows (groups: codes in layout order). */
export function classificationReplay(perSeed: RowScores[], groups: Int32Array[]): ClassificationReplay {
  if (perSeed.length === 0) throw new RangeError('classificationReplay: no seeds');
  const sets: PredictionRows[] = [];
  const seedSet = perSeed.map((s) => dedupe(sets, { pred: s.pred, confidence: s.confidence, nll: s.nll }, samePredictions));
  return { kind: 'classification', n: perSeed[0].n, y: perSeed[0].yTrue, groups, sets, seedSet };
}

/** The replay of per-seed ranking curves over the test rows. */
export function curveReplay(curves: SeedCurve[]): CurveReplay {
  if (curves.length === 0) throw new RangeError('curveReplay: no seeds');
  const sets: SeedCurve[] = [];
  const seedSet = curves.map((c) => dedupe(sets, c, sameCurve));
  return { kind: 'curve', n: curves[0].correct0.length, points: curves[0].offsets.length, sets, seedSet };
}

function pick<T extends Int32Array | Float64Array | Uint8Array>(a: T, rows: Int32Array): T {
  const out = new (a.constructor as new (n: number) => T)(rows.length);
  for (let j = 0; j < rows.length; j++) out[j] = a[rows[j]];
  return out;
}

/** Flips of the rows in `local` (row → position in the part, −1 outside), renumbered. */
function restrictFlips(c: SeedCurve, local: Int32Array): { flips: Int32Array; offsets: Int32Array } {
  const flips: number[] = [];
  const offsets = new Int32Array(c.offsets.length);
  for (let p = 1; p < c.offsets.length; p++) {
    for (let q = c.offsets[p - 1]; q < c.offsets[p]; q++) {
      const f = c.flips[q];
      const j = local[Math.abs(f) - 1];
      if (j >= 0) flips.push(f > 0 ? j + 1 : -(j + 1));
    }
    offsets[p] = flips.length;
  }
  return { flips: Int32Array.from(flips), offsets };
}

/** The replay of `rows` (distinct rows of `r`), renumbered 0..rows.length-1 in that order. */
export function restrictReplay<R extends Replay>(r: R, rows: Int32Array): R {
  if (r.kind === 'classification') {
    return {
      ...r,
      n: rows.length,
      y: pick(r.y, rows),
      groups: r.groups.map((g) => pick(g, rows)),
      sets: r.sets.map((s) => ({ pred: pick(s.pred, rows), confidence: pick(s.confidence, rows), nll: pick(s.nll, rows) })),
    };
  }
  const local = new Int32Array(r.n).fill(-1);
  rows.forEach((row, j) => { local[row] = j; });
  // Renumbering keeps each point's flips in the order of `rows` only when rows ascend; the
  // integer counts a curve is scored from do not depend on that order anyway.
  return {
    ...r,
    n: rows.length,
    sets: r.sets.map((c) => ({ correct0: pick(c.correct0, rows), cleanCorrect: pick(c.cleanCorrect, rows), ...restrictFlips(c, local) })),
  } as R;
}

/**
 * Interleaves two replays of disjoint row sets back into one: row i of the result is the next
 * row of `a` where `inA[i]` is 1, else the next row of `b` (the inverse of restricting a
 * replay to the ascending rows of a part and of its complement).
 */
export function mergeReplay<R extends Replay>(a: R, b: R, inA: Uint8Array): R {
  const n = inA.length;
  let na = 0;
  for (let i = 0; i < n; i++) na += inA[i] ? 1 : 0;
  if (a.kind !== b.kind) throw new RangeError(`mergeReplay: a ${a.kind} and a ${b.kind} replay`);
  if (na !== a.n || n - na !== b.n) throw new RangeError(`mergeReplay: the mask has ${na} + ${n - na} rows, the parts ${a.n} + ${b.n}`);
  if (!sameArray(a.seedSet, b.seedSet)) throw new RangeError('mergeReplay: the parts group the seeds differently');
  // Global row of each part's local rows.
  const rowsA = new Int32Array(na), rowsB = new Int32Array(n - na);
  for (let i = 0, ja = 0, jb = 0; i < n; i++) { if (inA[i]) rowsA[ja++] = i; else rowsB[jb++] = i; }
  const merge = <T extends Int32Array | Float64Array | Uint8Array>(x: T, y: T): T => {
    const out = new (x.constructor as new (n: number) => T)(n);
    for (let j = 0; j < na; j++) out[rowsA[j]] = x[j];
    for (let j = 0; j < n - na; j++) out[rowsB[j]] = y[j];
    return out;
  };
  if (a.kind === 'classification') {
    const bc = b as ClassificationReplay;
    if (a.groups.length !== bc.groups.length || a.sets.length !== bc.sets.length) throw new RangeError('mergeReplay: the parts have different group columns or prediction sets');
    return {
      ...a,
      n,
      y: merge(a.y, bc.y),
      groups: a.groups.map((g, i) => merge(g, bc.groups[i])),
      sets: a.sets.map((s, i) => ({ pred: merge(s.pred, bc.sets[i].pred), confidence: merge(s.confidence, bc.sets[i].confidence), nll: merge(s.nll, bc.sets[i].nll) })),
    };
  }
  const ac = a as CurveReplay, bcv = b as CurveReplay;
  if (ac.points !== bcv.points || ac.sets.length !== bcv.sets.length) throw new RangeError('mergeReplay: the parts have different curves');
  const sets = ac.sets.map((ca, s) => {
    const cb = bcv.sets[s];
    const flips: number[] = [];
    const offsets = new Int32Array(ac.points);
    const global = (f: number, rows: Int32Array) => (f > 0 ? rows[f - 1] + 1 : -(rows[-f - 1] + 1));
    for (let p = 1; p < ac.points; p++) {
      // Each part's flips into a point ascend by row; merged by global row they ascend again.
      let qa = ca.offsets[p - 1], qb = cb.offsets[p - 1];
      const ea = ca.offsets[p], eb = cb.offsets[p];
      while (qa < ea || qb < eb) {
        const fa = qa < ea ? global(ca.flips[qa], rowsA) : 0, fb = qb < eb ? global(cb.flips[qb], rowsB) : 0;
        if (qb >= eb || (qa < ea && Math.abs(fa) < Math.abs(fb))) { flips.push(fa); qa++; } else { flips.push(fb); qb++; }
      }
      offsets[p] = flips.length;
    }
    return { correct0: merge(ca.correct0, cb.correct0), cleanCorrect: merge(ca.cleanCorrect, cb.cleanCorrect), flips: Int32Array.from(flips), offsets };
  });
  return { ...ac, n, sets } as R;
}

/** Each row's ECE bin of its confidence. */
function eceBins(confidence: Float64Array): Uint8Array {
  const b = new Uint8Array(confidence.length);
  for (let i = 0; i < confidence.length; i++) b[i] = eceBin(confidence[i]);
  return b;
}

/** Classification: the scorer of a replay under the record's layout (its group codes filled in). */
export function classificationReplayScorer(r: ClassificationReplay, layout: LayoutDescription): SeedScorer {
  const k = layout.classes.length;
  const outside = (a: Int32Array) => a.findIndex((v) => !(v >= 0 && v < k));
  for (const [what, a] of [['y', r.y], ...r.sets.map((s, i) => [`sets[${i}].pred`, s.pred] as const)] as const) {
    const i = outside(a);
    if (i >= 0) throw new RangeError(`replay.${what}[${i}]: class ${a[i]} is outside [0, ${k})`);
  }
  const scores: RowScores[] = r.sets.map((s) => ({ n: r.n, k, yTrue: r.y, pred: s.pred, confidence: s.confidence, nll: s.nll, bin: eceBins(s.confidence) }));
  return classificationScorer(layoutOf(layout, r.groups), r.seedSet.map((i) => scores[i]));
}

/** Two replays of the same rows, scored as per-seed copies whose rows can be exchanged (swappablePair). */
export interface SwappablePair {
  a: SeedScorer;
  b: SeedScorer;
  /** Rows where some seed's prediction, confidence or log loss differs between a and b, ascending. */
  differing: Int32Array;
  /**
   * For each seed, the first seed identical to it in both replays (itself when none is): seeds
   * identical in a and in b stay identical whatever rows are exchanged.
   */
  first: number[];
  /** Exchanges a's and b's predictions of every seed on `rows` in place (exchanging again undoes it). */
  swap(rows: ArrayLike<number>): void;
}

/**
 * A paired permutation test's two scorers: a and b (classification replays of the same rows:
 * same labels and groups) as per-seed copies, with swap(rows) exchanging those rows'
 * predictions between them. The scorers read the copies on every compute() (no cached
 * tallies), so a swap changes what they score next.
 */
export function swappablePair(ra: ClassificationReplay, rb: ClassificationReplay, layout: LayoutDescription): SwappablePair {
  if (ra.n !== rb.n || !sameArray(ra.y, rb.y)) throw new RangeError('swappablePair: the two replays do not cover the same labelled rows');
  if (ra.groups.length !== rb.groups.length || ra.groups.some((g, i) => !sameArray(g, rb.groups[i]))) throw new RangeError('swappablePair: the two replays have different groups');
  if (ra.seedSet.length !== rb.seedSet.length) throw new RangeError(`swappablePair: ${ra.seedSet.length} and ${rb.seedSet.length} seeds`);
  const k = layout.classes.length, n = ra.n, S = ra.seedSet.length;
  const copies = (r: ClassificationReplay): RowScores[] => r.seedSet.map((i) => {
    const set = r.sets[i];
    return { n, k, yTrue: r.y, pred: set.pred.slice(), confidence: set.confidence.slice(), nll: set.nll.slice(), bin: eceBins(set.confidence) };
  });
  const sa = copies(ra), sb = copies(rb);
  const differing: number[] = [];
  for (let q = 0; q < n; q++) {
    for (let s = 0; s < S; s++) {
      const x = sa[s], y = sb[s];
      if (x.pred[q] !== y.pred[q] || !Object.is(x.confidence[q], y.confidence[q]) || !Object.is(x.nll[q], y.nll[q])) { differing.push(q); break; }
    }
  }
  const first = Array.from({ length: S }, (_, s) => {
    for (let t = 0; t < s; t++) if (ra.seedSet[t] === ra.seedSet[s] && rb.seedSet[t] === rb.seedSet[s]) return t;
    return s;
  });
  const lay = layoutOf(layout, ra.groups);
  return {
    a: classificationScorer(lay, sa),
    b: classificationScorer(lay, sb),
    differing: Int32Array.from(differing),
    first,
    swap(rows) {
      for (let s = 0; s < S; s++) {
        const x = sa[s], y = sb[s];
        for (let j = 0; j < rows.length; j++) {
          const q = rows[j];
          let t: number = x.pred[q]; x.pred[q] = y.pred[q]; y.pred[q] = t;
          t = x.confidence[q]; x.confidence[q] = y.confidence[q]; y.confidence[q] = t;
          t = x.nll[q]; x.nll[q] = y.nll[q]; y.nll[q] = t;
          t = x.bin[q]; x.bin[q] = y.bin[q]; y.bin[q] = t;
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// JSON form

type Dtype = 'u8' | 'u16' | 'u32' | 'f32' | 'f64' | 'bits';
const CTORS = { u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, f32: Float32Array, f64: Float64Array } as const;

// Typed arrays are stored in the machine's byte order; every platform Node runs on is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('evaluator/replay.ts assumes a little-endian machine');

function encode(dtype: Exclude<Dtype, 'bits'>, values: ArrayLike<number>): string {
  const a = CTORS[dtype].from(values as ArrayLike<number>);
  return `${dtype}:${Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')}`;
}

/** Non-negative integers in the narrowest unsigned dtype that holds them. */
function encodeUints(values: ArrayLike<number>): string {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new RangeError(`replay: ${v} is not an unsigned 32-bit integer`);
    if (v > max) max = v;
  }
  return encode(max < 256 ? 'u8' : max < 65536 ? 'u16' : 'u32', values);
}

function encodeBits(values: ArrayLike<number>): string {
  const bytes = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) if (values[i]) bytes[i >> 3] |= 1 << (i & 7);
  return `bits:${Buffer.from(bytes.buffer).toString('base64')}`;
}

/** A row mask (1 = in) as packed bits, and back. */
export function encodeMask(mask: ArrayLike<number>): string {
  return encodeBits(mask);
}
export function decodeMask(text: unknown, length: number, what: string): Uint8Array {
  return decode(text, length, what, ['bits']) as Uint8Array;
}

/** Decodes "<dtype>:<base64>" into `length` values (checked). */
function decode(text: unknown, length: number, what: string, allowed: readonly Dtype[]): Float64Array | Int32Array | Uint8Array {
  if (typeof text !== 'string') throw new RangeError(`${what}: expected an encoded array, got ${JSON.stringify(text)?.slice(0, 40)}`);
  const colon = text.indexOf(':');
  const dtype = text.slice(0, colon) as Dtype;
  if (colon < 0 || !allowed.includes(dtype)) throw new RangeError(`${what}: dtype "${text.slice(0, Math.max(colon, 0)).slice(0, 10)}" is not one of ${allowed.join(', ')}`);
  const body = text.slice(colon + 1);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new RangeError(`${what}: not base64`);
  const bytes = Buffer.from(body, 'base64');
  if (dtype === 'bits') {
    if (bytes.length !== (length + 7) >> 3) throw new RangeError(`${what}: ${bytes.length} bytes for ${length} bits`);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
    return out;
  }
  const Ctor = CTORS[dtype];
  if (bytes.length !== length * Ctor.BYTES_PER_ELEMENT) throw new RangeError(`${what}: ${bytes.length / Ctor.BYTES_PER_ELEMENT} values, expected ${length}`);
  const copy = new Uint8Array(bytes); // aligned
  const typed = new Ctor(copy.buffer);
  return dtype.startsWith('f') ? Float64Array.from(typed) : Int32Array.from(typed);
}

/** A replay as JSON (stored in result records). */
export type ReplayJson =
  | {
      format: typeof REPLAY_FORMAT;
      kind: 'classification';
      rows: number;
      y: string;
      groups: string[];
      sets: { pred: string; confidence: string; nll: string }[];
      seed_sets: number[];
    }
  | {
      format: typeof REPLAY_FORMAT;
      kind: 'curve';
      rows: number;
      points: number;
      /** Per curve: rows right at the first point and with the clean-pool model; then per flip its row, whether it became right, and per point the flips so far. */
      sets: { correct0: string; clean_correct: string; flip_rows: string; flip_right: string; offsets: string }[];
      seed_sets: number[];
    };

export function encodeReplay(r: Replay): ReplayJson {
  if (r.kind === 'classification') {
    return {
      format: REPLAY_FORMAT,
      kind: 'classification',
      rows: r.n,
      y: encodeUints(r.y),
      groups: r.groups.map(encodeUints),
      // Confidences are float32 probabilities, so f32 holds them exactly.
      sets: r.sets.map((s) => ({ pred: encodeUints(s.pred), confidence: encode('f32', s.confidence), nll: encode('f64', s.nll) })),
      seed_sets: [...r.seedSet],
    };
  }
  return {
    format: REPLAY_FORMAT,
    kind: 'curve',
    rows: r.n,
    points: r.points,
    sets: r.sets.map((c) => ({
      correct0: encodeBits(c.correct0),
      clean_correct: encodeBits(c.cleanCorrect),
      flip_rows: encodeUints(Array.from(c.flips, (f) => Math.abs(f) - 1)),
      flip_right: encodeBits(Array.from(c.flips, (f) => (f > 0 ? 1 : 0))),
      offsets: encodeUints(c.offsets),
    })),
    seed_sets: [...r.seedSet],
  };
}

/** The replay a JSON form encodes; throws a RangeError naming the first malformed field. */
export function decodeReplay(json: ReplayJson, where = 'replay'): Replay {
  if (json === null || typeof json !== 'object' || json.format !== REPLAY_FORMAT) throw new RangeError(`${where}: format should be "${REPLAY_FORMAT}"`);
  const n = json.rows;
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`${where}.rows: ${n} is not a row count`);
  if (!Array.isArray(json.sets) || json.sets.length === 0) throw new RangeError(`${where}.sets: no prediction sets`);
  const seedSet = json.seed_sets;
  if (!Array.isArray(seedSet) || seedSet.length === 0 || !seedSet.every((i) => Number.isInteger(i) && i >= 0 && i < json.sets.length)) {
    throw new RangeError(`${where}.seed_sets: every seed must name one of the ${json.sets.length} sets`);
  }
  const ints: Dtype[] = ['u8', 'u16', 'u32'];
  if (json.kind === 'classification') {
    if (!Array.isArray(json.groups)) throw new RangeError(`${where}.groups: expected a list`);
    return {
      kind: 'classification',
      n,
      y: decode(json.y, n, `${where}.y`, ints) as Int32Array,
      groups: json.groups.map((g, i) => decode(g, n, `${where}.groups[${i}]`, ints) as Int32Array),
      sets: json.sets.map((s, i) => ({
        pred: decode(s?.pred, n, `${where}.sets[${i}].pred`, ints) as Int32Array,
        confidence: decode(s?.confidence, n, `${where}.sets[${i}].confidence`, ['f32']) as Float64Array,
        nll: decode(s?.nll, n, `${where}.sets[${i}].nll`, ['f64']) as Float64Array,
      })),
      seedSet: [...seedSet],
    };
  }
  if (json.kind !== 'curve') throw new RangeError(`${where}.kind: "${(json as { kind?: unknown }).kind}" is neither classification nor curve`);
  const points = json.points;
  if (!(Number.isInteger(points) && points >= 1)) throw new RangeError(`${where}.points: ${points} is not a point count`);
  return {
    kind: 'curve',
    n,
    points,
    sets: json.sets.map((s, i) => {
      const w = `${where}.sets[${i}]`;
      const offsets = decode(s?.offsets, points, `${w}.offsets`, ints) as Int32Array;
      const nFlips = offsets[points - 1];
      for (let p = 1; p < points; p++) if (offsets[p] < offsets[p - 1]) throw new RangeError(`${w}.offsets: decreasing at point ${p}`);
      if (offsets[0] !== 0) throw new RangeError(`${w}.offsets: the first point has no flips into it, got ${offsets[0]}`);
      const rows = decode(s?.flip_rows, nFlips, `${w}.flip_rows`, ints) as Int32Array;
      const right = decode(s?.flip_right, nFlips, `${w}.flip_right`, ['bits']) as Uint8Array;
      const flips = new Int32Array(nFlips);
      for (let q = 0; q < nFlips; q++) {
        if (rows[q] >= n) throw new RangeError(`${w}.flip_rows[${q}]: row ${rows[q]} of ${n}`);
        flips[q] = right[q] ? rows[q] + 1 : -(rows[q] + 1);
      }
      return {
        correct0: decode(s?.correct0, n, `${w}.correct0`, ['bits']) as Uint8Array,
        cleanCorrect: decode(s?.clean_correct, n, `${w}.clean_correct`, ['bits']) as Uint8Array,
        flips,
        offsets,
      };
    }),
    seedSet: [...seedSet],
  };
}
