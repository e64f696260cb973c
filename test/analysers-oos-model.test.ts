import { describe, expect, it } from 'vitest';
import type { Challenge } from '../src/challenge/schema.ts';
import type { Pool } from '../src/pool/read.ts';
import { resolveOosModel, type AuditTarget } from '../src/audit/target.ts';
import { computeOosPredictions, defaultOosModel, describeOosFeatures, oosAccuracy, oosFeatureKind } from '../src/analysers/oos.ts';
import { SieveError } from '../src/util/errors.ts';
import { deriveSeed } from '../compute/rng.ts';
import { makeSplit } from './analysers-helpers.ts';
import { smallTabular } from './fixtures/small-tabular.ts';

/**
 * Out-of-sample probabilities of scikit-learn 1.2.1 on the small tabular case: StandardScaler
 * on all 8 columns (2 numeric, 6 one-hot), LogisticRegression(C=1, tol=1e-12) per fold, on the
 * folds of evaluator/oos.ts stratifiedFolds(labels, 3, 5, seed 0); row-major 90 × 3.
 */
const SKLEARN_PROBA = [0.961926,0.036293,0.001780,0.062771,0.934552,0.002676,0.716304,0.278106,0.005590,0.165136,0.831316,0.003548,0.998885,0.000911,0.000204,0.000265,0.999507,0.000228,0.986791,0.012404,0.000805,0.063156,0.020257,0.916586,0.936964,0.060664,0.002371,0.039706,0.958059,0.002236,0.953048,0.045169,0.001783,0.039513,0.958101,0.002386,0.628202,0.368421,0.003377,0.006286,0.992598,0.001116,0.990213,0.008975,0.000812,0.028994,0.969097,0.001908,0.825524,0.170758,0.003718,0.924892,0.071920,0.003189,0.948820,0.049293,0.001887,0.178509,0.816174,0.005317,0.991384,0.007850,0.000766,0.196004,0.799740,0.004255,0.386670,0.608375,0.004955,0.035821,0.961914,0.002264,0.976611,0.022054,0.001335,0.028325,0.970168,0.001507,0.454891,0.540689,0.004420,0.009339,0.989132,0.001529,0.902521,0.094831,0.002648,0.068201,0.928826,0.002973,0.894689,0.101431,0.003881,0.075186,0.922335,0.002478,0.954347,0.043777,0.001876,0.035641,0.962533,0.001826,0.249537,0.745249,0.005214,0.130204,0.866415,0.003381,0.968706,0.029601,0.001693,0.078704,0.918588,0.002708,0.845784,0.150807,0.003409,0.030157,0.967786,0.002057,0.283146,0.713039,0.003815,0.037011,0.034856,0.928133,0.994663,0.004426,0.000910,0.010100,0.988555,0.001345,0.902783,0.094392,0.002826,0.003840,0.995434,0.000726,0.405559,0.590884,0.003557,0.034705,0.963717,0.001578,0.995051,0.004236,0.000712,0.011701,0.986825,0.001474,0.991080,0.008362,0.000558,0.519278,0.475499,0.005224,0.843513,0.153407,0.003080,0.033378,0.964722,0.001899,0.866245,0.130504,0.003251,0.182091,0.814079,0.003830,0.965550,0.032958,0.001491,0.005959,0.993245,0.000796,0.976592,0.022063,0.001345,0.005162,0.994076,0.000763,0.756546,0.239422,0.004032,0.175682,0.820649,0.003669,0.986204,0.012757,0.001039,0.779984,0.216206,0.003810,0.993525,0.005894,0.000582,0.749338,0.246063,0.004599,0.940150,0.058072,0.001779,0.988248,0.010742,0.001011,0.999786,0.000107,0.000108,0.004290,0.994828,0.000883,0.844719,0.152320,0.002961,0.050891,0.947034,0.002075,0.775500,0.220868,0.003631,0.050405,0.945824,0.003771,0.639542,0.355539,0.004919,0.074125,0.922998,0.002877,0.995564,0.003940,0.000496,0.011006,0.116866,0.872128,0.995197,0.004303,0.000501,0.029486,0.969059,0.001455,0.420415,0.574664,0.004920,0.379705,0.615931,0.004364,0.938343,0.059544,0.002114,0.512460,0.483266,0.004274,0.928120,0.069722,0.002158,0.020656,0.977780,0.001564,0.848699,0.147921,0.003380,0.010275,0.988578,0.001147,0.994785,0.004661,0.000554,0.475694,0.519455,0.004851];

function target(features: ReturnType<typeof smallTabular>['features'], challenge?: Partial<Challenge>): AuditTarget {
  return {
    pool: { name: 'small', dir: '/nowhere', manifest: { features, groups: [] } } as unknown as Pool,
    ...(challenge ? { challenge: challenge as Challenge } : {}),
  };
}

