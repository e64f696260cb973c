/**
 * Preprocessing is part of the fixed model: fitted once on the whole pool (never on a
 * participant's subset), frozen, then applied to every training subset and to the test rows.
 *
 * Steps, in this order: `scale` (divide every input), `pca` (project the centred inputs on
 * the top principal components), `standardize` (zero mean, unit variance per output
 * dimension, statistics from the pool; zero-variance dimensions keep std 1; compute/scaling.ts,
 * the same standardisation the analysers use).
 *
 * PCA: compute/pca.ts's exact variant (covariance of every pool row with the SIMD dot kernel,
 * float32 slabs summed in float64; all eigenpairs by Householder + QL). Components are ordered
 * by decreasing variance (ties by index) and signed so that each one's largest-magnitude entry
 * (first on ties) is positive, so the same pool always gives the same components, bit for bit.
 */
import type { PreprocessSpec, Preprocessor } from './types.ts';
import { fitPca as fitComponents } from '../compute/pca.ts';
import { applyScaling, columnScaling } from '../compute/scaling.ts';
import { logisticLogitsWasm } from './kernels/logistic-engine.ts';
import { ModelSpecError } from './errors.ts';

export const PREPROCESS_FORMAT = 'sieve-preprocess/1';

/** The fitted parameters; plain numbers only, so JSON round trips are exact. */
export interface PreprocessJSON {
  format: typeof PREPROCESS_FORMAT;
  spec: PreprocessSpec;
  dIn: number;
  dOut: number;
  scale: number;
  pca: null | {
    /** Mean of the scaled pool rows (dIn). */
    mean: number[];
    /** Components as rows: k × dIn, row c = component c. */
    components: number[][];
    /** Variance of the pool along each component (n − 1 denominator). */
    explainedVariance: number[];
    /** Fraction of the total variance each component explains. */
    explainedRatio: number[];
  };
  standardize: null | { mean: number[]; std: number[] };
}

function checkSpec(spec: PreprocessSpec, d: number): void {
  const known = ['scale', 'pca', 'standardize'];
  const unknown = Object.keys(spec).filter((key) => !known.includes(key));
  if (unknown.length) throw new ModelSpecError(`preprocess: unknown option(s) ${unknown.join(', ')}; known: ${known.join(', ')}`, `model.preprocess.${unknown[0]}`);
  if (spec.scale !== undefined && !(typeof spec.scale === 'number' && Number.isFinite(spec.scale) && spec.scale > 0)) {
    throw new ModelSpecError(`preprocess: 'scale' must be a positive number, got ${JSON.stringify(spec.scale)}`, 'model.preprocess.scale');
  }
  if (spec.pca !== undefined && !(Number.isInteger(spec.pca) && spec.pca >= 1 && spec.pca <= d)) {
    throw new ModelSpecError(`preprocess: 'pca' must be an integer between 1 and the input dimension ${d}, got ${JSON.stringify(spec.pca)}`, 'model.preprocess.pca');
  }
  if (spec.standardize !== undefined && typeof spec.standardize !== 'boolean') {
    throw new ModelSpecError(`preprocess: 'standardize' must be true or false, got ${JSON.stringify(spec.standardize)}`, 'model.preprocess.standardize');
  }
}

function fitPca(X: Float32Array, n: number, d: number, scale: number, k: number): NonNullable<PreprocessJSON['pca']> {
  if (n < 2) throw new ModelSpecError(`preprocess: PCA needs at least 2 pool rows, got ${n}`, 'model.preprocess.pca');
  // Every pool row, every eigenpair: the exact variant of the one PCA (compute/pca.ts).
  const fit = fitComponents(X, n, d, k, { variant: 'exact', scale });
  const components: number[][] = [];
  for (let c = 0; c < k; c++) components.push(Array.from(fit.components.subarray(c * d, c * d + d)));
  const explainedVariance = Array.from(fit.variance);
  return {
    mean: Array.from(fit.mean), components, explainedVariance,
    explainedRatio: explainedVariance.map((v) => (fit.totalVariance > 0 ? v / fit.totalVariance : 0)),
  };
}

