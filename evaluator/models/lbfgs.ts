/**
 * Limited-memory BFGS with a strong-Wolfe line search (Nocedal & Wright, algorithms 7.4,
 * 3.5 and 3.6, cubic interpolation in the zoom phase). Deterministic: plain double
 * arithmetic in a fixed order, no randomness, no threads. The vectors (iterates, gradients,
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
  /** Maximum function evaluations per line search. */
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

/** Minimiser of the cubic interpolating f and f' at a and b (N&W eq. 3.59), or NaN. */
function cubicMin(a: number, fa: number, ga: number, b: number, fb: number, gb: number): number {
  const d1 = ga + gb - 3 * (fa - fb) / (a - b);
  const disc = d1 * d1 - ga * gb;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * (gb + d2 - d1) / (gb - ga + 2 * d2);
}

/**
 * Minimises `f` starting from `x0` (not modified). Returns the best point found; a failed
 * line search (no decrease possible at machine precision) ends the run with stop
 * 'line_search' rather than throwing, as scipy does.
 */
export function lbfgs(f: Objective, x0: Float64Array, opts: LbfgsOptions): LbfgsResult {
  const n = x0.length;
  const m = opts.memory ?? 10;
  const ftol = opts.ftol ?? 64 * Number.EPSILON;
  const maxLs = opts.maxLineSearch ?? 25;
  const c1 = 1e-4, c2 = 0.9;
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
        free.push(...P); P.length = 0; rho.length = 0;
        K.neg(dir.at, g.at, n);
        dg0 = dot(dir, g);
        restarted = true;
      }
      // First step without curvature information: unit length, as scipy's L-BFGS-B does.
      const step = P.length === 0 && (!opts.initialInverse || restarted) ? Math.min(1, 1 / Math.sqrt(dot(dir, dir))) : 1;

      const ls = wolfeSearch(f, K, x, fx, dg0, dir, step, xNew, gNew, c1, c2, maxLs);
      evaluations += ls.evaluations;
      if (ls.step === 0) { stop = 'line_search'; break; }
      iterations++;
      // Curvature pair.
      const pair = free.pop()!;
      K.diff(pair.s.at, xNew.at, x.at, n);
      K.diff(pair.y.at, gNew.at, g.at, n);
      const sy = dot(pair.s, pair.y);
      if (sy > 1e-10 * Math.sqrt(dot(pair.s, pair.s) * dot(pair.y, pair.y))) keep(pair, sy);
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

interface LineSearchResult { step: number; f: number; evaluations: number }

/**
 * Strong-Wolfe line search along `dir` from x (N&W algorithms 3.5 + 3.6). On return xNew and
 * gNew hold the accepted point and its gradient. If no point satisfies the Wolfe conditions
 * within `maxEval` evaluations, the best point with a sufficient decrease is accepted; step 0
 * means no decrease was found at all.
 */
function wolfeSearch(
  f: Objective, K: LbfgsExports, x: Vec, f0: number, dg0: number, dir: Vec, step0: number,
  xNew: Vec, gNew: Vec, c1: number, c2: number, maxEval: number,
): LineSearchResult {
  const n = x.v.length;
  let evaluations = 0;
  const evalAt = (a: number): [number, number] => {
    K.step(xNew.at, x.at, a, dir.at, n);
    const fa = f(xNew.v, gNew.v);
    evaluations++;
    return [fa, K.dot(gNew.at, dir.at, n)];
  };
  // Best Armijo point seen, in case the search runs out of evaluations.
  let bestA = 0, bestF = f0;
  let aLo = 0, fLo = f0, gLo = dg0;
  let aHi = 0, fHi = 0, gHi = 0;
  let bracketed = false;
  let a = step0;
  while (evaluations < maxEval) {
    const [fa, ga] = evalAt(a);
    const armijo = Number.isFinite(fa) && fa <= f0 + c1 * a * dg0;
    if (armijo && fa < bestF) { bestA = a; bestF = fa; }
    if (!armijo || (fa >= fLo && (bracketed || aLo > 0))) {
      aHi = a; fHi = fa; gHi = ga; bracketed = true;
    } else {
      if (Math.abs(ga) <= -c2 * dg0) return { step: a, f: fa, evaluations };
      if (bracketed) {
        if (ga * (aHi - aLo) >= 0) { aHi = aLo; fHi = fLo; gHi = gLo; }
      } else if (ga >= 0) {
        aHi = aLo; fHi = fLo; gHi = gLo; bracketed = true;
      }
      aLo = a; fLo = fa; gLo = ga;
    }
    if (!bracketed) { a *= 4; continue; }
    const lo = Math.min(aLo, aHi), hi = Math.max(aLo, aHi), w = hi - lo;
    if (w <= 1e-14 * hi) break;
    let t = Number.isFinite(fHi) ? cubicMin(aLo, fLo, gLo, aHi, fHi, gHi) : NaN;
    // Keep the trial well inside the bracket; bisect when interpolation misbehaves.
    if (!Number.isFinite(t) || t < lo + 0.1 * w || t > hi - 0.1 * w) t = lo + 0.5 * w;
    a = t;
  }
  if (bestA === 0) return { step: 0, f: f0, evaluations };
  const [fb] = evalAt(bestA);
  return { step: bestA, f: fb, evaluations };
}
