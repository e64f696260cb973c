import { describe, expect, it } from 'vitest';
import { generateSynthPool, geometricClassSizes, type SynthPool } from '../src/pool/synth.ts';
import type { ColumnData, TableData } from '../src/pool/duckdb.ts';
import { SieveError } from '../src/util/errors.ts';

function col<T extends ColumnData['type']>(t: TableData, name: string, type: T): Extract<ColumnData, { type: T }> {
  const c = t.columns.find((x) => x.name === name);
  if (!c || c.type !== type) throw new Error(`column ${name} of type ${type} missing`);
  return c as Extract<ColumnData, { type: T }>;
}

/** Class indices of a VARCHAR label column, given the pool's class names. */
function classIdx(p: SynthPool, values: (string | null)[]): Int32Array {
  return Int32Array.from(values, (v) => p.manifestDraft.classes.indexOf(v!));
}

const teach = {
  rows: 5000, dim: 16, classes: 4, noise: 0.2, noiseType: 'symmetric' as const, exactDups: 60, nearDups: 40,
  imbalance: 4, groupNoiseFactor: 3, groupPriorShift: 0.5, seed: 11,
};

describe('generateSynthPool', () => {
  const p = generateSynthPool(teach);
  const trainIds = col(p.train, 'id', 'VARCHAR').values as string[];
  const testIds = col(p.test, 'id', 'VARCHAR').values as string[];
  const y = classIdx(p, col(p.train, 'label', 'VARCHAR').values);
  const clean = classIdx(p, col(p.truth, 'clean_label', 'VARCHAR').values);
  const noisy = col(p.truth, 'noisy', 'BOOLEAN').values;
  const group = col(p.train, 'group', 'VARCHAR').values;
  const X = col(p.train, 'embedding', 'FLOAT[]').values;
  const Xt = col(p.test, 'embedding', 'FLOAT[]').values;
  const d = teach.dim;

  it('splits rows 80/20 by default, ids unique across splits, truth aligned with train', () => {
    expect(p.train.n).toBe(4000);
    expect(p.test.n).toBe(1000);
    expect(new Set([...trainIds, ...testIds]).size).toBe(5000);
    expect(col(p.truth, 'id', 'VARCHAR').values).toEqual(trainIds);
    expect(X.length).toBe(4000 * d);
    expect(Xt.length).toBe(1000 * d);
  });

  it('flags exactly the rows whose label differs from the clean one, at the asked overall rate', () => {
    let flagged = 0;
    for (let i = 0; i < p.train.n; i++) {
      expect(noisy[i]).toBe(y[i] !== clean[i] ? 1 : 0);
      flagged += noisy[i];
    }
    // Exact per-group counts: only rounding separates the overall rate from the asked 20%.
    expect(Math.abs(flagged / p.train.n - 0.2)).toBeLessThan(0.001);
    expect(p.stats.noisyRows).toBe(flagged);
  });

  it('gives group b three times the noise rate of group a, and a different class prior', () => {
    const rows = { a: 0, b: 0 }, bad = { a: 0, b: 0 }, c0 = { a: 0, b: 0 };
    for (let i = 0; i < p.train.n; i++) {
      const g = group[i] as 'a' | 'b';
      rows[g]++; bad[g] += noisy[i]; if (clean[i] === 0) c0[g]++;
    }
    const ratio = bad.b / rows.b / (bad.a / rows.a);
    expect(ratio).toBeGreaterThan(2.9);
    expect(ratio).toBeLessThan(3.1);
    // Shift 0.5 tilts group b towards class 0: P(c0 | b) clearly above P(c0 | a).
    expect(c0.b / rows.b - c0.a / rows.a).toBeGreaterThan(0.15);
  });

  it('makes the class sizes geometric with the asked largest/smallest ratio, in both splits', () => {
    for (const [counts, n] of [[p.stats.classCounts.train, 4000], [p.stats.classCounts.test, 1000]] as const) {
      expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
      expect(Math.max(...counts) / Math.min(...counts)).toBeCloseTo(4, 1);
    }
    const observed = [0, 0, 0, 0];
    for (const c of clean) observed[c]++;
    expect(observed).toEqual(p.stats.classCounts.train);
    expect(geometricClassSizes(10, 3, 1)).toEqual([4, 3, 3]);
    expect(geometricClassSizes(1000, 2, 9)).toEqual([900, 100]);
  });

  it('plants real exact and near duplicates, some across train/test, each row in one pair at most', () => {
    const a = col(p.duplicates, 'a', 'VARCHAR').values as string[];
    const b = col(p.duplicates, 'b', 'VARCHAR').values as string[];
    const kind = col(p.duplicates, 'kind', 'VARCHAR').values;
    const cross = col(p.duplicates, 'cross_split', 'BOOLEAN').values;
    expect(p.duplicates.n).toBe(100);
    expect(kind.filter((k) => k === 'exact').length).toBe(60);
    expect(new Set([...a, ...b]).size).toBe(200);
    const trainPos = new Map(trainIds.map((id, i) => [id, i]));
    const testPos = new Map(testIds.map((id, i) => [id, i]));
    let crossCount = 0;
    for (let q = 0; q < p.duplicates.n; q++) {
      const ia = trainPos.get(a[q])!;
      expect(ia).toBeDefined();
      const inTest = testPos.has(b[q]);
      expect(inTest).toBe(cross[q] === 1);
      crossCount += cross[q];
      const ib = inTest ? testPos.get(b[q])! : trainPos.get(b[q])!;
      const xb = inTest ? Xt : X;
      let dist2 = 0;
      for (let j = 0; j < d; j++) dist2 += (X[ia * d + j] - xb[ib * d + j]) ** 2;
      if (kind[q] === 'exact') expect(dist2).toBe(0);
      else {
        // Jitter std 0.05 in 16 dims: distance ≈ 0.2, far below the ≈ 5.7 between two random same-class rows.
        expect(dist2).toBeGreaterThan(0);
        expect(Math.sqrt(dist2)).toBeLessThan(0.5);
      }
      // Same clean class on both sides (test labels are clean).
      const lb = inTest ? classIdx(p, [col(p.test, 'label', 'VARCHAR').values[ib]])[0] : clean[ib];
      expect(lb).toBe(clean[ia]);
    }
    expect(crossCount).toBe(20);
    expect(p.stats.crossSplitPairs).toBe(20);
  });

  it('puts classes in separated clusters: nearest centroid on clean labels is accurate', () => {
    const k = 4, mu = new Float64Array(k * d), cnt = new Float64Array(k);
    for (let i = 0; i < p.train.n; i++) { cnt[clean[i]]++; for (let j = 0; j < d; j++) mu[clean[i] * d + j] += X[i * d + j]; }
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) mu[c * d + j] /= cnt[c];
    const yt = classIdx(p, col(p.test, 'label', 'VARCHAR').values);
    let right = 0;
    for (let i = 0; i < p.test.n; i++) {
      let best = -1, bestD = Infinity;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (Xt[i * d + j] - mu[c * d + j]) ** 2;
        if (s < bestD) { bestD = s; best = c; }
      }
      if (best === yt[i]) right++;
    }
    expect(right / p.test.n).toBeGreaterThan(0.9);
  });

  it('is deterministic by seed and changes with it', () => {
    const again = generateSynthPool(teach);
    expect(Buffer.from(col(again.train, 'embedding', 'FLOAT[]').values.buffer).equals(Buffer.from(X.buffer))).toBe(true);
    expect(col(again.train, 'label', 'VARCHAR').values).toEqual(col(p.train, 'label', 'VARCHAR').values);
    expect(col(again.duplicates, 'b', 'VARCHAR').values).toEqual(col(p.duplicates, 'b', 'VARCHAR').values);
    const other = generateSynthPool({ ...teach, seed: 12 });
    expect(Buffer.from(col(other.train, 'embedding', 'FLOAT[]').values.buffer).equals(Buffer.from(X.buffer))).toBe(false);
  });

  it('keeps features independent of the noise and duplicate settings (separate seeded streams)', () => {
    const plain = generateSynthPool({ ...teach, noise: 0, exactDups: 0, nearDups: 0 });
    const Xp = col(plain.train, 'embedding', 'FLOAT[]').values;
    // Rows untouched by duplicates are bit-identical.
    const targets = new Set(col(p.duplicates, 'b', 'VARCHAR').values);
    for (let i = 0; i < 200; i++) {
      if (targets.has(trainIds[i])) continue;
      for (let j = 0; j < d; j++) expect(Xp[i * d + j]).toBe(X[i * d + j]);
    }
    expect(col(plain.truth, 'noisy', 'BOOLEAN').values.every((v) => v === 0)).toBe(true);
  });
});

