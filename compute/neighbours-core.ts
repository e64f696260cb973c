/**
 * Exact neighbour searches, split into `parts` interleaved shares of block rows so that a
 * worker thread can run one share. Pure and synchronous; `neighbours.ts` runs the shares (in
 * parallel or on the calling thread) and merges them.
 *
 * Two metrics rank the same tiles of float32 dot products (tile-kernel.ts):
 * - 'cosine': rows already L2-normalised, ranked by the dot product itself (TopK.sim);
 * - 'euclidean': raw rows, ranked by the squared distance max(0, ‖q‖² + ‖x‖² − 2 q·x) in
 *   float64 (squared norms summed in float64 in column order, the dot the kernel's float32
 *   sum), kept as its negation so that "larger is better" holds for both.
 *
 * Ties are broken by the smaller row index everywhere, so merged results do not depend on
 * the number of parts.
 */
import { instantiateSimAll, type MaxesFn, type TileFn } from './tile-kernel.ts';

export type SearchMetric = 'cosine' | 'euclidean';

/**
 * Rows laid out in a shared WebAssembly memory for the SIMD tile kernel: X (and Q for cross
 * searches) with rows zero-padded to d4 floats and row counts padded to a multiple of 4, plus
 * one output tile per part. Built once by the caller, shared with the workers.
 */
export interface SimLayout {
  /** How tiles of dot products are ranked (default 'cosine': the dot of unit rows). */
  metric?: SearchMetric;
  /** 'euclidean': squared norms of the X rows and of the Q rows (float64, shared memory). */
  xSq?: Float64Array;
  qSq?: Float64Array;
  memory: WebAssembly.Memory;
  d: number;
  d4: number;
  /** Tile side in rows (multiple of 4). */
  bs: number;
  xPtr: number;
  n: number;
  qPtr: number;
  nq: number;
  /** Byte address of part p's output tile (bs × bs floats), followed by its tile maxima (partBytes). */
  outPtr: number[];
  /**
   * Self kNN searches (cosine): the X rows are laid out in this order (position p holds row
   * order[p]), blocks of spatially close rows (see blockOrder); results still use row indices.
   */
  order?: Int32Array;
}

const round4 = (x: number) => Math.ceil(x / 4) * 4;

/** Bytes of one part's working memory: the output tile, 4 lane maxima per tile row, 1 maximum per tile column. */
export function partBytes(bs: number): number {
  return bs * bs * 4 + bs * 16 + bs * 4;
}

/** Squared L2 norm of every row (float64, column order) into shared memory. */
export function squaredNorms(X: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8)).subarray(0, n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * d, e = j + d; j < e; j++) s += X[j] * X[j];
    out[i] = s;
  }
  return out;
}

