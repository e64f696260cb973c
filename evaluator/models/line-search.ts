/**
 * The Moré–Thuente line search (J. J. Moré and D. J. Thuente, "Line search algorithms with
 * guaranteed sufficient decrease", ACM TOMS 20(3), 1994), in the form of MINPACK-2's dcsrch
 * and dcstep that L-BFGS-B (and so scipy's and scikit-learn's lbfgs solver) uses: the same
 * tests, safeguards and interpolation choices in the same order, written anew for a callback
 * that evaluates φ(stp) = f(x + stp·d) and φ'(stp) = ∇f(x + stp·d)ᵀd.
 *
 * It looks for a step satisfying the strong Wolfe conditions
 *   φ(stp) ≤ φ(0) + ftol·stp·φ'(0)   and   |φ'(stp)| ≤ gtol·|φ'(0)|,
 * keeping an interval [stx, sty] that contains a minimiser of ψ(stp) = φ(stp) − φ(0) −
 * ftol·stp·φ'(0) (stage 1) and, once a step with ψ ≤ 0 and φ' ≥ 0 has been seen, of φ itself
 * (stage 2). Trial steps come from cubic and quadratic (secant) interpolation of the two
 * endpoints and the latest trial, extrapolate by at most 4× while nothing is bracketed, and
 * fall back to bisection when the interval does not shrink by a third in two trials.
 *
 * Deterministic: plain double arithmetic, no randomness.
 */

export interface MoreThuenteOptions {
  /** Sufficient-decrease constant (dcsrch's ftol; L-BFGS-B: 1e-3). */
  ftol: number;
  /** Curvature constant (dcsrch's gtol; L-BFGS-B: 0.9). */
  gtol: number;
  /** Relative width of the bracket below which the search stops with a warning (L-BFGS-B: 0.1). */
  xtol: number;
  /** Smallest and largest step allowed (L-BFGS-B without bounds: 0 and 1e10). */
  stpmin: number;
  stpmax: number;
  /** Evaluations allowed (L-BFGS-B's maxls). */
  maxEval: number;
}

/**
 * How the search ended. 'convergence': the strong Wolfe conditions hold at the returned step.
 * 'xtol' / 'rounding' / 'stpmax' / 'stpmin': dcsrch's warnings (the bracket is narrower than
 * xtol·stmax; rounding errors prevent progress; the step hit a bound): the returned step is
 * the last one tried, which need not satisfy either condition. 'max_eval': maxEval
 * evaluations without an end (L-BFGS-B then rejects the step).
 */
export type LineSearchStatus = 'convergence' | 'xtol' | 'rounding' | 'stpmax' | 'stpmin' | 'max_eval';

export interface LineSearchOutcome {
  /** The last step evaluated: the caller's buffers hold the point and gradient there. */
  stp: number;
  f: number;
  g: number;
  evaluations: number;
  status: LineSearchStatus;
}

/** Evaluates φ and φ' at stp (and leaves the point there, for the caller). */
export type LinePhi = (stp: number) => { f: number; g: number };

const XTRAPL = 1.1, XTRAPU = 4.0;

/**
 * Runs the search from φ(0) = f0, φ'(0) = g0 < 0 with first trial step `stp`. Throws on
 * arguments dcsrch rejects (g0 ≥ 0, negative tolerances, a first step outside
 * [stpmin, stpmax]). A non-finite φ or φ' at a trial (an overflow far out) halves the step
 * back towards the best step so far, an addition to dcsrch, which assumes finite values.
 */