describe('label noise types', () => {
  const base = { rows: 6000, dim: 4, classes: 5, noise: 0.3, seed: 3 };
  const flips = (p: SynthPool) => {
    const y = classIdx(p, col(p.train, 'label', 'VARCHAR').values);
    const c = classIdx(p, col(p.truth, 'clean_label', 'VARCHAR').values);
    const m: number[][] = Array.from({ length: 5 }, () => new Array(5).fill(0));
    for (let i = 0; i < y.length; i++) if (y[i] !== c[i]) m[c[i]][y[i]]++;
    return m;
  };

  it('asymmetric noise only flips class i to (i+1) mod k', () => {
    const m = flips(generateSynthPool({ ...base, noiseType: 'asymmetric' }));
    let total = 0;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
      if (j !== (i + 1) % 5) expect(m[i][j]).toBe(0);
      total += m[i][j];
    }
    expect(total).toBe(Math.round(0.3 * 4800));
  });

  it('symmetric noise spreads flips over all other classes about evenly', () => {
    const m = flips(generateSynthPool({ ...base, noiseType: 'symmetric' }));
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
      if (i === j) expect(m[i][j]).toBe(0);
      // ≈ 1440 flips / 20 off-diagonal cells = 72 each.
      else expect(Math.abs(m[i][j] - 72)).toBeLessThan(35);
    }
  });

  it('mixed noise does both', () => {
    const m = flips(generateSynthPool({ ...base, noiseType: 'mixed' }));
    let next = 0, other = 0;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) if (i !== j) (j === (i + 1) % 5 ? (next += m[i][j]) : (other += m[i][j]));
    // Half asymmetric plus a quarter of the symmetric half land on i+1: 62.5% vs 37.5%.
    expect(next / (next + other)).toBeGreaterThan(0.55);
    expect(next / (next + other)).toBeLessThan(0.7);
  });
});

