/**
 * Label-error detection against ground truth: a synthetic pool with known flipped labels
 * (src/pool/synth.ts) and the built-in fashion-mnist pool with seeded 20% symmetric noise.
 * Floors sit a little below the measured figures recorded in docs/analysers.md.
 */
import { describe, it, expect } from 'vitest';
import { createRng, deriveSeed } from '../compute/rng.ts';
import { generateSynthPool, synthClassNames } from '../src/pool/synth.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { chooseKnnWeight, confusionHeatmap, HEATMAP_CLASSES, LOW_SKILL, WEAK_MODEL_ACCURACY, KNN_MIN_GAIN, KNN_MIN_Z, labelErrors, predictiveSkill } from '../src/analysers/label-errors.ts';
import { labelErrorsKnn } from '../src/analysers/label-errors-knn.ts';
import { makeContext, makeSplit, prf, splitFromTable } from './analysers-helpers.ts';
import type { AnalyserResult } from '../src/analysers/types.ts';

const flags = (r: AnalyserResult) => r.findings.map((f) => (f.flagged ? 1 : 0));

describe('label errors on a synthetic pool with 15% flipped labels', () => {
  const p = generateSynthPool({ rows: 5000, dim: 32, classes: 5, noise: 0.15, seed: 1 });
  const names = synthClassNames(5);
  const train = splitFromTable(p.train, names, 'train');
  const noisy = (p.truth.columns.find((c) => c.name === 'noisy') as { values: Uint8Array }).values;
  const ctx = makeContext(train);

  it('confident learning on model and neighbour probabilities finds most flipped labels', async () => {
    const r = await labelErrors.run(ctx, labelErrors.defaults);
    const m = prf(flags(r), noisy);
    // measured: precision 0.696, recall 0.875, F1 0.775 (neighbour weight 0: their log-loss gain is not clear of noise)
    expect(m.precision).toBeGreaterThanOrEqual(0.66);
    expect(m.recall).toBeGreaterThanOrEqual(0.83);
    expect(m.f1).toBeGreaterThanOrEqual(0.74);
    expect(r.findings).toHaveLength(train.n);
    // Suggested labels of flagged rows are mostly the clean ones.
    const clean = (p.truth.columns.find((c) => c.name === 'clean_label') as { values: string[] }).values;
    const flagged = r.findings.map((f, i) => [f, i] as const).filter(([f, i]) => f.flagged && noisy[i]);
    const right = flagged.filter(([f, i]) => f.detail.suggested_label === clean[i]).length;
    expect(right / flagged.length).toBeGreaterThanOrEqual(0.85); // measured 0.901
  });

  it('the neighbour veto (an option, off by default) trades recall for precision', async () => {
    const plain = prf(flags(await labelErrors.run(ctx, { ...labelErrors.defaults, knnK: 0 })), noisy);
    const veto = prf(flags(await labelErrors.run(ctx, { ...labelErrors.defaults, knnWeight: 0, knnMaxAgreement: 0.2 })), noisy);
    // measured: plain precision 0.696, recall 0.875, F1 0.775; with the veto 0.773 / 0.807 / 0.790
    expect(plain.f1).toBeGreaterThanOrEqual(0.73);
    expect(veto.recall).toBeLessThan(plain.recall);
    expect(veto.precision).toBeGreaterThan(plain.precision);
  });

  it('the score ranks flipped labels first', async () => {
    const r = await labelErrors.run(ctx, labelErrors.defaults);
    const order = r.findings.map((f, i) => [f.score, i] as const).sort((a, b) => b[0] - a[0]);
    const top = order.slice(0, 300).filter(([, i]) => noisy[i]).length;
    // measured: 290 of the 300 lowest-quality rows are flipped (a random 300 would hold ~45)
    expect(top).toBeGreaterThanOrEqual(270);
  });

  it('kNN label agreement alone', async () => {
    const m = prf(flags(await labelErrorsKnn.run(ctx, labelErrorsKnn.defaults)), noisy);
    // measured: precision 0.562, recall 0.867, F1 0.682
    expect(m.recall).toBeGreaterThanOrEqual(0.83);
    expect(m.f1).toBeGreaterThanOrEqual(0.64);
  });
});

