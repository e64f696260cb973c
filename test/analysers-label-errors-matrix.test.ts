/**
 * Small cells of the label-error matrix (bench/label-errors-matrix.ts): the analyser's default
 * rule on noise models and data kinds other than symmetric noise on embeddings, with the audit's
 * cross-validation (auditCv: two 10-fold runs averaged on these small pools). Floors sit a little below the measured
 * figures (in the comments) and above what the earlier defaults (confident learning with a
 * neighbour veto; one 5-fold run) reached, so a regression of the rule fails here.
 */
import { describe, it, expect } from 'vitest';
import { labelErrorScores, labelErrors, scoreLabelErrors } from '../src/analysers/label-errors.ts';
import type { PoolSplit } from '../src/pool/types.ts';
import { computeOosPredictions, defaultOosModel, type OosFeatureKind } from '../src/analysers/oos.ts';
import { applyNoise, auroc, drawsMark, pairedVerdict, prf, type NoiseModel } from './fixtures/label-noise.ts';
import { adultLike, fashionFromPool, germanCredit, noiseGenerator, synthEmbeddings } from './fixtures/label-error-cells.ts';
import { makeContext } from './analysers-helpers.ts';
import { auditCv } from '../src/analysers/types.ts';

// The benchmark's noise generator (an MLP: a model family neither detector fits).
const GENERATOR = noiseGenerator();

async function cell(clean: PoolSplit, featureKind: OosFeatureKind, noise: NoiseModel, seed = 3, cv?: { folds: number; repeats?: number }) {
  const k = clean.classNames.length;
  const cleanProba = noise.kind === 'instance' || noise.kind === 'confusable'
    ? (await computeOosPredictions(clean, { model: GENERATOR, folds: 5, seed: 1 })).proba : undefined;
  const noisy = applyNoise(clean.labels, k, noise, seed, cleanProba);
  const split: PoolSplit = { ...clean, labels: noisy.labels, features: clean.features.slice() };
  const ctx = makeContext(split, { model: defaultOosModel('logistic-regression', featureKind, 0), ...(cv ?? auditCv(split.n)) });
  const r = await labelErrors.run(ctx, labelErrors.defaults);
  const flags = r.findings.map((f) => (f.flagged ? 1 : 0));
  const oos = await ctx.oos();
  // Plain confident learning on the same probabilities: what cleanlab's find_label_issues does.
  const plain = scoreLabelErrors({ labels: split.labels, proba: oos.proba, n: split.n, k }, { knnK: 0 });
  // The previous default: confident learning on the model alone, confirmed by a neighbour veto.
  const veto = (await labelErrorScores(ctx, { ...labelErrors.defaults, knnWeight: 0, knnMaxAgreement: 0.2 })).scores.mask;
  const out = {
    ours: prf(flags, noisy.noisy),
    veto: prf(veto, noisy.noisy),
    plain: prf(plain.mask, noisy.noisy),
    auroc: auroc(r.findings.map((f) => f.score), noisy.noisy),
    selfConfidenceAuroc: auroc(Array.from(plain.selfConfidence, (v) => -v), noisy.noisy),
    est: Number(r.summary.figures.estimated_noise_rate),
    trueRate: noisy.rate,
    knnWeight: Number(r.summary.figures.knn_weight),
    noisy: noisy.noisy,
    labels: noisy.labels,
    cleanProba,
    clean: clean.labels,
  };
  const chosen = (await labelErrorScores(ctx, labelErrors.defaults)).scores;
  Object.assign(out, { logLoss: chosen.logLoss, knnGainZ: chosen.knnGainZ });
  if (process.env.LE_PRINT) console.log(JSON.stringify({ f1: out.ours.f1, p: out.ours.precision, r: out.ours.recall, plain: out.plain.f1, veto: out.veto.f1, auroc: out.auroc, sc: out.selfConfidenceAuroc, est: out.est, w: out.knnWeight }));
  return out as typeof out & { logLoss?: number[]; knnGainZ?: number };
}

