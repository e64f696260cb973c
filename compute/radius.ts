/**
 * Exact Euclidean radius search: every pair of rows closer than r, for radii far below the
 * typical nearest-neighbour distance (near duplicates of tabular and low-dimensional rows).
 *
 * Projections onto fixed unit directions shrink distances (|u·a − u·b| ≤ ‖a − b‖), so rows
 * sorted by their projection on the first direction only need comparing within a window of
 * width r, and a pair whose projections on the other directions differ by more than r is
 * rejected before its full distance is computed. The result is exact whatever the data (a
 * window only costs time, never a pair); with r ≪ the spread of the projections the windows
 * are nearly empty, so the search is about n log n. Distances are summed in float64 over the
 * float32 rows, in column order, so results never depend on anything but the input.
 */
import type { PairList } from './neighbours-core.ts';
import { PairBuffer, mergePairs } from './neighbours-core.ts';

/** Projections of the rows of X (n × d) on the unit rows of U (m × d), column-major by direction. */
function projections(X: Float32Array, n: number, d: number, U: Float64Array, m: number): Float64Array {
  const P = new Float64Array(m * n);
  for (let t = 0; t < m; t++) {
    const u = U.subarray(t * d, (t + 1) * d);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * d;
      for (let j = 0; j < d; j++) s += X[o + j] * u[j];
      P[t * n + i] = s;
    }
  }
  return P;
}

function squaredDistance(A: Float32Array, a: number, B: Float32Array, b: number, d: number): number {
  let s = 0;
  const oa = a * d, ob = b * d;
  for (let j = 0; j < d; j++) { const v = A[oa + j] - B[ob + j]; s += v * v; }
  return s;
}

/** Rows ordered by projection (ties by row index). */
function orderBy(p: Float64Array, n: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((x, y) => p[x] - p[y] || x - y);
  return order;
}

/** Rounding slack on projected differences (projections are float64 sums of float32 products). */
const slackFor = (r: number, scale: number) => r + 1e-9 * (1 + scale);

export interface RadiusOptions {
  /** Unit directions (m × d, row-major); at least one. The caller fixes them (seeded). */
  directions: Float64Array;
}

/**
 * Pairs a < b whose projections on the first direction differ by at most r (plus the rounding
 * slack): the candidates radiusPairsSelf would look at, so callers can tell whether the
 * windowed search pays against an all-pairs one. O(n log n).
 */
export function radiusWindowPairs(X: Float32Array, n: number, d: number, r: number, o: RadiusOptions): number {
  const p0 = projections(X, n, d, o.directions.subarray(0, d), 1);
  const sorted = Float64Array.from(p0).sort();
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(p0[i]));
  const w = slackFor(r, scale);
  let pairs = 0;
  for (let s = 0, t = 0; s < n; s++) {
    if (t < s + 1) t = s + 1;
    while (t < n && sorted[t] - sorted[s] <= w) t++;
    pairs += t - s - 1;
  }
  return pairs;
}

/** The first `count` coordinate axes of a d-dimensional space as unit directions (count × d). */
export function axisDirections(d: number, count: number): Float64Array {
  const m = Math.max(1, Math.min(count, d));
  const U = new Float64Array(m * d);
  for (let t = 0; t < m; t++) U[t * d + t] = 1;
  return U;
}

/** All pairs a < b of rows of X with ‖X[a] − X[b]‖ ≤ r; `sim` holds the distances. Sorted by (a, b). */
export function radiusPairsSelf(X: Float32Array, n: number, d: number, r: number, o: RadiusOptions): PairList {
  const m = o.directions.length / d;
  const P = projections(X, n, d, o.directions, m);
  const p0 = P.subarray(0, n);
  const order = orderBy(p0, n);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(p0[i]));
  const w = slackFor(r, scale), r2 = r * r;
  // The projections in sorted order, a row's m values side by side, so the window scan
  // reads memory in sequence.
  const S = new Float64Array(m * n);
  for (let t = 0; t < n; t++) for (let q = 0; q < m; q++) S[t * m + q] = P[q * n + order[t]];
  const out = new PairBuffer();
  for (let s = 0; s < n; s++) {
    const i = order[s];
    const os = s * m;
    const si = S[os];
    for (let t = s + 1, ot = t * m; t < n; t++, ot += m) {
      if (S[ot] - si > w) break;
      let far = false;
      for (let q = 1; q < m; q++) if (Math.abs(S[os + q] - S[ot + q]) > w) { far = true; break; }
      if (far) continue;
      const j = order[t];
      const d2 = squaredDistance(X, i, X, j, d);
      if (d2 <= r2) out.push(Math.min(i, j), Math.max(i, j), Math.sqrt(d2));
    }
  }
  return mergePairs([out.toList()]);
}

/** All pairs (q, x) with ‖Q[q] − X[x]‖ ≤ r; `sim` holds the distances. Sorted by (q, x). */
export function radiusPairsCross(
  Q: Float32Array, nq: number, X: Float32Array, nx: number, d: number, r: number, o: RadiusOptions,
): PairList {
  const m = o.directions.length / d;
  const PQ = projections(Q, nq, d, o.directions, m);
  const PX = projections(X, nx, d, o.directions, m);
  const q0 = PQ.subarray(0, nq), x0 = PX.subarray(0, nx);
  const orderX = orderBy(x0, nx);
  const sortedX = Float64Array.from(orderX, (i) => x0[i]);
  let scale = 0;
  for (let i = 0; i < nq; i++) scale = Math.max(scale, Math.abs(q0[i]));
  for (let i = 0; i < nx; i++) scale = Math.max(scale, Math.abs(x0[i]));
  const w = slackFor(r, scale), r2 = r * r;
  // The X projections in sorted order, so each window is read in sequence.
  const SX = new Float64Array(m * nx);
  for (let t = 0; t < nx; t++) for (let q = 0; q < m; q++) SX[t * m + q] = PX[q * nx + orderX[t]];
  const out = new PairBuffer();
  for (let a = 0; a < nq; a++) {
    // First X row (in projection order) not below q − w: binary search.
    let lo = 0, hi = nx;
    const from = q0[a] - w;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (sortedX[mid] < from) lo = mid + 1; else hi = mid; }
    for (let t = lo; t < nx && sortedX[t] <= q0[a] + w; t++) {
      let far = false;
      for (let q = 1; q < m; q++) if (Math.abs(PQ[q * nq + a] - SX[t * m + q]) > w) { far = true; break; }
      if (far) continue;
      const b = orderX[t];
      const d2 = squaredDistance(Q, a, X, b, d);
      if (d2 <= r2) out.push(a, b, Math.sqrt(d2));
    }
  }
  return mergePairs([out.toList()]);
}