describe('planted outliers', () => {
  it('replaces train rows outside the duplicate pairs by wide rows, marked in truth; without them nothing changes', () => {
    const base = generateSynthPool(teach);
    const p = generateSynthPool({ ...teach, outliers: 25 });
    const mark = col(p.truth, 'outlier', 'BOOLEAN').values;
    expect(mark.reduce((a, b) => a + b, 0)).toBe(25);
    expect(base.truth.columns.map((c) => c.name)).toEqual(['id', 'clean_label', 'noisy']);
    expect(Object.keys(base.manifestDraft.datasheet.injected as object)).not.toContain('outliers');
    const X0 = col(base.train, 'embedding', 'FLOAT[]').values, X1 = col(p.train, 'embedding', 'FLOAT[]').values;
    const d = teach.dim;
    const pairRows = new Set([...col(p.duplicates, 'a', 'VARCHAR').values, ...col(p.duplicates, 'b', 'VARCHAR').values]);
    const ids = col(p.train, 'id', 'VARCHAR').values;
    let changedOthers = 0, meanNorm = 0;
    for (let i = 0; i < p.train.n; i++) {
      let same = true, sq = 0;
      for (let j = 0; j < d; j++) { same &&= X0[i * d + j] === X1[i * d + j]; sq += X1[i * d + j] ** 2; }
      if (mark[i]) { meanNorm += Math.sqrt(sq) / 25; expect(pairRows.has(ids[i]!)).toBe(false); } else if (!same) changedOthers++;
    }
    expect(changedOthers).toBe(0);
    expect(meanNorm).toBeGreaterThan(4 * Math.sqrt(d)); // 6 × N(0, I): norm ≈ 6 √d, the clusters' ≈ √(d + 2.5²)
    // Labels, groups, duplicates and noise are those of the pool without outliers.
    expect(col(p.train, 'label', 'VARCHAR').values).toEqual(col(base.train, 'label', 'VARCHAR').values);
    expect(col(p.duplicates, 'b', 'VARCHAR').values).toEqual(col(base.duplicates, 'b', 'VARCHAR').values);
    expect(() => generateSynthPool({ ...teach, outliers: 4000 })).toThrow(/outliers need/);
  });
});

describe('synth option validation', () => {
  const bad = (o: Parameters<typeof generateSynthPool>[0], msg: RegExp) => {
    try {
      generateSynthPool(o);
    } catch (err) {
      expect(err).toBeInstanceOf(SieveError);
      expect((err as Error).message).toMatch(msg);
      return;
    }
    throw new Error('expected a SieveError');
  };
  it('rejects impossible settings with a message naming the option', () => {
    bad({ rows: 100, dim: 2, classes: 2, exactDups: 60 }, /60 duplicate pairs need 120 distinct rows; only 80 train rows/);
    bad({ rows: 100, dim: 2, classes: 2, noise: 0.5, groupNoiseFactor: 4 }, /rate of 1\.\d+ in one group/);
    bad({ rows: 100, dim: 0, classes: 2 }, /dim must be an integer ≥ 1/);
    bad({ rows: 100, dim: 2, classes: 1 }, /classes must be an integer ≥ 2/);
    bad({ rows: 100, dim: 2, classes: 2, imbalance: 0.5 }, /imbalance must be ≥ 1/);
    bad({ rows: 100, dim: 2, classes: 2, noise: 1.5 }, /noise must be between 0 and 1/);
    bad({ rows: 100, dim: 2, classes: 2, noiseType: 'bogus' as never }, /noise type must be/);
    bad({ rows: 10, dim: 2, classes: 2, testRows: 1 }, /1 test rows cannot hold 2 classes/);
  });
});