describe('label-error matrix cells', () => {
  it('pixels (Fashion-MNIST pool rows), 40% pair flips: the neighbour blend is chosen and pays', async () => {
    const c = await cell(await fashionFromPool(3000, 0, 6), 'pixels', { kind: 'pair', rate: 0.4 });
    // measured: F1 0.688 (plain confident learning 0.645), AUROC 0.710 (self-confidence on the model alone 0.685), weight 0.5
    expect(c.knnWeight).toBeGreaterThan(0);
    expect(c.ours.f1).toBeGreaterThan(c.plain.f1 + 0.02);
    expect(c.auroc).toBeGreaterThan(c.selfConfidenceAuroc + 0.015);
  }, 120_000);

  it('tabular (german-credit), 20% symmetric noise: two 10-fold runs rank better than one 5-fold run', async () => {
    const ours = await cell(await germanCredit(), 'tabular', { kind: 'symmetric', rate: 0.2 });
    const fiveFold = await cell(await germanCredit(), 'tabular', { kind: 'symmetric', rate: 0.2 }, 3, { folds: 5 });
    // measured: AUROC 0.776 against 0.768, F1 0.473 against 0.458 (weight 0: confident learning on the model alone)
    expect(ours.knnWeight).toBe(0);
    expect(ours.auroc).toBeGreaterThan(fiveFold.selfConfidenceAuroc);
    expect(ours.ours.f1).toBeGreaterThanOrEqual(ours.plain.f1);
  }, 60_000);

  it('embeddings, 40% pair flips: neighbours do not veto true errors', async () => {
    const c = await cell(synthEmbeddings(2500, { dim: 32, classes: 8, seed: 11 }), 'embedding', { kind: 'pair', rate: 0.4 });
    // measured: F1 0.639 (plain confident learning 0.607, the neighbour veto 0.448), AUROC 0.694 (self-confidence 0.680), weight 0.4
    expect(c.ours.f1).toBeGreaterThanOrEqual(0.6);
    expect(c.ours.f1).toBeGreaterThanOrEqual(c.plain.f1);
    expect(c.ours.f1).toBeGreaterThan(c.veto.f1 + 0.05);
    expect(c.auroc).toBeGreaterThanOrEqual(c.selfConfidenceAuroc);
    expect(Math.abs(c.est - c.trueRate)).toBeLessThanOrEqual(0.25 * c.trueRate);
  }, 60_000);

  it('tabular (Adult-like one-hot), 20% symmetric noise', async () => {
    const c = await cell(adultLike(2500, 5), 'tabular', { kind: 'symmetric', rate: 0.2 });
    // measured: F1 0.608 (plain 0.608: weight 0, veto 0.398), AUROC 0.880 (= self-confidence), estimated noise 19.9% of 20%
    expect(c.ours.f1).toBeGreaterThanOrEqual(0.58);
    expect(c.knnWeight).toBe(0);
    expect(c.ours.f1).toBeGreaterThanOrEqual(c.plain.f1);
    expect(c.ours.f1).toBeGreaterThan(c.veto.f1 + 0.05);
    expect(c.auroc).toBeGreaterThanOrEqual(c.selfConfidenceAuroc);
    expect(Math.abs(c.est - c.trueRate)).toBeLessThanOrEqual(0.25 * c.trueRate);
  }, 60_000);

  it('tabular (german-credit), 20% pair flips', async () => {
    const c = await cell(await germanCredit(), 'tabular', { kind: 'pair', rate: 0.2 });
    // measured: F1 0.500 (plain 0.500, veto 0.280), AUROC 0.802
    expect(c.ours.f1).toBeGreaterThanOrEqual(0.47);
    expect(c.ours.f1).toBeGreaterThanOrEqual(c.plain.f1);
    expect(c.ours.f1).toBeGreaterThan(c.veto.f1 + 0.05);
    expect(c.auroc).toBeGreaterThanOrEqual(c.selfConfidenceAuroc);
  }, 60_000);

  it('embeddings, instance-dependent noise (flips to the clean model\'s second choice)', async () => {
    const c = await cell(synthEmbeddings(2500, { dim: 32, classes: 8, seed: 12 }), 'embedding', { kind: 'instance', rate: 0.2 });
    // measured (MLP generator): F1 0.475 (plain 0.475, veto 0.349, neighbour weight 0), AUROC 0.867,
    // estimated noise 8.1% of 20%: plausible flips are the hardest (0.391 with the former raw-feature
    // logistic-regression generator)
    expect(c.ours.f1).toBeGreaterThanOrEqual(0.44);
    expect(c.ours.f1).toBeGreaterThan(c.veto.f1 + 0.05);
    expect(c.ours.f1).toBeGreaterThanOrEqual(c.plain.f1);
  }, 60_000);

  it('tabular (german-credit), 30% instance noise: a log-loss gain within noise earns the neighbours no weight', async () => {
    // The benchmark's held-out cell (noise seed 7): the best weight lowers the log-loss by 2.5%
    // but at z ≈ 2 on 700 rows; the former rule (≥ 2% on any number of rows) kept it and lost
    // 0.047 F1 (0.506 against 0.553 for the model alone).
    const c = await cell(await germanCredit(), 'tabular', { kind: 'instance', rate: 0.3 }, 7);
    const ll = c.logLoss!;
    expect((ll[0] - Math.min(...ll)) / ll[0]).toBeGreaterThan(0.02);
    expect(c.knnGainZ!).toBeLessThan(5);
    expect(c.knnWeight).toBe(0);
    expect(c.ours.f1).toBe(c.plain.f1);
    expect(c.ours.f1).toBeGreaterThanOrEqual(0.52); // measured 0.553
  }, 60_000);

  it('pixels (Fashion-MNIST pool rows), instance-dependent noise: precise flags, a ranking ahead of self-confidence, a short count', async () => {
    const c = await cell(await fashionFromPool(3000, 0, 6), 'pixels', { kind: 'instance', rate: 0.2 });
    // measured: F1 0.485 (plain confident learning 0.485: weight 0 on 3,000 rows; the former veto 0.343),
    // precision 0.708, recall 0.368, AUROC 0.882 (= self-confidence), estimate 7.9% of 20%
    // Why the count falls short (docs/analysers.md): most flips move a row to the generator's own
    // prediction, so the noisy labels agree with a model of the features more than the clean ones.
    const k = 10;
    let agreeNoisy = 0, agreeClean = 0;
    for (let i = 0; i < c.labels.length; i++) {
      let best = 0; for (let j = 1; j < k; j++) if (c.cleanProba![i * k + j] > c.cleanProba![i * k + best]) best = j;
      agreeNoisy += +(best === c.labels[i]); agreeClean += +(best === c.clean[i]);
    }
    expect(agreeNoisy).toBeGreaterThan(agreeClean);
    expect(c.est).toBeLessThan(c.trueRate);
    expect(c.ours.precision).toBeGreaterThanOrEqual(0.63);
    expect(c.ours.f1).toBeGreaterThanOrEqual(0.44);
    expect(c.ours.f1).toBeGreaterThanOrEqual(c.plain.f1 - 0.01);
    expect(c.ours.f1).toBeGreaterThan(c.veto.f1 + 0.05);
    expect(c.auroc).toBeGreaterThanOrEqual(c.selfConfidenceAuroc);
  }, 120_000);

  it('tabular (Adult-like one-hot), instance-dependent noise: flags as cleanlab\'s on the same probabilities, a floor', async () => {
    const c = await cell(adultLike(2500, 5), 'tabular', { kind: 'instance', rate: 0.2 });
    // measured: F1 0.416 (plain 0.416, the former veto 0.220), precision 0.593, AUROC 0.850 (= self-confidence), estimate 7.7% of 20%
    expect(c.knnWeight).toBe(0);
    expect(c.ours.f1).toBe(c.plain.f1);
    expect(c.ours.precision).toBeGreaterThanOrEqual(0.53);
    expect(c.ours.f1).toBeGreaterThanOrEqual(0.37);
    expect(c.ours.f1).toBeGreaterThan(c.veto.f1 + 0.05);
    expect(c.auroc).toBeGreaterThanOrEqual(c.selfConfidenceAuroc);
  }, 60_000);
});

