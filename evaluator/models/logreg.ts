/**
 * Multinomial logistic regression, scikit-learn's objective with C = 1/l2:
 *   f(W, b) = Σ_i −log softmax(x_i·W + b)[y_i] + ½·l2·‖W‖²   (intercepts b not penalised)
 * minimised with L-BFGS (strong-Wolfe line search) until max |∇f| ≤ tol or max_iter
 * iterations, exactly as sklearn ≤ 1.2's lbfgs solver (gtol = tol on the summed objective).
 *
 * Warm starts reuse the weights and, when present, the solver's curvature pairs: the
 * Hessian of this objective does not depend on the labels, so after a few label changes
 * the old inverse-Hessian model is still accurate and a refit takes a handful of steps.
 */
import type { Dataset, FittedModel, Model, ModelSpec, ModelState, ParamSchema } from '../types.ts';
import { LogisticEngine64, logisticProba } from '../kernels/logistic-engine.ts';
import { LogisticEngine32, float32Resolution } from '../kernels/logistic-engine32.ts';
import { lbfgs, type CurvaturePairs, type LbfgsResult, type LbfgsStop } from './lbfgs.ts';
import { checkDataset, parseParams } from './params.ts';
import { choleskyForNewton, logRegHessian, MAX_NEWTON_PARAMS } from './logreg-newton.ts';
import { CholeskySolver } from '../../compute/linalg-wasm.ts';

const NAME = 'logistic-regression';
/** A warm fit that needed more iterations than this refreshes the Hessian next time. */
export const HESSIAN_REFRESH_ITERATIONS = 30;

/** The parameters (docs/evaluator.md's table is generated from this). */
export const LOGREG_PARAMS = {
  l2: { type: 'number', default: 1, min: 0, doc: 'penalty weight (= 1/C)' },
  max_iter: { type: 'number', default: 100, min: 0, integer: true, doc: 'L-BFGS iterations (one line search each)' },
  tol: {
    type: 'number', default: 1e-4, min: 0,
    doc: "stop when max|∇f| ≤ tol (gradient of the summed objective, as sklearn ≤ 1.2's `gtol`)",
  },
  memory: { type: 'number', default: 10, min: 1, max: 100, integer: true, doc: 'L-BFGS curvature pairs' },
  keep_curvature: { type: 'boolean', default: true, doc: 'keep the pairs in `state()` for warm starts' },
  precondition: {
    type: 'boolean', default: true,
    doc: "warm starts use the exact Hessian as L-BFGS's initial matrix when (d+1)·k ≤ 2048",
  },
} as const satisfies ParamSchema;

export interface LogRegParams {
  /** Penalty weight (1/C). Default 1. */
  l2: number;
  /** Maximum L-BFGS iterations. Default 100. */
  max_iter: number;
  /** Stop when max |∇f| ≤ tol (gradient of the summed objective). Default 1e-4. */
  tol: number;
  /** L-BFGS memory (curvature pairs). Default 10. */
  memory: number;
  /** Keep the curvature pairs in state() for warm starts. Default true. */
  keep_curvature: boolean;
  /**
   * Warm starts use the exact Hessian at the start point (factored once, reused while refits
   * stay quick) as L-BFGS's initial matrix, when (d + 1)·k ≤ 2048. Default true.
   */
  precondition: boolean;
}

export function logRegParams(params: ModelSpec['params']): LogRegParams {
  return parseParams(NAME, LOGREG_PARAMS, params) as unknown as LogRegParams;
}

export interface LogRegState extends ModelState {
  kind: 'logistic-regression';
  d: number;
  k: number;
  /** d × k, row-major (input j, class c at j·k + c). */
  weights: Float64Array;
  intercepts: Float64Array;
  /** L-BFGS curvature pairs over θ = [weights, intercepts], oldest first. */
  curvature?: CurvaturePairs;
  /**
   * Cholesky factor of the Hessian at a recent optimum (see logreg-newton.ts), shared by
   * reference between states (never modified); `refresh` asks the next warm fit to
   * recompute it because the last one needed many iterations.
   */
  hessian?: { factor: Float32Array; refresh: boolean };
}

