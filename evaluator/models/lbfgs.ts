/**
 * Limited-memory BFGS with a strong-Wolfe line search (Nocedal & Wright, algorithms 7.4,
 * 3.5 and 3.6, cubic interpolation in the zoom phase). Deterministic: plain double
 * arithmetic in a fixed order, no randomness, no threads.
 *
 * The curvature pairs (s, y) can be handed back in and out: for logistic regression the
 * Hessian does not depend on the labels, so pairs gathered on one fit stay a good inverse
 * Hessian model after a few labels change (the ranking curve's warm starts use this).
 */

/** Writes ∇f(x) into `grad` and returns f(x). */
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

function dot(a: Float64Array, b: Float64Array): number {
  let s0 = 0, s1 = 0;
  const n = a.length;
  let i = 0;
  for (; i + 1 < n; i += 2) { s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; }
  if (i < n) s0 += a[i] * b[i];
  return s0 + s1;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) { const v = Math.abs(a[i]); if (v > m) m = v; }
  return m;
}

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

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let fx = f(x, g);
  let evaluations = 1;
  const trace = [fx];

  // Ring buffer of curvature pairs, oldest first.
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  for (let i = 0; opts.initialPairs && i < opts.initialPairs.s.length; i++) {
    const s = opts.initialPairs.s[i], y = opts.initialPairs.y[i];
    if (s.length !== n || y.length !== n) throw new Error(`lbfgs: warm-start curvature pair ${i} has length ${s.length}, expected ${n}`);
    const sy = dot(s, y);
    if (sy > 0) { S.push(Float64Array.from(s)); Y.push(Float64Array.from(y)); rho.push(1 / sy); }
  }
  while (S.length > m) { S.shift(); Y.shift(); rho.shift(); }

  const dir = new Float64Array(n);
  const scratch = new Float64Array(n);
  const alphaBuf = new Float64Array(m);
  let xNew = new Float64Array(n), gNew = new Float64Array(n);
  let iterations = 0;
  let stop: LbfgsStop = 'max_iter';

  if (maxAbs(g) <= opts.tol) stop = 'gradient';
  while (stop === 'max_iter' && iterations < opts.maxIter) {
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    const mm = S.length;
    for (let j = mm - 1; j >= 0; j--) {
      const a = rho[j] * dot(S[j], dir);
      alphaBuf[j] = a;
      const yj = Y[j];
      for (let i = 0; i < n; i++) dir[i] -= a * yj[i];
    }
    if (opts.initialInverse) {
      opts.initialInverse(dir, scratch);
      dir.set(scratch);
    } else if (mm > 0) {
      const gamma = 1 / (rho[mm - 1] * dot(Y[mm - 1], Y[mm - 1]));
      for (let i = 0; i < n; i++) dir[i] *= gamma;
    }
    for (let j = 0; j < mm; j++) {
      const b = rho[j] * dot(Y[j], dir);
      const a = alphaBuf[j] - b;
      const sj = S[j];
      for (let i = 0; i < n; i++) dir[i] += a * sj[i];
    }
    let dg0 = dot(dir, g);
    let restarted = false;
    if (!(dg0 < 0)) {
      // Not a descent direction (stale curvature): restart from steepest descent.
      S.length = 0; Y.length = 0; rho.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      dg0 = dot(dir, g);
      restarted = true;
    }
    // First step without curvature information: unit length, as scipy's L-BFGS-B does.
    const step = S.length === 0 && (!opts.initialInverse || restarted) ? Math.min(1, 1 / Math.sqrt(dot(dir, dir))) : 1;

    const ls = wolfeSearch(f, x, fx, dg0, dir, step, xNew, gNew, c1, c2, maxLs);
    evaluations += ls.evaluations;
    if (ls.step === 0) { stop = 'line_search'; break; }
    iterations++;
    // Curvature pair.
    const s = new Float64Array(n), y = new Float64Array(n);
    for (let i = 0; i < n; i++) { s[i] = xNew[i] - x[i]; y[i] = gNew[i] - g[i]; }
    const sy = dot(s, y);
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) { S.shift(); Y.shift(); rho.shift(); }
      S.push(s); Y.push(y); rho.push(1 / sy);
    }
    const fPrev = fx;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    fx = ls.f;
    trace.push(fx);
    if (maxAbs(g) <= opts.tol) { stop = 'gradient'; break; }
    if ((fPrev - fx) / Math.max(Math.abs(fPrev), Math.abs(fx), 1) <= ftol) { stop = 'ftol'; break; }
  }
  return { x, f: fx, gradMax: maxAbs(g), iterations, evaluations, stop, trace, pairs: { s: S, y: Y } };
}

interface LineSearchResult { step: number; f: number; evaluations: number }

/**
 * Strong-Wolfe line search along `dir` from x (N&W algorithms 3.5 + 3.6). On return xNew and
 * gNew hold the accepted point and its gradient. If no point satisfies the Wolfe conditions
 * within `maxEval` evaluations, the best point with a sufficient decrease is accepted; step 0
 * means no decrease was found at all.
 */
function wolfeSearch(
  f: Objective, x: Float64Array, f0: number, dg0: number, dir: Float64Array, step0: number,
  xNew: Float64Array, gNew: Float64Array, c1: number, c2: number, maxEval: number,
): LineSearchResult {
  const n = x.length;
  let evaluations = 0;
  const evalAt = (a: number): [number, number] => {
    for (let i = 0; i < n; i++) xNew[i] = x[i] + a * dir[i];
    const fa = f(xNew, gNew);
    evaluations++;
    return [fa, dot(gNew, dir)];
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