describe('label errors on fashion-mnist with 20% injected symmetric noise', () => {
  it('meets the F1 floor', async () => {
    const train = await readSplit(await openPool('fashion-mnist'), 'train');
    const k = train.classNames.length;
    const rng = createRng(deriveSeed(42, 'test', 'symmetric-noise'));
    const noisy = new Uint8Array(train.n);
    const perm = rng.permutation(train.n);
    for (let t = 0; t < Math.round(0.2 * train.n); t++) {
      const i = perm[t];
      let c = rng.int(k - 1);
      if (c >= train.labels[i]) c++;
      train.labels[i] = c;
      noisy[i] = 1;
    }
    const ctx = makeContext(train);
    const le = prf(flags(await labelErrors.run(ctx, labelErrors.defaults)), noisy);
    const kn = prf(flags(await labelErrorsKnn.run(ctx, labelErrorsKnn.defaults)), noisy);
    // measured: label-errors precision 0.724, recall 0.931, F1 0.815 (neighbour weight 0.4; plain
    // confident learning on the same probabilities 0.778); kNN agreement F1 0.809
    expect(le.precision).toBeGreaterThanOrEqual(0.69);
    expect(le.recall).toBeGreaterThanOrEqual(0.9);
    expect(le.f1).toBeGreaterThanOrEqual(0.79);
    expect(kn.f1).toBeGreaterThanOrEqual(0.77);
  }, 300_000);
});

describe('the neighbour weight is kept only when its log-loss gain is clear of noise', () => {
  // Twelve rows (two classes) where the neighbours' label distribution lowers the log-loss by
  // 15% on average but raises it on three rows; replicated r times, the relative gain stays the
  // same while its standard error shrinks as 1/√(n − 1).
  const baseP = [0.9, 0.8, 0.7, 0.6, 0.55, 0.45, 0.4, 0.3, 0.8, 0.9, 0.2, 0.65];
  const baseQ = [0.95, 0.9, 0.9, 0.8, 0.8, 0.7, 0.7, 0.6, 0.2, 0.3, 0.3, 0.4];
  const baseY = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
  const replicated = (r: number) => {
    const n = baseP.length * r;
    const proba = new Float32Array(n * 2), q = new Float32Array(n * 2), labels = new Int32Array(n);
    for (let t = 0; t < r; t++) for (let i = 0; i < baseP.length; i++) {
      const j = t * baseP.length + i;
      proba[j * 2] = baseP[i]; proba[j * 2 + 1] = 1 - baseP[i];
      q[j * 2] = baseQ[i]; q[j * 2 + 1] = 1 - baseQ[i];
      labels[j] = baseY[i];
    }
    return chooseKnnWeight({ labels, proba, n, k: 2 }, q);
  };

  it('the same relative gain: dropped on 12 rows, kept on 1,200', () => {
    const small = replicated(1), large = replicated(100);
    const gain = (c: ReturnType<typeof replicated>) => (c.logLoss[0] - Math.min(...c.logLoss)) / c.logLoss[0];
    expect(gain(small)).toBeGreaterThan(KNN_MIN_GAIN);
    expect(gain(large)).toBeCloseTo(gain(small), 6);
    expect(small.z).toBeLessThan(KNN_MIN_Z);
    expect(small.weight).toBe(0);
    expect(large.z).toBeGreaterThanOrEqual(KNN_MIN_Z);
    expect(large.weight).toBeGreaterThan(0);
    // z = mean / (sd / √n) with the sample sd: replicating rows scales it by √((n − 1) / (n₁ − 1)).
    expect(large.z / small.z).toBeCloseTo(Math.sqrt(1199 / 11), 3);
  });
});