describe('the matrix\'s judgement over noise draws (pairedVerdict)', () => {
  it('ahead, a tie within noise, worse beyond noise, undetermined', () => {
    expect(pairedVerdict(0.001, 0.03, 0.02)).toBe('ahead');
    expect(pairedVerdict(-0.019, 0.01, 0.02)).toBe('tie within noise');
    expect(pairedVerdict(0, 0, 0.02)).toBe('tie within noise'); // the same flags on every draw
    expect(pairedVerdict(-0.03, 0.01, 0.02)).toBe('undetermined');
    expect(pairedVerdict(-0.05, -0.001, 0.02)).toBe('worse beyond noise');
    expect(pairedVerdict(-0.011, -0.001, 0.02)).toBe('worse beyond noise'); // small but clear of noise: not a tie
  });
  it('a cell\'s mark from its judgements over the same draws (drawsMark)', () => {
    // A pass at the matrix's seed that is behind on average over the draws is a tie, not a yes.
    expect(drawsMark([{ verdict: 'tie within noise', mean: 0 }, { verdict: 'tie within noise', mean: -0.004 }])).toBe('tie');
    // A miss at the seed that is ahead on average over the draws is a yes.
    expect(drawsMark([{ verdict: 'tie within noise', mean: 0 }, { verdict: 'ahead', mean: 0.011 }])).toBe('yes');
    expect(drawsMark([{ verdict: 'ahead', mean: 0.02 }, { verdict: 'undetermined', mean: 0.001 }])).toBe('NO');
    expect(drawsMark([{ verdict: 'worse beyond noise', mean: -0.1 }, { verdict: 'ahead', mean: 0.01 }])).toBe('NO');
    expect(() => drawsMark([])).toThrow(/no judgement/);
  });
});