/** Copies X (and Q) into a fresh shared memory laid out for `parts` parts. */
export function buildLayout(
  X: Float32Array, n: number, d: number, parts: number, Q?: Float32Array, nq = 0, metric: SearchMetric = 'cosine', order?: Int32Array,
): SimLayout {
  const d4 = round4(Math.max(d, 1));
  const bs = blockRowsFor(d4);
  const xBytes = round4(n) * d4 * 4;
  const qBytes = Q ? round4(nq) * d4 * 4 : 0;
  const outBytes = partBytes(bs);
  const total = xBytes + qBytes + parts * outBytes;
  const pages = Math.max(1, Math.ceil(total / 65536));
  if (pages > 65536) throw new RangeError(`neighbour search needs ${total} bytes, more than 4 GiB`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const F = new Float32Array(memory.buffer);
  const copy = (src: Float32Array, rows: number, at: number) => {
    if (d === d4) F.set(src.subarray(0, rows * d), at / 4);
    else for (let i = 0; i < rows; i++) F.set(src.subarray(i * d, i * d + d), at / 4 + i * d4);
  };
  if (order) for (let p = 0; p < n; p++) F.set(X.subarray(order[p] * d, order[p] * d + d), p * d4);
  else copy(X, n, 0);
  if (Q) copy(Q, nq, xBytes);
  const outPtr: number[] = [];
  for (let p = 0; p < parts; p++) outPtr.push(xBytes + qBytes + p * outBytes);
  const L: SimLayout = { memory, d, d4, bs, xPtr: 0, n, qPtr: xBytes, nq: Q ? nq : 0, outPtr, metric, ...(order ? { order } : {}) };
  if (metric === 'euclidean') {
    L.xSq = squaredNorms(X, n, d);
    L.qSq = Q ? squaredNorms(Q, nq, d) : L.xSq;
  }
  return L;
}

type SimKernel = { tile: TileFn; maxes: MaxesFn; rowMaxes: MaxesFn };
const kernels = new WeakMap<WebAssembly.Memory, SimKernel>();
function kernelFor(memory: WebAssembly.Memory): SimKernel {
  let k = kernels.get(memory);
  if (!k) { k = instantiateSimAll(memory); kernels.set(memory, k); }
  return k;
}

/**
 * A tile computer for one part: tile(aIsQ, aRow, aCount, bRow, bCount) fills `out` (stride bs);
 * maxima(rows, cols, withColumns) then fills rowMax (4 lane maxima per row: the row's maximum
 * is the largest) and, if asked, colMax (per column) over the tile's first rows × cols.
 */
function tiler(L: SimLayout, part: number) {
  const k = kernelFor(L.memory);
  const fn = k.tile;
  const rowBytes = L.d4 * 4;
  const outPtr = L.outPtr[part];
  const out = new Float32Array(L.memory.buffer, outPtr, L.bs * L.bs);
  const rowMaxPtr = outPtr + L.bs * L.bs * 4, colMaxPtr = rowMaxPtr + L.bs * 16;
  const rowMax = new Float32Array(L.memory.buffer, rowMaxPtr, L.bs * 4);
  const colMax = new Float32Array(L.memory.buffer, colMaxPtr, L.bs);
  return {
    out, rowMax, colMax,
    tile(aIsQ: boolean, aRow: number, aCount: number, bRow: number, bCount: number) {
      const aBase = aIsQ ? L.qPtr : L.xPtr;
      fn(aBase + aRow * rowBytes, aCount, L.xPtr + bRow * rowBytes, bCount, L.d4, outPtr, L.bs);
    },
    maxima(rows: number, cols: number, withColumns: boolean) {
      (withColumns ? k.maxes : k.rowMaxes)(outPtr, rows, round4(cols), L.bs, rowMaxPtr, colMaxPtr);
    },
  };
}

/** The largest of row a's four lane maxima. */
function rowMaximum(rowMax: Float32Array, a: number): number {
  const o = a * 4;
  const x = rowMax[o] > rowMax[o + 1] ? rowMax[o] : rowMax[o + 1];
  const y = rowMax[o + 2] > rowMax[o + 3] ? rowMax[o + 2] : rowMax[o + 3];
  return x > y ? x : y;
}

/**
 * An order of the rows in which every block of `bs` consecutive positions is a cell of a k-d
 * partition (split at a multiple of bs along the coordinate of largest spread, recursively;
 * ties by row index), so the rows of a block are near one another. Deterministic.
 */
export function blockOrder(X: Float32Array, n: number, d: number, bs: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const key = new Float64Array(n);
  const split = (lo: number, hi: number) => {
    const size = hi - lo;
    if (size <= bs) return;
    // The coordinate with the largest variance over the cell's rows.
    let best = 0, bestVar = -1;
    for (let j = 0; j < d; j++) {
      let s = 0, s2 = 0;
      for (let p = lo; p < hi; p++) { const v = X[order[p] * d + j]; s += v; s2 += v * v; }
      const v = s2 / size - (s / size) * (s / size);
      if (v > bestVar) { bestVar = v; best = j; }
    }
    for (let p = lo; p < hi; p++) key[order[p]] = X[order[p] * d + best];
    const cell = order.subarray(lo, hi);
    cell.sort((a, b) => key[a] - key[b] || a - b);
    const mid = lo + Math.max(bs, Math.round(size / 2 / bs) * bs);
    if (mid >= hi) return;
    split(lo, mid);
    split(mid, hi);
  };
  split(0, n);
  return order;
}

/**
 * A lower bound on each position's k-th best similarity: the k-th best among the other rows
 * of its own block (kernel products, so the very values the search compares), −Infinity
 * where the block has fewer than k other rows. A candidate below it can never enter the row's
 * list, so the search skips it as it would skip one below the k-th best found so far.
 */
function blockFloors(L: SimLayout, k: number, part: number): Float64Array {
  const n = L.n, bs = L.bs;
  const floor = new Float64Array(n).fill(-Infinity);
  const { out, tile } = tiler(L, part);
  const best = new Float64Array(k);
  for (let b0 = 0; b0 < n; b0 += bs) {
    const bc = Math.min(bs, n - b0);
    if (bc - 1 < k) continue;
    tile(false, b0, bc, b0, bc);
    for (let a = 0; a < bc; a++) {
      // The k largest of the row's products with the other rows of the block (insertion).
      best.fill(-Infinity);
      const o = a * bs;
      for (let b = 0; b < bc; b++) {
        const v = out[o + b];
        if (b === a || !(v > best[k - 1])) continue;
        let p = k - 1;
        while (p > 0 && best[p - 1] < v) { best[p] = best[p - 1]; p--; }
        best[p] = v;
      }
      floor[b0 + a] = best[k - 1];
    }
  }
  return floor;
}

/** Similarities (cosine) or negated squared distances (euclidean) of a top-k list. */
export type Scores = Float32Array | Float64Array;

/**
 * Top-k lists: row-major n × k, best first; index −1 (sim −Infinity) where fewer than k exist.
 * `sim` is the cosine (float32) for the cosine metric and −(squared distance) (float64) for
 * the euclidean one.
 */
export interface TopK<S extends Scores = Float32Array> {
  n: number;
  k: number;
  index: Int32Array;
  sim: S;
  /** For approximate graphs: measured recall@k against an exact search on a sample. */
  recall?: number;
  /** How an approximate-capable search ended up computing the graph. */
  method?: 'exact' | 'ivf';
  /**
   * For approximate graphs: the rows whose recall was measured and their exact lists (k + 1
   * per row, the row itself among them), so that callers can say what the approximation does
   * to their own figures on those rows.
   */
  check?: { rows: Int32Array; exact: TopK };
}

/** Pairs (a, b, similarity). For self-searches a < b. */
export interface PairList {
  a: Int32Array;
  b: Int32Array;
  sim: Float32Array;
  count: number;
}

/** Rows per tile side: about 128 KB of Float32 input per block, a multiple of 4. */
export function blockRowsFor(d4: number): number {
  const rows = Math.floor(32768 / Math.max(d4, 1));
  return Math.max(16, Math.min(512, rows - (rows % 4)));
}

export function emptyTopK(n: number, k: number): TopK;
export function emptyTopK(n: number, k: number, metric: 'cosine'): TopK;
export function emptyTopK(n: number, k: number, metric: SearchMetric): TopK<Scores>;
export function emptyTopK(n: number, k: number, metric: SearchMetric = 'cosine'): TopK<Scores> {
  const index = new Int32Array(n * k).fill(-1);
  const sim = (metric === 'euclidean' ? new Float64Array(n * k) : new Float32Array(n * k)).fill(-Infinity);
  return { n, k, index, sim };
}

/** Inserts candidate j with score s into row r's list if it ranks within the top k. */
function offer(top: TopK<Scores>, r: number, j: number, s: number): void {
  const k = top.k;
  const base = r * k;
  const idx = top.index, sim = top.sim;
  const lastS = sim[base + k - 1];
  if (s < lastS || (s === lastS && (idx[base + k - 1] !== -1 && j > idx[base + k - 1]))) return;
  let p = k - 1;
  while (p > 0) {
    const ps = sim[base + p - 1];
    const pi = idx[base + p - 1];
    if (ps > s || (ps === s && pi !== -1 && pi < j)) break;
    sim[base + p] = ps;
    idx[base + p] = pi;
    p--;
  }
  sim[base + p] = s;
  idx[base + p] = j;
}

/** Offers candidate j with similarity s to row r's list (public form of `offer`). */
export function offerTopK(top: TopK<Scores>, r: number, j: number, s: number): void {
  offer(top, r, j, s);
}

/** Merges per-part top-k lists (disjoint candidates per row) into one. */
export function mergeTopK<S extends Scores>(parts: TopK<S>[]): TopK<S> {
  if (parts.length === 1) return parts[0];
  const { n, k } = parts[0];
  const out = emptyTopK(n, k, parts[0].sim instanceof Float64Array ? 'euclidean' : 'cosine') as TopK<S>;
  for (const part of parts) {
    for (let r = 0; r < n; r++) {
      const base = r * k;
      for (let t = 0; t < k; t++) {
        const j = part.index[base + t];
        if (j === -1) break;
        offer(out, r, j, part.sim[base + t]);
      }
    }
  }
  return out;
}

/**
 * Scores of one tile row into `key` (float64): −max(0, ‖a‖² + ‖b‖² − 2 a·b) for rows b0.. of X.
 * The same expression, in the same order, for the pair seen from either side.
 */
function euclideanKeys(out: Float32Array, o: number, count: number, aSq: number, xSq: Float64Array, b0: number, key: Float64Array): void {
  for (let b = 0; b < count; b++) key[b] = -Math.max(0, aSq + xSq[b0 + b] - 2 * out[o + b]);
}

/**
 * k nearest other rows of each X row, over this part's share of block rows. Each pair is
 * computed once (tiles J ≥ I) and offered to both rows. For cosine tiles off the diagonal, the
 * tile's row and column maxima (computed in wasm) skip every row and column whose best value
 * cannot enter its list (the k-th best only rises), so most products are never read in JS.
 * When the layout has a block order (cosine), each row starts from its block floor (the k-th
 * best among its block's rows, blockFloors) instead of −Infinity, so far tiles are skipped
 * from the start. Lists hold row indices and break ties by them, so neither the order nor
 * the floors change a bit of the result.
 */
export function knnSelfPart(L: SimLayout, k: number, part: number, parts: number, onTile?: (pairs: number) => void): TopK<Scores> {
  const n = L.n, bs = L.bs;
  const eu = L.metric === 'euclidean';
  const top = emptyTopK(n, k, eu ? 'euclidean' : 'cosine');
  if (k === 0) return top;
  const ord = eu ? undefined : L.order;
  // worst[p]: the least score that can still enter the list of the row at position p.
  const floor = ord ? blockFloors(L, k, part) : null;
  const worst = floor ? Float64Array.from(floor) : new Float64Array(n).fill(-Infinity);
  const { out, tile, maxima, rowMax, colMax } = tiler(L, part);
  const xSq = L.xSq!;
  // One tile row's scores: the tile itself (cosine) or its euclidean keys.
  const key = new Float64Array(bs);
  const row: Scores = eu ? key : out;
  const active = new Int32Array(bs);
  const sim = top.sim;
  /** Offers position q to position p's row; returns p's new bound. */
  const offerAt = (p: number, q: number, s: number): number => {
    const r = ord ? ord[p] : p;
    offer(top, r, ord ? ord[q] : q, s);
    const kth = sim[r * k + k - 1];
    return (worst[p] = floor && floor[p] > kth ? floor[p] : kth);
  };
  const blocks = Math.ceil(n / bs);
  for (let I = part; I < blocks; I += parts) {
    const i0 = I * bs, ic = Math.min(bs, n - i0);
    for (let J = I; J < blocks; J++) {
      const j0 = J * bs, jc = Math.min(bs, n - j0);
      tile(false, i0, ic, j0, jc);
      if (!eu && J !== I) {
        maxima(ic, jc, true);
        // Columns whose maximum can enter their list; they are read row by row below (the
        // tile in memory order), not column by column, which strode across every row.
        let na = 0;
        for (let b = 0; b < jc; b++) if (colMax[b] >= worst[j0 + b]) active[na++] = b;
        for (let a = 0; a < ic; a++) {
          const i = i0 + a;
          const o = a * bs;
          let wi = worst[i];
          if (rowMaximum(rowMax, a) >= wi) {
            for (let b = 0; b < jc; b++) {
              const s = out[o + b];
              if (s >= wi) wi = offerAt(i, j0 + b, s);
            }
          }
          for (let t = 0; t < na; t++) {
            const b = active[t];
            const s = out[o + b];
            if (s >= worst[j0 + b]) offerAt(j0 + b, i, s);
          }
        }
        onTile?.(ic * jc);
        continue;
      }
      // Cheap rejection against each row's current k-th best before the full insert.
      for (let a = 0; a < ic; a++) {
        const i = i0 + a;
        let o = a * bs;
        if (eu) { euclideanKeys(out, o, jc, xSq[i], xSq, j0, key); o = 0; }
        if (J === I) {
          for (let b = 0; b < jc; b++) {
            const s = row[o + b];
            if (s >= worst[i] && b !== a) offerAt(i, j0 + b, s);
          }
        } else {
          let wi = worst[i];
          for (let b = 0; b < jc; b++) {
            const s = row[o + b];
            if (s >= wi) wi = offerAt(i, j0 + b, s);
            const j = j0 + b;
            if (s >= worst[j]) offerAt(j, i, s);
          }
        }
      }
      onTile?.(ic * jc);
    }
  }
  return top;
}

/** k nearest X rows of each Q row, over this part's share of Q. */
export function knnCrossPart(L: SimLayout, k: number, part: number, parts: number, onTile?: (pairs: number) => void): TopK<Scores> {
  const nq = L.nq, nx = L.n, bs = L.bs;
  const eu = L.metric === 'euclidean';
  const top = emptyTopK(nq, k, eu ? 'euclidean' : 'cosine');
  if (k === 0) return top;
  const { out, tile, maxima, rowMax } = tiler(L, part);
  const xSq = L.xSq!, qSq = L.qSq!;
  const key = new Float64Array(bs);
  const row: Scores = eu ? key : out;
  const sim = top.sim;
  const qBlocks = Math.ceil(nq / bs);
  for (let I = part; I < qBlocks; I += parts) {
    const i0 = I * bs, ic = Math.min(bs, nq - i0);
    for (let j0 = 0; j0 < nx; j0 += bs) {
      const jc = Math.min(bs, nx - j0);
      tile(true, i0, ic, j0, jc);
      if (!eu) maxima(ic, jc, false);
      for (let a = 0; a < ic; a++) {
        const i = i0 + a;
        let o = a * bs;
        let worst = sim[i * k + k - 1];
        // A row whose best product cannot enter the list is skipped unread (cosine).
        if (!eu && rowMaximum(rowMax, a) < worst) continue;
        if (eu) { euclideanKeys(out, o, jc, qSq[i], xSq, j0, key); o = 0; }
        for (let b = 0; b < jc; b++) {
          const s = row[o + b];
          if (s >= worst) { offer(top, i, j0 + b, s); worst = sim[i * k + k - 1]; }
        }
      }
      onTile?.(ic * jc);
    }
  }
  return top;
}

/** Growable pair buffer. */
export class PairBuffer {
  a = new Int32Array(1024);
  b = new Int32Array(1024);
  sim = new Float32Array(1024);
  count = 0;
  push(a: number, b: number, s: number): void {
    if (this.count === this.a.length) {
      const grow = (x: any, C: any) => { const y = new C(x.length * 2); y.set(x); return y; };
      this.a = grow(this.a, Int32Array);
      this.b = grow(this.b, Int32Array);
      this.sim = grow(this.sim, Float32Array);
    }
    this.a[this.count] = a;
    this.b[this.count] = b;
    this.sim[this.count] = s;
    this.count++;
  }
  toList(): PairList {
    return { a: this.a.slice(0, this.count), b: this.b.slice(0, this.count), sim: this.sim.slice(0, this.count), count: this.count };
  }
}

/** All pairs a < b of X rows with similarity ≥ threshold, over this part's share. */
export function pairsSelfPart(L: SimLayout, threshold: number, part: number, parts: number, onTile?: (pairs: number) => void): PairList {
  const n = L.n, bs = L.bs;
  const buf = new PairBuffer();
  const { out, tile, maxima, rowMax } = tiler(L, part);
  const blocks = Math.ceil(n / bs);
  for (let I = part; I < blocks; I += parts) {
    const i0 = I * bs, ic = Math.min(bs, n - i0);
    for (let J = I; J < blocks; J++) {
      const j0 = J * bs, jc = Math.min(bs, n - j0);
      tile(false, i0, ic, j0, jc);
      // Row maxima (wasm) skip the rows of the tile with no pair above the threshold unread.
      maxima(ic, jc, false);
      for (let a = 0; a < ic; a++) {
        if (rowMaximum(rowMax, a) < threshold) continue;
        const o = a * bs;
        for (let b = J === I ? a + 1 : 0; b < jc; b++) {
          const s = out[o + b];
          if (s >= threshold) buf.push(i0 + a, j0 + b, s);
        }
      }
      onTile?.(ic * jc);
    }
  }
  return buf.toList();
}

/** All pairs (q, x) with Q[q] · X[x] ≥ threshold, over this part's share of Q. */
export function pairsCrossPart(L: SimLayout, threshold: number, part: number, parts: number, onTile?: (pairs: number) => void): PairList {
  const nq = L.nq, nx = L.n, bs = L.bs;
  const buf = new PairBuffer();
  const { out, tile, maxima, rowMax } = tiler(L, part);
  const qBlocks = Math.ceil(nq / bs);
  for (let I = part; I < qBlocks; I += parts) {
    const i0 = I * bs, ic = Math.min(bs, nq - i0);
    for (let j0 = 0; j0 < nx; j0 += bs) {
      const jc = Math.min(bs, nx - j0);
      tile(true, i0, ic, j0, jc);
      maxima(ic, jc, false);
      for (let a = 0; a < ic; a++) {
        if (rowMaximum(rowMax, a) < threshold) continue;
        const o = a * bs;
        for (let b = 0; b < jc; b++) {
          const s = out[o + b];
          if (s >= threshold) buf.push(i0 + a, j0 + b, s);
        }
      }
      onTile?.(ic * jc);
    }
  }
  return buf.toList();
}

/** Concatenates pair lists and sorts by (a, b) so the order does not depend on the split. */
export function mergePairs(parts: PairList[]): PairList {
  let count = 0;
  for (const p of parts) count += p.count;
  const order = new Int32Array(count);
  const a = new Int32Array(count), b = new Int32Array(count), sim = new Float32Array(count);
  let o = 0;
  for (const p of parts) {
    a.set(p.a.subarray(0, p.count), o);
    b.set(p.b.subarray(0, p.count), o);
    sim.set(p.sim.subarray(0, p.count), o);
    o += p.count;
  }
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((x, y) => a[x] - a[y] || b[x] - b[y]);
  const out: PairList = { a: new Int32Array(count), b: new Int32Array(count), sim: new Float32Array(count), count };
  for (let i = 0; i < count; i++) {
    const s = order[i];
    out.a[i] = a[s]; out.b[i] = b[s]; out.sim[i] = sim[s];
  }
  return out;
}

/**
 * Random-hyperplane hash keys: the Q rows are the points, the X rows the hyperplanes (tables ×
 * bits of them). keys[t * nq + i] has bit b set when point i lies on the positive side of
 * hyperplane t·bits + b. Fills only this part's rows (the others stay 0; parts are OR-merged).
 */
export function signKeysPart(L: SimLayout, bits: number, part: number, parts: number, onTile?: (pairs: number) => void): Uint32Array {
  const nq = L.nq, bs = L.bs;
  const tables = Math.floor(L.n / bits);
  const h = tables * bits;
  const keys = new Uint32Array(tables * nq);
  // Hyperplane c sets bit (c mod bits) of table ⌊c / bits⌋'s key.
  const slot = new Int32Array(tables * bits), bit = new Uint32Array(tables * bits);
  for (let c = 0; c < tables * bits; c++) { slot[c] = Math.floor(c / bits) * nq; bit[c] = (1 << (c % bits)) >>> 0; }
  const { out, tile } = tiler(L, part);
  const qBlocks = Math.ceil(nq / bs);
  for (let I = part; I < qBlocks; I += parts) {
    const i0 = I * bs, ic = Math.min(bs, nq - i0);
    for (let j0 = 0; j0 < h; j0 += bs) {
      const jc = Math.min(bs, h - j0);
      tile(true, i0, ic, j0, jc);
      for (let a = 0; a < ic; a++) {
        const o = a * bs;
        const row = i0 + a;
        for (let b = 0; b < jc; b++) {
          if (out[o + b] < 0) continue;
          const c = j0 + b;
          keys[slot[c] + row] |= bit[c];
        }
      }
      onTile?.(ic * jc);
    }
  }
  return keys;
}

/** Full product block: out[i * nx + j] = Q[i] · X[j] for this part's share of Q rows. */
export function productPart(L: SimLayout, part: number, parts: number, onTile?: (pairs: number) => void): Float32Array {
  const nq = L.nq, nx = L.n, bs = L.bs;
  const res = new Float32Array(nq * nx);
  const { out, tile } = tiler(L, part);
  const qBlocks = Math.ceil(nq / bs);
  for (let I = part; I < qBlocks; I += parts) {
    const i0 = I * bs, ic = Math.min(bs, nq - i0);
    for (let j0 = 0; j0 < nx; j0 += bs) {
      const jc = Math.min(bs, nx - j0);
      tile(true, i0, ic, j0, jc);
      for (let a = 0; a < ic; a++) res.set(out.subarray(a * bs, a * bs + jc), (i0 + a) * nx + j0);
      onTile?.(ic * jc);
    }
  }
  return res;
}