describe('out-of-sample model fitted to the feature kind', () => {
  it('tabular pools: the standardised columns themselves, every rare category kept, matching scikit-learn', async () => {
    const { split, features, rareRows } = smallTabular();
    expect(oosFeatureKind(features)).toBe('tabular');
    const { spec, header } = resolveOosModel(target(features), split, { seed: 0 });
    expect(spec.features).toBe('raw');
    expect(spec.preprocess).toEqual({ standardize: true });
    expect(header.source).toBe('pool default');
    expect(header.dims).toBe(8);
    expect(header.features).toContain('2 numeric, 6 one-hot of 1 categorical column; rare categories kept');
    const p = await computeOosPredictions(split, { model: spec, folds: 5, seed: 0 });
    let worst = 0;
    for (let i = 0; i < p.proba.length; i++) worst = Math.max(worst, Math.abs(p.proba[i] - SKLEARN_PROBA[i]));
    // The evaluator stops at max |gradient| ≤ 1e-4; the reference ran to 1e-12.
    expect(worst).toBeLessThan(1e-4);
    // Each rare row is predicted by a model that saw only the other two, through their category alone.
    for (const r of rareRows) expect(p.proba[r * 3 + 2]).toBeGreaterThan(0.85);
    expect(oosAccuracy(p.proba, split.labels, 3)).toBeCloseTo(oosAccuracy(Float32Array.from(SKLEARN_PROBA), split.labels, 3), 10);
  });

  it('pixels and embeddings use the reduced neighbour space; embeddings under 16 dimensions their standardised coordinates', () => {
    const { split } = smallTabular();
    expect(split.d).toBeLessThan(16);
    for (const [kind, d, space] of [['pixels', split.d, true], ['embedding', 16, true], ['embedding', split.d, false]] as const) {
      const features = [{ name: 'v', kind, dim: d, width: 4, height: 2 }];
      const { spec, header } = resolveOosModel(target(features), { ...split, d }, { seed: 0 });
      expect(spec.features, `${kind} ${d}`).toBe(space ? 'neighbour-space' : 'raw');
      if (space) expect(header.features).toContain('rows L2-normalised');
      else expect(header.features).not.toContain('L2-normalised');
    }
  });

  it("a challenge whose fixed model is the pool's default gives the pool's own spec; one that differs says so", () => {
    const { split, features } = smallTabular();
    const pool = resolveOosModel(target(features), split, { seed: 0 });
    const same = resolveOosModel(target(features, {
      name: 'same', model: { kind: 'logistic-regression', params: { tol: 0.0001, max_iter: 200, l2: 1 }, preprocess: { standardize: true }, seeds: [0, 1, 2] },
    }), split, { seed: 0 });
    expect(same.spec).toEqual(pool.spec);
    expect(same.header.source).toBe('challenge');
    expect(same.header.note).toBeUndefined();
    const other = resolveOosModel(target(features, {
      name: 'other', model: { kind: 'logistic-regression', params: { l2: 1, max_iter: 100, tol: 0.0001 }, preprocess: { standardize: true }, seeds: [0] },
    }), split, { seed: 0 });
    expect(other.spec.params.max_iter).toBe(100);
    expect(other.header.note).toMatch(/challenge other's fixed model differs from the pool's audit model .*≤ 200 L-BFGS iterations.*sieve audit small.*--model logistic-regression/);
    // --model gives the pool's audit model even through the challenge.
    const asked = resolveOosModel(target(features, { name: 'other', model: other.spec as Challenge['model'] }), split, { seed: 0, model: 'logistic-regression' });
    expect(asked.spec).toEqual(pool.spec);
    expect(asked.header.source).toBe('--model');
  });

  it('group columns become one-hot features only when asked, and unknown ones are an error', async () => {
    const { split: base, features } = smallTabular();
    const split = { ...base, groups: { sex: Array.from({ length: base.n }, (_, i) => (i % 3 === 0 ? null : i % 2 ? 'f' : 'm')) } };
    expect(resolveOosModel(target(features), split, { seed: 0 }).header.groupFeatures).toEqual([]);
    const withGroups = resolveOosModel(target(features), split, { seed: 0, groupsAsFeatures: true });
    expect(withGroups.spec.groupFeatures).toEqual(['sex']);
    expect(withGroups.header.dims).toBe(10);
    expect(withGroups.header.features).toContain('+ 2 one-hot of the group column sex');
    const p = await computeOosPredictions(split, { model: withGroups.spec, folds: 5, seed: 0 });
    expect(p.proba.length).toBe(split.n * 3);
    expect(() => resolveOosModel(target(features), split, { seed: 0, groupsAsFeatures: ['race'] })).toThrow(SieveError);
    expect(() => resolveOosModel(target(features), base, { seed: 0, groupsAsFeatures: true })).toThrow(/no group columns/);
    expect(() => defaultOosModel('forest', 'tabular')).toThrow(/unknown model "forest"/);
  });
});

