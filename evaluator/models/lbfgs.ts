/**
 * Limited-memory BFGS (Nocedal & Wright, algorithm 7.4: two-loop recursion, H0 = sᵀy / yᵀy
 * of the latest pair) on the path L-BFGS-B takes on an unconstrained problem, which is what
 * scipy's and scikit-learn's lbfgs solver runs: MINPACK-2's Moré–Thuente line search
 * (line-search.ts; ftol 1e-3, gtol 0.9, xtol 0.1), a first step of unit length along −∇f, a
 * pair skipped when sᵀy ≤ ε·stp·|∇fᵀd|, a failed search with pairs retried from steepest
 * descent without them. Deterministic: plain double arithmetic in a fixed order, no randomness, no threads. The vectors (iterates, gradients,
 * the search direction and the curvature pairs) live in kernel memory and their arithmetic
 * runs on kernels/lbfgs-wasm.ts, the same float64 operations in the same order as plain
 * loops (dot products as two running sums over even and odd indices); the objective gets
 * views of that memory. No allocation per iteration: a pair evicted from the memory lends
 * its storage to the next one.
 *
 * The curvature pairs (s, y) can be handed back in and out: for logistic regression the
 * Hessian does not depend on the labels, so pairs gathered on one fit stay a good inverse
 * Hessian model after a few labels change (the ranking curve's warm starts use this).
 */
import { acquire } from '../../compute/arena.ts';
import { kernelFor } from '../../compute/pool.ts';
import { lbfgsWasmModule, type LbfgsExports } from '../kernels/lbfgs-wasm.ts';
import { moreThuente, type LineSearchOutcome } from './line-search.ts';

const XTOL = 0.1;
/** L-BFGS-B's largest step without bounds. */
const STPMAX = 1e10;

/**
 * Writes ∇f(x) into `grad` and returns f(x). Both are views of lbfgs's kernel memory, valid
 * during the call only (copy to keep); kernel memory the objective takes it releases before returning.
 */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Stop when max |∇f| ≤ tol. */
  tol: number;
  /** Maximum number of iterations (each is one line search). */
  maxIter: number;
  /** Number of curvature pairs kept. */
  memory?: number;
  /** Stop when the relative decrease of f in one iteration is below this (scipy's ftol). */
  ftol?: number;
  /** Maximum function evaluations per line search (default 20, scipy's maxls, which scikit-learn 1.2 keeps). */
  maxLineSearch?: number;
  /** Curvature pairs from an earlier run on a closely related objective. */
  initialPairs?: CurvaturePairs;
  /**
   * Initial inverse Hessian: out = H0⁻¹·q (e.g. a Cholesky solve with the Hessian at a
   * nearby point). Without it, the usual scaling γ = sᵀy / yᵀy of the latest pair is used.
   */
  initialInverse?: (q: Float64Array, out: Float64Array) => void;
}

export interface CurvaturePairs {
  s: Float64Array[];
  y: Float64Array[];
}

export type LbfgsStop = 'gradient' | 'max_iter' | 'ftol' | 'line_search';

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradMax: number;
  iterations: number;
  evaluations: number;
  stop: LbfgsStop;
  /** f after each iteration (index 0 = at the start), for tests and diagnostics. */
  trace: number[];
  pairs: CurvaturePairs;
}

/** One float64 vector in kernel memory: its byte address and a view of it. */
interface Vec { at: number; v: Float64Array }

/**
 * Minimises `f` starting from `x0` (not modified). A line search that fails even from
 * steepest descent (out of evaluations, or no decrease at machine precision) ends the run
 * at the last accepted point with stop 'line_search' rather than throwing, as scipy does.
 */