describe('label errors where clean classes overlap', () => {
  it('says the flags may be rows lying among another class when the model errs on many rows it does not flag', async () => {
    // No label is wrong: at separation 2.5 the Gaussian classes overlap, and confident
    // learning flags rows deep in another class's region (a teacher's tryout: 5.4% "wrong").
    const overlapping = splitFromTable(generateSynthPool({ rows: 5000, dim: 16, classes: 4, separation: 2.5, noise: 0, seed: 1 }).train, synthClassNames(4), 'train');
    const r = await labelErrors.run(makeContext(overlapping), labelErrors.defaults);
    expect(r.summary.figures.flagged as number).toBeGreaterThan(50);
    expect(r.summary.verdict).toMatch(/Caution: the out-of-sample model also disagrees with [0-9.]+% of the labels it does not flag, so the classes overlap in these features/);
    // Well separated, with real noise: the flags are wrong labels and the caution stays away.
    const separated = splitFromTable(generateSynthPool({ rows: 5000, dim: 16, classes: 4, separation: 6, noise: 0.1, seed: 1 }).train, synthClassNames(4), 'train');
    const q = await labelErrors.run(makeContext(separated), labelErrors.defaults);
    expect(q.summary.figures.flagged as number).toBeGreaterThan(200);
    expect(q.summary.verdict).not.toMatch(/classes overlap/);
  });
});

describe('label errors from a model at chance level', () => {
  it('says the flags are not meaningful when the labels are independent of the features, and not otherwise', async () => {
    const p = generateSynthPool({ rows: 2000, dim: 8, classes: 2, noise: 0, seed: 3 });
    const train = splitFromTable(p.train, synthClassNames(2), 'train');
    const rng = createRng(deriveSeed(5, 'test', 'random-labels'));
    const random = { ...train, labels: Int32Array.from({ length: train.n }, () => rng.int(2)) };
    const r = await labelErrors.run(makeContext(random), labelErrors.defaults);
    expect(r.summary.figures.oos_better_than_majority).toBe(0);
    expect(r.summary.verdict).toMatch(/does not predict the given labels clearly better than always guessing the majority class \(accuracy [0-9.]+ against [0-9.]+ on [0-9,]+ rows, one-sided 95%\)/);
    expect(r.summary.severity).toBe('warning');
    // The same features with their real labels: the model is far better than the majority guess.
    const real = await labelErrors.run(makeContext(train), labelErrors.defaults);
    expect(real.summary.figures.oos_better_than_majority).toBe(1);
    expect(real.summary.verdict).not.toMatch(/no better than/);
  });

  it('the skill test compares accuracy with the majority share', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const always0 = new Float32Array(labels.length * 2).map((_, i) => (i % 2 === 0 ? 0.9 : 0.1));
    const s = predictiveSkill(labels, always0, 2);
    expect(s.accuracy).toBeCloseTo(0.7);
    expect(s.majorityShare).toBeCloseTo(0.7);
    expect(s.better).toBe(false);
    const perfect = new Float32Array(labels.length * 2).map((_, i) => (labels[i >> 1] === (i & 1) ? 0.9 : 0.1));
    expect(predictiveSkill(labels, perfect, 2).better).toBe(true);
  });
});