export function moreThuente(phi: LinePhi, f0: number, g0: number, stp: number, o: MoreThuenteOptions): LineSearchOutcome {
  if (!(g0 < 0)) throw new Error(`moreThuente: the initial directional derivative ${g0} is not negative`);
  if (!(o.ftol >= 0 && o.gtol >= 0 && o.xtol >= 0)) throw new Error(`moreThuente: ftol ${o.ftol}, gtol ${o.gtol} and xtol ${o.xtol} must be ≥ 0`);
  if (!(o.stpmin >= 0 && o.stpmax >= o.stpmin)) throw new Error(`moreThuente: needs 0 ≤ stpmin (${o.stpmin}) ≤ stpmax (${o.stpmax})`);
  if (!(stp >= o.stpmin && stp <= o.stpmax)) throw new Error(`moreThuente: first step ${stp} outside [${o.stpmin}, ${o.stpmax}]`);
  if (!(o.maxEval >= 1)) throw new Error(`moreThuente: maxEval ${o.maxEval} must be ≥ 1`);

  const gtest = o.ftol * g0;
  let brackt = false;
  let stage = 1;
  let width = o.stpmax - o.stpmin;
  let width1 = 2 * width;
  // [stx, fx, gx]: the best step so far; [sty, fy, gy]: the other end of the interval.
  const I = { stx: 0, fx: f0, gx: g0, sty: 0, fy: f0, gy: g0, brackt: false };
  let stmin = 0;
  let stmax = stp + XTRAPU * stp;
  let evaluations = 0;

  for (;;) {
    const { f, g } = phi(stp);
    evaluations++;
    if (!Number.isFinite(f) || !Number.isFinite(g)) {
      if (evaluations >= o.maxEval) return { stp, f, g, evaluations, status: 'max_eval' };
      stp = I.stx + 0.5 * (stp - I.stx);
      continue;
    }
    const ftest = f0 + stp * gtest;
    if (stage === 1 && f <= ftest && g >= 0) stage = 2;

    // Warnings, then convergence (which overrides them), as dcsrch orders its tests.
    let status: LineSearchStatus | null = null;
    if (brackt && (stp <= stmin || stp >= stmax)) status = 'rounding';
    if (brackt && stmax - stmin <= o.xtol * stmax) status = 'xtol';
    if (stp === o.stpmax && f <= ftest && g <= gtest) status = 'stpmax';
    if (stp === o.stpmin && (f > ftest || g >= gtest)) status = 'stpmin';
    if (f <= ftest && Math.abs(g) <= o.gtol * -g0) status = 'convergence';
    if (status !== null) return { stp, f, g, evaluations, status };
    if (evaluations >= o.maxEval) return { stp, f, g, evaluations, status: 'max_eval' };

    I.brackt = brackt;
    if (stage === 1 && f <= I.fx && f > ftest) {
      // Lower value but not a sufficient decrease: interpolate ψ (the shifted function) instead of φ.
      const fxm = I.fx - I.stx * gtest, fym = I.fy - I.sty * gtest;
      const M: Interval = { stx: I.stx, fx: fxm, gx: I.gx - gtest, sty: I.sty, fy: fym, gy: I.gy - gtest, brackt };
      stp = cstep(M, stp, f - stp * gtest, g - gtest, stmin, stmax);
      I.stx = M.stx; I.sty = M.sty; I.brackt = M.brackt;
      I.fx = M.fx + M.stx * gtest; I.fy = M.fy + M.sty * gtest;
      I.gx = M.gx + gtest; I.gy = M.gy + gtest;
    } else {
      stp = cstep(I, stp, f, g, stmin, stmax);
    }
    brackt = I.brackt;

    if (brackt) {
      // Bisect when two trials have not shrunk the interval to two thirds.
      if (Math.abs(I.sty - I.stx) >= 0.66 * width1) stp = I.stx + 0.5 * (I.sty - I.stx);
      width1 = width;
      width = Math.abs(I.sty - I.stx);
      stmin = Math.min(I.stx, I.sty);
      stmax = Math.max(I.stx, I.sty);
    } else {
      stmin = stp + XTRAPL * (stp - I.stx);
      stmax = stp + XTRAPU * (stp - I.stx);
    }
    stp = Math.min(Math.max(stp, o.stpmin), o.stpmax);
    // No further progress possible: go back to the best step (the next test then ends the search).
    if (brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= o.xtol * stmax)) stp = I.stx;
  }
}

interface Interval { stx: number; fx: number; gx: number; sty: number; fy: number; gy: number; brackt: boolean }

/**
 * dcstep: updates the interval `I` with the trial (stp, fp, dp) and returns the next trial
 * step, kept within [stpmin, stpmax] while nothing is bracketed. Four cases, by whether the
 * trial's value is higher than the best one's and how its derivative compares.
 */
function cstep(I: Interval, stp: number, fp: number, dp: number, stpmin: number, stpmax: number): number {
  const { stx, fx, gx: dx, sty, fy, gy: dy } = I;
  const sgnd = dp * Math.sign(dx);
  let stpf: number;
  if (fp > fx) {
    // 1. Higher value: a minimiser lies between. Cubic if it is nearer stx than the
    //    quadratic (fx, dx, fp), else their average.
    const theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp < stx) gamma = -gamma;
    const p = (gamma - dx) + theta;
    const q = ((gamma - dx) + gamma) + dp;
    const stpc = stx + (p / q) * (stp - stx);
    const stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) < Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    I.brackt = true;
  } else if (sgnd < 0) {
    // 2. Lower value, derivative of the other sign: bracketed. The farther of cubic and secant.
    const theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp > stx) gamma = -gamma;
    const p = (gamma - dp) + theta;
    const q = ((gamma - dp) + gamma) + dx;
    const stpc = stp + (p / q) * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    I.brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // 3. Lower value, same sign, derivative shrinking. The cubic step only if the cubic
    //    tends to infinity in the step's direction or its minimiser lies beyond stp.
    const theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = (gamma - dp) + theta;
    const q = (gamma + (dx - dp)) + gamma;
    const r = p / q;
    const stpc = r < 0 && gamma !== 0 ? stp + r * (stx - stp) : stp > stx ? stpmax : stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (I.brackt) {
      // The nearer of the two, and no farther than two thirds of the way to sty.
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      stpf = stp > stx ? Math.min(stp + 0.66 * (sty - stp), stpf) : Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.max(stpmin, Math.min(stpmax, stpf));
    }
  } else {
    // 4. Lower value, same sign, derivative not shrinking: cubic through (stp, sty) when
    //    bracketed, else the bound in the step's direction.
    if (I.brackt) {
      const theta = 3 * (fp - fy) / (sty - stp) + dy + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
      let gamma = s * Math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s));
      if (stp > sty) gamma = -gamma;
      const p = (gamma - dp) + theta;
      const q = ((gamma - dp) + gamma) + dy;
      stpf = stp + (p / q) * (sty - stp);
    } else {
      stpf = stp > stx ? stpmax : stpmin;
    }
  }
  // The new interval: a higher value becomes the far end; otherwise the trial becomes the
  // best step, and the old best the far end when the derivative changed sign.
  if (fp > fx) {
    I.sty = stp; I.fy = fp; I.gy = dp;
  } else {
    if (sgnd < 0) { I.sty = stx; I.fy = fx; I.gy = dx; }
    I.stx = stp; I.fx = fp; I.gx = dp;
  }
  return stpf;
}