export interface LogRegFitInfo {
  objective: number;
  gradMax: number;
  evaluations: number;
  /** How many of them ran on the float64 kernels (the fit's last iterations, near convergence). */
  evaluations64: number;
  stop: LbfgsStop;
  trace: number[];
  /** Whether this fit computed a new Hessian factor / used one. */
  hessianComputed: boolean;
  preconditioned: boolean;
}

/** Value and gradient of the full penalised objective at θ (gradient written into `grad`). */
export function logRegObjective(engine: { layout: { d: number; k: number }; lossGrad(theta: Float64Array, grad: Float64Array): number }, l2: number, theta: Float64Array, grad: Float64Array): number {
  let f = engine.lossGrad(theta, grad);
  const dk = engine.layout.d * engine.layout.k;
  let sq = 0;
  for (let i = 0; i < dk; i++) { const w = theta[i]; sq += w * w; grad[i] += l2 * w; }
  f += 0.5 * l2 * sq;
  return f;
}

class FittedLogReg implements FittedModel {
  readonly kind = 'logistic-regression' as const;
  constructor(
    readonly d: number, readonly k: number, readonly theta: Float64Array,
    readonly iterations: number, readonly curvature: CurvaturePairs | undefined,
    readonly info: LogRegFitInfo | undefined,
    readonly hessian?: LogRegState['hessian'],
  ) {}
  predictProba(X: Float32Array, n: number): Float32Array {
    if (X.length !== n * this.d) throw new Error(`${NAME}: predictProba got ${X.length} values, expected n×d = ${n}×${this.d}`);
    return logisticProba(X, n, this.d, this.k, this.theta);
  }
  state(): LogRegState {
    const dk = this.d * this.k;
    return {
      kind: 'logistic-regression', d: this.d, k: this.k,
      weights: this.theta.slice(0, dk), intercepts: this.theta.slice(dk),
      ...(this.curvature ? { curvature: { s: this.curvature.s.map((a) => a.slice()), y: this.curvature.y.map((a) => a.slice()) } } : {}),
      ...(this.hessian ? { hessian: { factor: this.hessian.factor, refresh: this.hessian.refresh } } : {}),
    };
  }
}

function thetaFromState(state: ModelState, k: number, d: number): { theta: Float64Array; curvature?: CurvaturePairs; hessian?: LogRegState['hessian'] } {
  const st = state as Partial<LogRegState>;
  if (st.kind !== 'logistic-regression') throw new Error(`${NAME}: cannot start from a '${String(st.kind)}' state`);
  if (st.d !== d || st.k !== k) throw new Error(`${NAME}: state has shape d=${st.d}, k=${st.k}; data has d=${d}, k=${k}`);
  const w = st.weights, b = st.intercepts;
  if (!(w instanceof Float64Array) || w.length !== d * k || !(b instanceof Float64Array) || b.length !== k) {
    throw new Error(`${NAME}: state weights/intercepts must be Float64Arrays of length ${d * k} and ${k}`);
  }
  const theta = new Float64Array(d * k + k);
  theta.set(w, 0);
  theta.set(b, d * k);
  const P = (d + 1) * k;
  const hessian = st.hessian && st.hessian.factor instanceof Float32Array && st.hessian.factor.length === P * P ? st.hessian : undefined;
  return { theta, curvature: st.curvature, hessian };
}