describe('repeated K-fold', () => {
  it('averages the probabilities of independent fold assignments; one repeat is plain K-fold', async () => {
    const { split, features } = smallTabular();
    const spec = resolveOosModel(target(features), split, { seed: 0 }).spec;
    const one = await computeOosPredictions(split, { model: spec, folds: 5, seed: 0 });
    const plain = await computeOosPredictions(split, { model: spec, folds: 5, repeats: 1, seed: 0 });
    expect(plain.proba).toEqual(one.proba);
    expect(plain.repeats).toBeUndefined();
    const second = await computeOosPredictions(split, { model: spec, folds: 5, seed: deriveSeed(0, 'oos-repeat', 1) });
    const two = await computeOosPredictions(split, { model: spec, folds: 5, repeats: 2, seed: 0 });
    expect(two.repeats).toBe(2);
    expect(second.proba).not.toEqual(one.proba);
    for (let i = 0; i < two.proba.length; i++) expect(two.proba[i]).toBeCloseTo((one.proba[i] + second.proba[i]) / 2, 6);
    await expect(computeOosPredictions(split, { model: spec, folds: 5, repeats: 0, seed: 0 })).rejects.toThrow(/repeats/);
  });
});

describe('the audit header states the out-of-sample model', () => {
  it('in the terminal wording, the JSON and the HTML report alike, with the note when the figures differ', async () => {
    const { makeSplit: shapes, reportFor } = await import('./report-fixtures.ts');
    const { oosHeaderText, oosHeaderJson } = await import('../src/report/header.ts');
    const { renderHtmlReport } = await import('../src/report/html.ts');
    const fx = shapes();
    const report = {
      ...reportFor(fx),
      oosAccuracy: 0.8125,
      oosModel: {
        source: 'challenge' as const, challenge: 'shapes-select', model: 'logistic regression (l2 1, ≤ 100 L-BFGS iterations)',
        features: '144 pool features (pixels), standardised', dims: 144, groupFeatures: [],
        note: "challenge shapes-select's fixed model differs from the pool's audit model",
      },
    };
    const text = oosHeaderText(report);
    expect(text.line).toBe("out-of-sample model (challenge shapes-select's fixed model): logistic regression (l2 1, ≤ 100 L-BFGS iterations) on 144 pool features (pixels), standardised; 5-fold, seed 0; out-of-sample accuracy 0.813");
    expect(oosHeaderJson(report)).toMatchObject({ source: 'challenge', dims: 144, folds: 5, accuracy: 0.8125, text: text.line, note: text.note });
    const { html } = await renderHtmlReport({ pool: report });
    const header = html.slice(html.indexOf('<header>'), html.indexOf('</header>'));
    expect(header).toContain('out-of-sample accuracy 0.813');
    expect(header).toContain('Note: challenge shapes-select&#39;s fixed model differs');
    expect(oosHeaderText({ ...report, oosAccuracy: null }).line).toContain('accuracy not computed');
  });
});

describe('a pool too small for the folds', () => {
  it('says so and names the ways out (fewer folds, or the analysers that need no model)', async () => {
    const split = makeSplit({ features: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), n: 4, d: 2, labels: Int32Array.from([0, 1, 0, 1]), classNames: ['a', 'b'] });
    const err = await computeOosPredictions(split, { model: defaultOosModel('logistic-regression', 'tabular'), folds: 10, seed: 0 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect((err as SieveError).message).toMatch(/4 rows cannot be split into 10 folds/);
    expect((err as SieveError).examples.join('\n')).toMatch(/--folds 4[\s\S]*--only duplicates,class-imbalance/);
  });
});

describe('the audit header names every kind of feature column', () => {
  it('a text pool with a numeric column, and an embedded text pool', () => {
    const spec = { kind: 'logistic-regression', params: {}, features: 'pool' } as unknown as Parameters<typeof describeOosFeatures>[0];
    const textAndNumber = describeOosFeatures(spec, [{ name: 'text', kind: 'text' }, { name: 'len', kind: 'numeric' }], { d: 2049, groups: {} });
    expect(textAndNumber.description).toBe('2049 pool features (1 numeric, 2048 hashed TF-IDF of text)');
    const embedded = describeOosFeatures(spec, [{ name: 'text', kind: 'text' }, { name: 'text_emb', kind: 'embedding', dim: 64 }], { d: 2112, groups: {} });
    expect(embedded.description).toBe('2112 pool features (64 of the embedding text_emb, 2048 hashed TF-IDF of text)');
    // One kind: as before.
    expect(describeOosFeatures(spec, [{ name: 'e', kind: 'embedding', dim: 16 }], { d: 16, groups: {} }).description).toBe('16 pool features (embedding)');
  });
});