describe('the confident-joint heatmap', () => {
  const jointOf = (k: number, seed: number) => {
    const rng = createRng(seed);
    return Array.from({ length: k * k }, (_, i) => (Math.floor(i / k) === i % k ? 50 : rng.uniform() < 0.1 ? Math.floor(rng.uniform() * 5) : 0));
  };
  const names = (k: number) => Array.from({ length: k }, (_, i) => `c${i}`);

  it('draws every off-diagonal cell, zeros too, up to HEATMAP_CLASSES classes', () => {
    const k = HEATMAP_CLASSES, joint = jointOf(k, 1);
    const spec = confusionHeatmap(joint, names(k));
    const values = (spec.vegaLite as { data: { values: { given_label: string; true_label_guess: string; count: number }[] } }).data.values;
    expect(values).toHaveLength(k * (k - 1));
    expect(values[0]).toEqual({ given_label: 'c0', true_label_guess: 'c1', count: joint[1] });
    expect(spec.title).toBe('Confident joint (off-diagonal: likely true class ≠ given label)');
    // Both axes in the pool's class order (c2 before c10), not alphabetically.
    const enc = (spec.vegaLite as { encoding: { x: { sort?: string[] }; y: { sort?: string[] } } }).encoding;
    expect(enc.x.sort).toEqual(names(k));
    expect(enc.y.sort).toEqual(names(k));
  });

  it('with 200 classes keeps the 20 with most confusions, only cells with a count, and says how many were left out', () => {
    const k = 200, joint = jointOf(k, 2);
    // Class c7 confused heavily: it must be kept.
    for (let b = 0; b < k; b++) if (b !== 7) joint[7 * k + b] += 3;
    const spec = confusionHeatmap(joint, names(k));
    const values = (spec.vegaLite as { data: { values: { given_label: string; true_label_guess: string; count: number }[] } }).data.values;
    const classes = new Set(values.flatMap((v) => [v.given_label, v.true_label_guess]));
    expect(classes.size).toBeLessThanOrEqual(HEATMAP_CLASSES);
    expect(classes.has('c7')).toBe(true);
    expect(values.every((v) => v.count > 0 && v.given_label !== v.true_label_guess)).toBe(true);
    expect(values.length).toBeLessThanOrEqual(HEATMAP_CLASSES * (HEATMAP_CLASSES - 1));
    expect(spec.title).toContain(`${k - HEATMAP_CLASSES} of ${k} classes left out`);
  });
});

describe('a model wrong on most rows', () => {
  it('says the flagged share is an upper bound: 200 classes of 40 rows, 20% flipped', async () => {
    const p = generateSynthPool({ rows: 10000, dim: 32, classes: 200, noise: 0.2, seed: 0 });
    const train = splitFromTable(p.train, synthClassNames(200), 'train');
    const r = await labelErrors.run(makeContext(train), labelErrors.defaults);
    const f = r.summary.figures;
    // measured: accuracy 0.198, 71.6% flagged against 20% flipped
    expect(f.oos_accuracy_given as number).toBeLessThan(WEAK_MODEL_ACCURACY);
    expect(f.flagged_share as number).toBeGreaterThan(0.5);
    expect(f.weak_model).toBe(1);
    expect(r.summary.verdict).toContain(`Caution: the out-of-sample model agrees with only ${(100 * (f.oos_accuracy_given as number)).toFixed(1)}% of the given labels`);
    // The neighbours' view says the same of the space (measured: mean agreement 3.5%).
    const knn = await labelErrorsKnn.run(makeContext(train), labelErrorsKnn.defaults);
    expect(knn.summary.verdict).toMatch(/Caution: on average only \d+\.\d% of a row's neighbours share its label/);
  }, 120_000);

  it('does not say so where the model is right on most rows; says instead where it is barely better than the majority guess', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train');
    const r = await labelErrors.run(makeContext(train), labelErrors.defaults);
    expect(r.summary.figures.oos_accuracy_given as number).toBeGreaterThan(WEAK_MODEL_ACCURACY);
    expect(r.summary.figures.weak_model).toBe(0);
    expect(r.summary.verdict).not.toContain('agrees with only');
    // German credit: right on about 75% against 70% for "good" always: the flags may be overlap.
    expect(r.summary.figures.skill_over_majority as number).toBeLessThan(LOW_SKILL);
    expect(r.summary.figures.low_skill).toBe(1);
    expect(r.summary.verdict).toMatch(/Caution: the out-of-sample model is right on \d+\.\d% of the given labels, where always guessing the majority class is right on 70\.0%/);
    const knn = await labelErrorsKnn.run(makeContext(train), labelErrorsKnn.defaults);
    expect(knn.summary.verdict).not.toContain('Caution');
  }, 120_000);
});