export const logisticRegression: Model & { fitWithInfo(data: Dataset, params: ModelSpec['params'], opts: { warmStart?: ModelState }): FittedLogReg } = {
  kind: 'logistic-regression',
  title: 'logistic regression',
  params: LOGREG_PARAMS,
  // Deterministic whatever the seed: weights start at zero and L-BFGS has no randomness.
  seedless: true,
  // Convex with a unique optimum: a warm-started refit reaches the cold fit's weights.
  warmStarts: true,
  iterationLimit: 'max_iter',
  // Tabular columns: run to convergence (a hundred-odd dimensions make 200 iterations cheap);
  // the neighbour space: 30 iterations rank label issues as well as 100 (src/analysers/oos.ts).
  auditDefaults: { tabular: { l2: 1, max_iter: 200, tol: 1e-4 }, vectors: { l2: 1, max_iter: 30, tol: 1e-4 } },
  describe: (p) => `logistic regression (l2 ${p.l2}, ≤ ${p.max_iter} L-BFGS iterations)`,
  fit(data, params, opts) {
    return this.fitWithInfo(data, params, opts);
  },
  fitWithInfo(data, params, opts) {
    const p = logRegParams(params);
    checkDataset(NAME, data.X, data.n, data.d, data.y, data.k);
    const { d, k } = data;
    const start = opts.warmStart ? thetaFromState(opts.warmStart, k, d) : { theta: new Float64Array(d * k + k) };
    const P = (d + 1) * k;
    // Hessian preconditioning for warm starts (see logreg-newton.ts).
    let factor: Float32Array | null = null;
    let hessianComputed = false;
    if (opts.warmStart && p.precondition && P <= MAX_NEWTON_PARAMS) {
      if (start.hessian && !start.hessian.refresh) {
        factor = start.hessian.factor;
      } else {
        factor = choleskyForNewton(logRegHessian(data.X, data.n, d, k, start.theta, p.l2), P, d, k);
        hessianComputed = factor !== null;
      }
    }
    const solver = factor ? new CholeskySolver(factor, P) : null;
    // Float32 first (logistic-engine32.ts: twice the lanes of float64), float64 once the
    // gradient nears what float32 sums can resolve: the float64 phase continues from the
    // same point with the same curvature pairs and the remaining iterations, and decides
    // convergence (max |∇f| ≤ tol) on the exact gradient.
    const lbfgsOpts = {
      memory: p.memory,
      initialInverse: solver ? (q: Float64Array, out: Float64Array) => solver.solve(q, out) : undefined,
    };
    let res: LbfgsResult;
    let evaluations64 = 0;
    try {
      const engine = new LogisticEngine32(data);
      const switchAt = Math.max(p.tol, float32Resolution(data));
      try {
        res = lbfgs((theta, grad) => logRegObjective(engine, p.l2, theta, grad), start.theta, {
          ...lbfgsOpts, tol: switchAt, maxIter: p.max_iter, initialPairs: start.curvature,
        });
      } finally {
        engine.close();
      }
      if (res.iterations < p.max_iter) {
        const engine64 = new LogisticEngine64(data);
        try {
          const more = lbfgs((theta, grad) => logRegObjective(engine64, p.l2, theta, grad), res.x, {
            ...lbfgsOpts, tol: p.tol, maxIter: p.max_iter - res.iterations, initialPairs: res.pairs,
          });
          evaluations64 = more.evaluations;
          res = {
            ...more, iterations: res.iterations + more.iterations, evaluations: res.evaluations + more.evaluations,
            trace: [...res.trace, ...more.trace.slice(1)],
          };
        } finally {
          engine64.close();
        }
      }
    } finally {
      solver?.close();
    }
    const hessian = factor ? { factor, refresh: res.iterations > HESSIAN_REFRESH_ITERATIONS } : undefined;
    return new FittedLogReg(d, k, res.x, res.iterations, p.keep_curvature ? res.pairs : undefined, {
      objective: res.f, gradMax: res.gradMax, evaluations: res.evaluations, evaluations64, stop: res.stop, trace: res.trace,
      hessianComputed, preconditioned: factor !== null,
    }, hessian);
  },
  restore(state, k, d) {
    const { theta, hessian } = thetaFromState(state, k, d);
    return new FittedLogReg(d, k, theta, 0, (state as LogRegState).curvature, undefined, hessian);
  },
};