export function lbfgs(f: Objective, x0: Float64Array, opts: LbfgsOptions): LbfgsResult {
  const n = x0.length;
  const m = opts.memory ?? 10;
  const ftol = opts.ftol ?? 64 * Number.EPSILON;
  const maxLs = opts.maxLineSearch ?? 20;
  // L-BFGS-B's line-search constants (lnsrlb: ftol 1e-3, gtol 0.9, xtol 0.1).
  const c1 = 1e-3, c2 = 0.9;
  const K = kernelFor<LbfgsExports>(lbfgsWasmModule()).exports;
  // Six working vectors and m + 1 pairs (the m kept and a spare for the next one).
  const stride = Math.ceil((8 * n) / 16) * 16;
  const region = acquire(stride * (6 + 2 * (m + 1)));
  try {
    const buf = region.buffer();
    let next = region.base;
    const vec = (): Vec => { const at = next; next += stride; return { at, v: new Float64Array(buf, at, n).fill(0) }; };
    let x = vec(), g = vec(), xNew = vec(), gNew = vec();
    const dir = vec(), scratch = vec();
    const dot = (a: Vec, b: Vec) => K.dot(a.at, b.at, n);
    const free: { s: Vec; y: Vec }[] = Array.from({ length: m + 1 }, () => ({ s: vec(), y: vec() }));

    x.v.set(x0);
    let fx = f(x.v, g.v);
    let evaluations = 1;
    const trace = [fx];

    // Curvature pairs, oldest first; pushing onto a full memory evicts the oldest.
    const P: { s: Vec; y: Vec }[] = [], rho: number[] = [];
    const keep = (pair: { s: Vec; y: Vec }, sy: number) => {
      if (P.length === m) { free.push(P.shift()!); rho.shift(); }
      P.push(pair); rho.push(1 / sy);
    };
    for (let i = 0; opts.initialPairs && i < opts.initialPairs.s.length; i++) {
      const s = opts.initialPairs.s[i], y = opts.initialPairs.y[i];
      if (s.length !== n || y.length !== n) throw new Error(`lbfgs: warm-start curvature pair ${i} has length ${s.length}, expected ${n}`);
      const pair = free.pop()!;
      pair.s.v.set(s); pair.y.v.set(y);
      const sy = dot(pair.s, pair.y);
      if (sy > 0) keep(pair, sy); else free.push(pair);
    }

    const alphaBuf = new Float64Array(m);
    let iterations = 0;
    let stop: LbfgsStop = 'max_iter';

    const restart = () => { free.push(...P); P.length = 0; rho.length = 0; K.neg(dir.at, g.at, n); };
    // The first trial step. Without curvature information (and no initial inverse Hessian) the
    // direction is -∇f: L-BFGS-B's first iteration tries a step of unit length, 1/‖d‖; after a
    // restart (where L-BFGS-B tries 1) we try min(1, 1/‖d‖), which never steps farther than
    // the unit length. Otherwise the quasi-Newton step 1.
    const firstStep = (restarted: boolean) => {
      if (P.length > 0 || (opts.initialInverse && !restarted)) return 1;
      const inv = 1 / Math.sqrt(dot(dir, dir));
      return Math.min(iterations === 0 && !restarted ? inv : Math.min(1, inv), STPMAX);
    };
    const search = (dg0: number, step: number): LineSearchOutcome => moreThuente((a) => {
      K.step(xNew.at, x.at, a, dir.at, n);
      const fa = f(xNew.v, gNew.v);
      return { f: fa, g: dot(gNew, dir) };
    }, fx, dg0, step, { ftol: c1, gtol: c2, xtol: XTOL, stpmin: 0, stpmax: STPMAX, maxEval: maxLs });
    // Rejected steps: out of evaluations, or a warning (the bracket collapsed) without any decrease.
    const failed = (ls: LineSearchOutcome) => ls.status === 'max_eval' || (ls.status !== 'convergence' && !(ls.f < fx));

    if (K.maxabs(g.at, n) <= opts.tol) stop = 'gradient';
    while (stop === 'max_iter' && iterations < opts.maxIter) {
      // Two-loop recursion: dir = -H g.
      K.neg(dir.at, g.at, n);
      const mm = P.length;
      for (let j = mm - 1; j >= 0; j--) {
        const a = rho[j] * dot(P[j].s, dir);
        alphaBuf[j] = a;
        K.axpy(dir.at, -a, P[j].y.at, n);
      }
      if (opts.initialInverse) {
        opts.initialInverse(dir.v, scratch.v);
        dir.v.set(scratch.v);
      } else if (mm > 0) {
        const gamma = 1 / (rho[mm - 1] * dot(P[mm - 1].y, P[mm - 1].y));
        K.scale(dir.at, gamma, n);
      }
      for (let j = 0; j < mm; j++) {
        const b = rho[j] * dot(P[j].y, dir);
        K.axpy(dir.at, alphaBuf[j] - b, P[j].s.at, n);
      }
      let dg0 = dot(dir, g);
      let restarted = false;
      if (!(dg0 < 0)) {
        // Not a descent direction (stale curvature): restart from steepest descent.
        restart();
        dg0 = dot(dir, g);
        restarted = true;
        if (!(dg0 < 0)) { stop = 'line_search'; break; } // ∇f not finite
      }
      let ls = search(dg0, firstStep(restarted));
      if (failed(ls) && P.length > 0) {
        // As L-BFGS-B: a failed search with curvature pairs drops them and tries steepest descent.
        restart();
        dg0 = dot(dir, g);
        restarted = true;
        const again = search(dg0, firstStep(true));
        again.evaluations += ls.evaluations;
        ls = again;
      }
      evaluations += ls.evaluations;
      if (failed(ls)) { stop = 'line_search'; break; }
      iterations++;
      // Curvature pair, skipped (as L-BFGS-B) when sᵀy ≤ ε·stp·|∇fᵀd|, which a search that
      // met the curvature condition cannot give (there sᵀy ≥ (1 − gtol)·stp·|∇fᵀd|).
      const pair = free.pop()!;
      K.diff(pair.s.at, xNew.at, x.at, n);
      K.diff(pair.y.at, gNew.at, g.at, n);
      const sy = dot(pair.s, pair.y);
      if (sy > Number.EPSILON * ls.stp * -dg0) keep(pair, sy);
      else free.push(pair);
      const fPrev = fx;
      [x, xNew] = [xNew, x];
      [g, gNew] = [gNew, g];
      fx = ls.f;
      trace.push(fx);
      if (K.maxabs(g.at, n) <= opts.tol) { stop = 'gradient'; break; }
      if ((fPrev - fx) / Math.max(Math.abs(fPrev), Math.abs(fx), 1) <= ftol) { stop = 'ftol'; break; }
    }
    // Copies out of kernel memory (released below).
    return {
      x: x.v.slice(), f: fx, gradMax: K.maxabs(g.at, n), iterations, evaluations, stop, trace,
      pairs: { s: P.map((p) => p.s.v.slice()), y: P.map((p) => p.y.v.slice()) },
    };
  } finally {
    region.release();
  }
}