describe('two classes the features do not separate', () => {
  it('says most flags are rows the model is undecided on (overlap, not only wrong labels)', async () => {
    const rng = createRng(31);
    const n = 6000, d = 5;
    // Class p is shifted; q and r are drawn from the same distribution, and no label is flipped.
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const X = Float32Array.from({ length: n * d }, (_, t) => rng.normal() + (labels[Math.floor(t / d)] === 0 && t % d === 0 ? 2 : 0));
    const split = makeSplit({ features: X, n, d, labels, classNames: ['p', 'q', 'r'] });
    const r = await labelErrors.run(makeContext(split), labelErrors.defaults);
    const f = r.summary.figures;
    expect(f.flagged as number).toBeGreaterThan(100);
    expect((f.undecided_flags as number) / (f.flagged as number)).toBeGreaterThan(0.5);
    expect(r.summary.verdict).toMatch(/Caution: the model is nearly undecided on \d+\.\d% of the flagged rows/);
  }, 120_000);
});

describe('a class of a handful of rows', () => {
  it('is marked too small to judge, and its confident-joint counts stay out of the verdict', async () => {
    const rng = createRng(5);
    const n = 901, d = 4;
    // Three separated classes of 300 rows and one of a single row, a copy of a class-a row (an
    // image folder of one file, say): its threshold is the model's probability on that one row.
    const labels = Int32Array.from({ length: n }, (_, i) => (i === n - 1 ? 3 : i % 3));
    const X = new Float32Array(n * d);
    for (let i = 0; i < n - 1; i++) for (let j = 0; j < d; j++) X[i * d + j] = rng.normal() + (j === labels[i] ? 2 : 0);
    X.set(X.subarray(0, d), (n - 1) * d);
    const split = makeSplit({ features: X, n, d, labels, classNames: ['a', 'b', 'c', 'single'] });
    const r = await labelErrors.run(makeContext(split), labelErrors.defaults);
    expect(r.summary.figures.classes_too_small_to_judge).toBe(1);
    expect(r.summary.verdict).toContain('Caution: class single (1 row) has fewer than 10 rows, too few to judge');
    expect(r.summary.verdict).not.toMatch(/Most confusions[^.]*single/);
    // No row of a, b or c is counted towards single (cleanlab's rule counted 216 of 900), and none is flagged as one.
    const joint = r.tables!.find((t) => t.name === 'confident_joint')!.rows;
    expect(joint.filter((x) => x.true_label_guess === 'single' && x.given_label !== 'single').map((x) => x.count)).toEqual([0, 0, 0]);
    expect(r.findings.filter((x) => x.flagged && x.detail.suggested_label === 'single')).toEqual([]);
    expect(r.summary.figures.flagged as number).toBeLessThan(60);
    const byClass = r.tables!.find((t) => t.name === 'label_errors_by_class')!.rows;
    expect(byClass.map((x) => x.too_small_to_judge)).toEqual([false, false, false, true]);
  }, 120_000);
});

describe('label-errors-knn on tabular features', () => {
  it("finds neighbours by Euclidean distance on the standardised columns: two classes on shells around the centre, which cosine cannot tell apart", async () => {
    // Class a at radius 1, class b at radius 3, same directions: every angle is shared, so cosine
    // neighbours carry either label at random; distances separate them. Labels are clean.
    const rng = createRng(11);
    const n = 400, d = 4;
    const features = new Float32Array(n * d);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      const u = Array.from({ length: d }, () => rng.normal());
      const norm = Math.hypot(...u);
      const r = (labels[i] ? 3 : 1) + 0.1 * rng.normal();
      for (let c = 0; c < d; c++) features[i * d + c] = (r * u[c]) / norm;
    }
    const tabular = makeSplit({ features, n, d, labels, classNames: ['a', 'b'] });
    const r = await labelErrorsKnn.run(makeContext(tabular), labelErrorsKnn.defaults);
    expect(r.summary.figures.metric).toBe('euclidean');
    expect(r.summary.figures.mean_agreement as number).toBeGreaterThan(0.9);
    expect(r.summary.figures.flagged as number).toBeLessThan(10);
  });
});
