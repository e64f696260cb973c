/**
 * The Moré–Thuente line search (evaluator/models/line-search.ts) against MINPACK-2's dcsrch,
 * and lbfgs (evaluator/models/lbfgs.ts) against scipy's L-BFGS-B, from the values in
 * test/fixtures/lbfgsb/reference.json (test/fixtures/lbfgsb/generate.py, scipy 1.10.1).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { moreThuente, type LineSearchStatus, type MoreThuenteOptions } from '../evaluator/models/line-search.ts';
import { lbfgs, type Objective } from '../evaluator/models/lbfgs.ts';

const ref = JSON.parse(readFileSync(new URL('./fixtures/lbfgsb/reference.json', import.meta.url), 'utf8')) as {
  dcsrch: Record<string, { steps: number[]; status: string }>;
  lbfgsb: Record<string, { trace: number[]; nfev: number; nit: number; message: string; x: number[] }>;
};

type Phi = (a: number) => { f: number; g: number };

// The six test functions of Moré & Thuente (1994), section 5, with their ftol and gtol.
const B = 0.004;
const gam = (b: number) => Math.sqrt(1 + b * b) - b;
const yanai = (b1: number, b2: number): Phi => (a) => {
  const g1 = gam(b1), g2 = gam(b2);
  const r1 = Math.sqrt((1 - a) ** 2 + b2 * b2), r2 = Math.sqrt(a * a + b1 * b1);
  return { f: g1 * r1 + g2 * r2, g: -g1 * (1 - a) / r1 + g2 * a / r2 };
};
const FUNCTIONS: Record<string, { phi: Phi; ftol: number; gtol: number }> = {
  mt1: { phi: (a) => ({ f: -a / (a * a + 2), g: (a * a - 2) / (a * a + 2) ** 2 }), ftol: 1e-3, gtol: 0.1 },
  mt2: { phi: (a) => ({ f: (a + B) ** 5 - 2 * (a + B) ** 4, g: 5 * (a + B) ** 4 - 8 * (a + B) ** 3 }), ftol: 0.1, gtol: 0.1 },
  mt3: {
    phi: (a) => {
      const l = 39, be = 0.01;
      const [f0, g0] = a <= 1 - be ? [1 - a, -1] : a >= 1 + be ? [a - 1, 1] : [(a - 1) ** 2 / (2 * be) + be / 2, (a - 1) / be];
      return { f: f0 + 2 * (1 - be) / (l * Math.PI) * Math.sin(l * Math.PI * a / 2), g: g0 + (1 - be) * Math.cos(l * Math.PI * a / 2) };
    },
    ftol: 0.1, gtol: 0.1,
  },
  mt4: { phi: yanai(1e-3, 1e-3), ftol: 1e-3, gtol: 1e-3 },
  mt5: { phi: yanai(1e-2, 1e-3), ftol: 1e-3, gtol: 1e-3 },
  mt6: { phi: yanai(1e-3, 1e-2), ftol: 1e-3, gtol: 1e-3 },
};
const STATUS: Record<string, LineSearchStatus> = {
  CONVERGENCE: 'convergence', 'WARNING: XTOL TEST SATISFIED': 'xtol', 'WARNING: ROUNDING ERRORS PREVENT PROGRESS': 'rounding',
  'WARNING: STP = STPMAX': 'stpmax', 'WARNING: STP = STPMIN': 'stpmin',
};

function search(phi: Phi, stp: number, o: MoreThuenteOptions) {
  const steps: number[] = [];
  const { f, g } = phi(0);
  const out = moreThuente((a) => { steps.push(a); return phi(a); }, f, g, stp, o);
  return { ...out, steps, f0: f, g0: g };
}

function expectStrongWolfe(r: { stp: number; f: number; g: number; f0: number; g0: number }, ftol: number, gtol: number) {
  expect(r.f).toBeLessThanOrEqual(r.f0 + ftol * r.stp * r.g0);
  expect(Math.abs(r.g)).toBeLessThanOrEqual(gtol * Math.abs(r.g0));
}

describe('Moré–Thuente line search (evaluator/models/line-search.ts)', () => {
  it("asks for MINPACK-2 dcsrch's steps, in order, and ends as it does, on the six Moré–Thuente functions", () => {
    const cases = Object.entries(ref.dcsrch);
    expect(cases.length).toBe(48);
    let converged = 0;
    for (const [key, want] of cases) {
      const [name, rest] = key.split('@');
      const [a0, xtol] = rest.split('/').map(Number);
      const { phi, ftol, gtol } = FUNCTIONS[name];
      const r = search(phi, a0, { ftol, gtol, xtol, stpmin: 0, stpmax: 1e10, maxEval: 30 });
      expect(r.status, key).toBe(STATUS[want.status]);
      expect(r.steps.length, key).toBe(want.steps.length);
      r.steps.forEach((s, i) => expect(Math.abs(s - want.steps[i]), `${key} step ${i}`).toBeLessThanOrEqual(1e-9 * Math.abs(want.steps[i])));
      // The point left in the caller's hands is the last one evaluated.
      expect(r.stp).toBe(r.steps[r.steps.length - 1]);
      if (r.status === 'convergence') { expectStrongWolfe(r, ftol, gtol); converged++; }
    }
    expect(converged).toBeGreaterThanOrEqual(30);
  });

  it('meets the strong Wolfe conditions with L-BFGS-B constants along random directions of Rosenbrock', () => {
    const rng = createRng(11);
    const n = 6;
    const rosen = (x: Float64Array, g: Float64Array) => {
      let f = 0; g.fill(0);
      for (let i = 0; i + 1 < n; i++) {
        const a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
        f += 100 * a * a + b * b; g[i] += -400 * x[i] * a - 2 * b; g[i + 1] += 200 * a;
      }
      return f;
    };
    let runs = 0;
    for (let t = 0; t < 200; t++) {
      const x = Float64Array.from({ length: n }, () => 2 * rng.normal());
      const g = new Float64Array(n), gx = new Float64Array(n), xt = new Float64Array(n);
      rosen(x, gx);
      const d = Float64Array.from({ length: n }, () => rng.normal());
      let dg = 0;
      for (let i = 0; i < n; i++) dg += d[i] * gx[i];
      if (dg > 0) for (let i = 0; i < n; i++) d[i] = -d[i];
      const phi: Phi = (a) => {
        for (let i = 0; i < n; i++) xt[i] = x[i] + a * d[i];
        const f = rosen(xt, g);
        let s = 0;
        for (let i = 0; i < n; i++) s += g[i] * d[i];
        return { f, g: s };
      };
      const r = search(phi, 10 ** (4 * rng.uniform() - 3), { ftol: 1e-3, gtol: 0.9, xtol: 0.1, stpmin: 0, stpmax: 1e10, maxEval: 20 });
      if (r.status !== 'convergence') continue;
      expectStrongWolfe(r, 1e-3, 0.9);
      runs++;
    }
    expect(runs).toBeGreaterThan(190);
  });

  it('steps back from non-finite values, stops at maxEval, and rejects bad arguments precisely', () => {
    // f = (a − 1)² for a < 3, +∞ beyond: a first step of 100 halves back towards 0.
    const phi: Phi = (a) => (a < 3 ? { f: (a - 1) ** 2, g: 2 * (a - 1) } : { f: Infinity, g: NaN });
    const o = { ftol: 1e-3, gtol: 0.9, xtol: 0.1, stpmin: 0, stpmax: 1e10, maxEval: 20 };
    const r = search(phi, 100, o);
    expect(r.steps.slice(0, 6)).toEqual([100, 50, 25, 12.5, 6.25, 3.125]);
    expect(r.status).toBe('convergence');
    expectStrongWolfe(r, 1e-3, 0.9);
    const short = search(phi, 100, { ...o, maxEval: 3 });
    expect(short.status).toBe('max_eval');
    expect(short.evaluations).toBe(3);
    expect(() => moreThuente(phi, 1, 0, 1, o)).toThrow('moreThuente: the initial directional derivative 0 is not negative');
    expect(() => moreThuente(phi, 1, NaN, 1, o)).toThrow('initial directional derivative NaN is not negative');
    expect(() => moreThuente(phi, 1, -2, 2e10, o)).toThrow('moreThuente: first step 20000000000 outside [0, 10000000000]');
    expect(() => moreThuente(phi, 1, -2, 1, { ...o, gtol: -1 })).toThrow('gtol -1');
    expect(() => moreThuente(phi, 1, -2, 1, { ...o, maxEval: 0 })).toThrow('maxEval 0 must be ≥ 1');
  });
});

describe("lbfgs (evaluator/models/lbfgs.ts) follows scipy's L-BFGS-B", () => {
  const rosen: Objective = (x, g) => {
    let f = 0; g.fill(0);
    for (let i = 0; i + 1 < x.length; i++) {
      const a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
      f += 100 * a * a + b * b; g[i] += -400 * x[i] * a - 2 * b; g[i + 1] += 200 * a;
    }
    return f;
  };
  const c = Float64Array.from({ length: 25 }, (_, i) => 1 + (i % 7) * 30);
  const quad: Objective = (x, g) => {
    let f = 0;
    for (let i = 0; i < x.length; i++) { const d = x[i] - 1; f += c[i] * d * d; g[i] = c[i] * d; }
    return 0.5 * f;
  };
  const problems: [string, Objective, number[], string][] = [
    ['rosen2', rosen, [-1.2, 1], 'gradient'],
    ['rosen6', rosen, [-1.2, 1, -1.2, 1, -1.2, 1], 'ftol'],
    ['quad25', quad, new Array(25).fill(0), 'ftol'],
  ];
  for (const [name, fn, x0, stop] of problems) {
    it(`${name}: the same iterations, evaluations, objective after each iteration and solution`, () => {
      const want = ref.lbfgsb[name];
      const r = lbfgs(fn, Float64Array.from(x0), { tol: 1e-9, maxIter: 200 });
      expect(r.iterations).toBe(want.nit);
      expect(r.evaluations).toBe(want.nfev);
      expect(r.stop).toBe(stop);
      expect(r.trace.length).toBe(want.trace.length);
      // Agreement to 1e-8 while f is well above rounding (the last iterations sit at ~1e-20).
      r.trace.forEach((f, i) => {
        expect(Math.abs(f - want.trace[i]), `${name} iteration ${i}`).toBeLessThanOrEqual(1e-8 * Math.abs(want.trace[i]) + 1e-10 * want.trace[0]);
      });
      r.x.forEach((v, i) => expect(v).toBeCloseTo(want.x[i], 8));
    });
  }

  it('first step on −∇f has unit length: the first trial point is x0 − ∇f/‖∇f‖', () => {
    const seen: number[][] = [];
    const f: Objective = (x, g) => { seen.push(Array.from(x)); return quad(x, g); };
    lbfgs(f, new Float64Array(25), { tol: 1e-9, maxIter: 1 });
    const g0 = new Float64Array(25);
    quad(new Float64Array(25), g0);
    const norm = Math.sqrt(g0.reduce((s, v) => s + v * v, 0));
    seen[1].forEach((v, i) => expect(v).toBeCloseTo(-g0[i] / norm, 14));
  });
});