/** Projects rows on the components: (x/scale − mean)·V, as x·(V/scale) − mean·V. */
function projectPca(X: Float32Array, n: number, dIn: number, scale: number, pca: NonNullable<PreprocessJSON['pca']>): Float64Array {
  const k = pca.components.length;
  const theta = new Float64Array(dIn * k + k);
  for (let c = 0; c < k; c++) {
    const v = pca.components[c];
    let shift = 0;
    for (let j = 0; j < dIn; j++) { theta[j * k + c] = v[j] / scale; shift += pca.mean[j] * v[j]; }
    theta[dIn * k + c] = -shift;
  }
  // The logistic kernel's logits are exactly x·W + b over the non-zero inputs.
  return logisticLogitsWasm(X, n, dIn, k, theta);
}

class FittedPreprocessor implements Preprocessor {
  readonly dIn: number;
  readonly dOut: number;
  constructor(private readonly p: PreprocessJSON) {
    this.dIn = p.dIn;
    this.dOut = p.dOut;
  }

  /** Rows after scale and PCA, before standardisation (double precision where computed). */
  beforeStandardize(X: Float32Array, n: number): Float64Array | Float32Array {
    const { dIn, p } = this;
    if (X.length !== n * dIn) throw new Error(`preprocess: transform got ${X.length} values, expected n×d = ${n}×${dIn}`);
    if (p.pca) return projectPca(X, n, dIn, p.scale, p.pca);
    if (p.scale !== 1) {
      const Z = new Float64Array(n * dIn);
      for (let i = 0; i < Z.length; i++) Z[i] = X[i] / p.scale;
      return Z;
    }
    return X;
  }

  transform(X: Float32Array, n: number): Float32Array {
    const { dOut, p } = this;
    const Z = this.beforeStandardize(X, n);
    if (p.standardize) return applyScaling(Z, n, dOut, p.standardize);
    const out = new Float32Array(n * dOut);
    out.set(Z);
    return out;
  }

  toJSON(): PreprocessJSON {
    return structuredClone(this.p);
  }
}

/** Fits the preprocessing on the pool rows X (n × d). An empty spec is the identity. */
export function fitPreprocessor(spec: PreprocessSpec | undefined, X: Float32Array, n: number, d: number): Preprocessor {
  spec = spec ?? {};
  checkSpec(spec, d);
  if (X.length !== n * d) throw new Error(`preprocess: pool has ${X.length} values, expected n×d = ${n}×${d}`);
  if (n < 1) throw new Error('preprocess: the pool has no rows');
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) throw new Error(`preprocess: pool has a non-finite value ${X[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
  }
  const scale = spec.scale ?? 1;
  const p: PreprocessJSON = {
    format: PREPROCESS_FORMAT, spec: { ...spec }, dIn: d, dOut: spec.pca ?? d, scale, pca: null, standardize: null,
  };
  if (spec.pca) p.pca = fitPca(X, n, d, scale, spec.pca);
  if (spec.standardize) {
    // Statistics of the pool after the earlier steps.
    const { mean, std } = columnScaling(new FittedPreprocessor(p).beforeStandardize(X, n), n, p.dOut);
    p.standardize = { mean: Array.from(mean), std: Array.from(std) };
  }
  return new FittedPreprocessor(p);
}

/** Rebuilds a preprocessor from its toJSON() form (e.g. in a worker thread). */
export function restorePreprocessor(json: unknown): Preprocessor {
  const p = json as PreprocessJSON;
  if (!p || p.format !== PREPROCESS_FORMAT) throw new Error(`preprocess: not a ${PREPROCESS_FORMAT} object`);
  const okArr = (a: unknown, len: number) => Array.isArray(a) && a.length === len && a.every((v) => typeof v === 'number');
  if (!(p.dIn >= 1 && p.dOut >= 1 && p.scale > 0)) throw new Error('preprocess: restored object has bad dimensions or scale');
  if (p.pca && !(okArr(p.pca.mean, p.dIn) && p.pca.components.length === p.dOut && p.pca.components.every((c) => okArr(c, p.dIn)))) {
    throw new Error(`preprocess: restored PCA must have a mean of ${p.dIn} and ${p.dOut} components of ${p.dIn}`);
  }
  if (p.standardize && !(okArr(p.standardize.mean, p.dOut) && okArr(p.standardize.std, p.dOut))) {
    throw new Error(`preprocess: restored standardisation must have ${p.dOut} means and stds`);
  }
  return new FittedPreprocessor(structuredClone(p));
}
