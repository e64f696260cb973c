/**
 * Eigendecomposition of a real symmetric matrix: Householder tridiagonalisation (tred2)
 * and the implicit QL algorithm (tql2), as in JAMA / EISPACK. This is ml-matrix's
 * EigenvalueDecomposition (symmetric path, MIT licence) moved onto one flat Float64Array in
 * kernel memory, with its O(n³) inner loops (row updates, plane rotations, dot products) in
 * WebAssembly SIMD (linalg-wasm.ts): a 784 × 784 decomposition takes about a second
 * instead of ml-matrix's ten or more. Element-wise updates are bit-for-bit the scalar ones;
 * dot products sum in two lanes, so results agree with ml-matrix to rounding, and are
 * deterministic.
 *
 * Storage follows ml-matrix's transposed layout: S[j·n + i] holds V(i, j), so the hot
 * loops scan contiguous memory and, at the end, row j of S is eigenvector j.
 */
import { acquire } from './arena.ts';
import { kernelFor } from './pool.ts';
import { linalgWasmModule, type LinalgExports } from './linalg-wasm.ts';

function hypotenuse(a: number, b: number): number {
  if (Math.abs(a) > Math.abs(b)) {
    const r = b / a;
    return Math.abs(a) * Math.sqrt(1 + r * r);
  }
  if (b !== 0) {
    const r = a / b;
    return Math.abs(b) * Math.sqrt(1 + r * r);
  }
  return 0;
}

export interface SymmetricEigen {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** Row j (vectors[j·n .. j·n + n)) is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/** Addresses (bytes) of V, d and e in kernel memory, with the SIMD helpers. */
interface Wasm { ex: LinalgExports; V: number; d: number; e: number }

/** Decomposes the symmetric n × n row-major matrix A (only read, never modified). */
export function symmetricEigen(A: Float64Array, n: number): SymmetricEigen {
  if (A.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} values, got ${A.length}`);
  const region = acquire(8 * (n * n + 2 * n));
  try {
    const buf = region.buffer();
    const w: Wasm = { ex: kernelFor<LinalgExports>(linalgWasmModule()).exports, V: region.base, d: region.base + 8 * n * n, e: region.base + 8 * (n * n + n) };
    const S = new Float64Array(buf, w.V, n * n);
    S.set(A); // symmetric, so the transposed copy is A itself
    const d = new Float64Array(buf, w.d, n), e = new Float64Array(buf, w.e, n);
    d.fill(0); e.fill(0);
    tred2(n, e, d, S, w);
    tql2(n, e, d, S, w);
    return { values: d.slice(), vectors: S.slice() };
  } finally {
    region.release();
  }
}

function tred2(n: number, e: Float64Array, d: Float64Array, V: Float64Array, w: Wasm): void {
  const { ex } = w;
  const vAt = (r: number, c: number) => w.V + 8 * (r * n + c);
  let f: number, g: number, h: number, hh: number, scale: number;
  for (let j = 0; j < n; j++) d[j] = V[j * n + n - 1];

  for (let i = n - 1; i > 0; i--) {
    scale = 0;
    h = 0;
    for (let k = 0; k < i; k++) scale = scale + Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + i - 1];
        V[j * n + i] = 0;
        V[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      f = d[i - 1];
      g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h = h - f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;

      for (let j = 0; j < i; j++) {
        f = d[j];
        V[i * n + j] = f;
        g = e[j] + V[j * n + j] * f;
        // g += V[j, j+1..i-1]·d[j+1..i-1]; e[j+1..i-1] += V[j, ·]·f
        g += ex.dotaxpy(vAt(j, j + 1), w.d + 8 * (j + 1), w.e + 8 * (j + 1), i - 1 - j, f);
        e[j] = g;
      }

      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];

      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        const row = j * n;
        ex.axpy2(vAt(j, j), w.e + 8 * j, w.d + 8 * j, i - j, f, g);
        d[j] = V[row + i - 1];
        V[row + i] = 0;
      }
    }
    d[i] = h;
  }

  for (let i = 0; i < n - 1; i++) {
    V[i * n + n - 1] = V[i * n + i];
    V[i * n + i] = 1;
    h = d[i + 1];
    const r1 = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[r1 + k] / h;
      for (let j = 0; j <= i; j++) {
        g = ex.dot(vAt(i + 1, 0), vAt(j, 0), i + 1);
        ex.axpy(vAt(j, 0), w.d, i + 1, g);
      }
    }
    for (let k = 0; k <= i; k++) V[r1 + k] = 0;
  }

  for (let j = 0; j < n; j++) {
    d[j] = V[j * n + n - 1];
    V[j * n + n - 1] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(n: number, e: Float64Array, d: Float64Array, V: Float64Array, w: Wasm): void {
  const { ex } = w;
  let g: number, h: number, p: number, r: number, dl1: number, c: number, c2: number, c3: number, el1: number, s: number, s2: number;
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;

  let f = 0;
  let tst1 = 0;
  const eps = Number.EPSILON;

  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        iter = iter + 1;
        if (iter > 1000) throw new Error('symmetricEigen: QL iteration did not converge');
        g = d[l];
        p = (d[l + 1] - g) / (2 * e[l]);
        r = hypotenuse(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        dl1 = d[l + 1];
        h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f = f + h;

        p = d[m];
        c = 1;
        c2 = c;
        c3 = c;
        el1 = e[l + 1];
        s = 0;
        s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypotenuse(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          ex.rot(w.V + 8 * i * n, w.V + 8 * (i + 1) * n, n, c, s);
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0;
  }

  for (let i = 0; i < n - 1; i++) {
    let k = i;
    p = d[i];
    for (let j = i + 1; j < n; j++) {
      if (d[j] < p) {
        k = j;
        p = d[j];
      }
    }
    if (k !== i) {
      d[k] = d[i];
      d[i] = p;
      for (let j = 0; j < n; j++) {
        p = V[i * n + j];
        V[i * n + j] = V[k * n + j];
        V[k * n + j] = p;
      }
    }
  }
}
