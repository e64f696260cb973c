/**
 * Runs the generated float64 WebAssembly logistic kernels (logistic-wasm.ts) over a dataset:
 * predictions (probabilities, logits) and LogisticEngine64, the fit's float64 loss and
 * gradient (the last iterations of a fit that converges below float32's resolution; the rest
 * runs on logistic-engine32.ts). X is copied into kernel memory once per fit (dense rows, or
 * sparse CSR + per-chunk CSC pairs when at least half the inputs are zero).
 *
 * Rows are cut into chunks of CHUNK_ROWS (a constant); each chunk accumulates its own
 * gradient and the chunks are summed in chunk order. Which thread runs which chunk therefore
 * never changes a single bit of the result.
 */
import { logisticModule, paddedClasses, PAIR_BYTES } from './logistic-wasm.ts';
import { Layout } from '../../compute/wasm.ts';
import { kernelFor, type SharedKernel } from '../../compute/pool.ts';
import { acquire, type Region } from '../../compute/arena.ts';
import type { LabelledMatrix } from './logistic.ts';

/** Rows per gradient chunk; a chunk is the unit of work handed to a thread (small enough that a 1,000-row fit has several). */
export const CHUNK_ROWS = 256;
/** Rows per prediction task. */
const PREDICT_ROWS = 2048;

const moduleCache = new Map<number, WebAssembly.Module>();
/** The compiled kernel for k classes (compiled once per process and k). */
export function logisticWasmModule(k: number): WebAssembly.Module {
  let m = moduleCache.get(k);
  if (!m) {
    m = new WebAssembly.Module(logisticModule(k, true));
    moduleCache.set(k, m);
  }
  return m;
}

type Fn = (...args: number[]) => number | void;
export interface LogisticExports {
  chunk_s: Fn; chunk_d: Fn; logits_s: Fn; logits_d: Fn; proba_s: Fn; proba_d: Fn;
}

/**
 * Dense storage (f32 rows, every input visited) beats sparse pairs (8 bytes and an index per
 * non-zero) unless at least half the inputs are zero. The choice depends only on the data,
 * and both give the same values (a zero input adds an exact ±0).
 */
export function useDense(nnz: number, n: number, d: number): boolean {
  return nnz >= 0.5 * n * d;
}

/** Non-zeros per row block [r0, r1) of a dense row-major matrix. */
function countNonZeros(X: Float32Array, d: number, r0: number, r1: number): number {
  let nnz = 0;
  for (let i = r0 * d, e = r1 * d; i < e; i++) if (X[i] !== 0) nnz++;
  return nnz;
}

/**
 * Writes rows [0, n) of X as CSR pairs at byte address `at`: row pointers (absolute byte
 * addresses, n + 1) into `rows`, pairs (j·rowBytes, x_ij) in column order.
 */
function fillCsr(buf: ArrayBufferLike, X: Float32Array, n: number, d: number, rowBytes: number, rowsAt: number, pairsAt: number, nnz: number): void {
  const rows = new Int32Array(buf, rowsAt, n + 1);
  const off = new Int32Array(buf, pairsAt, 2 * nnz);
  const val = new Float32Array(buf, pairsAt, 2 * nnz);
  let p = 0;
  for (let i = 0; i < n; i++) {
    rows[i] = pairsAt + PAIR_BYTES * p;
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const x = X[o + j];
      if (x !== 0) { off[2 * p] = j * rowBytes; val[2 * p + 1] = x; p++; }
    }
  }
  rows[n] = pairsAt + PAIR_BYTES * p;
}

/** Non-zeros per column in each block of CHUNK_ROWS rows (nChunks × d), in one pass. */
function chunkColumnCounts(X: Float32Array, n: number, d: number, nChunks: number): Int32Array {
  const counts = new Int32Array(nChunks * d);
  for (let i = 0; i < n; i++) {
    const o = i * d, co = Math.floor(i / CHUNK_ROWS) * d;
    for (let j = 0; j < d; j++) if (X[o + j] !== 0) counts[co + j]++;
  }
  return counts;
}

/**
 * Fills, in one pass over X, the CSR pairs of all rows and the CSC pairs of every chunk
 * ((i − r0)·rowBytes, x_ij; rows increasing within a column). colsAt[c] / pairsAt[c]: where
 * chunk c's column pointers and pairs go; counts: chunkColumnCounts.
 */
function fillCsrAndCsc(
  buf: ArrayBufferLike, X: Float32Array, n: number, d: number, rowBytes: number,
  rowsAt: number, csrAt: number, nnz: number, counts: Int32Array, colsAt: number[], cscAt: number[],
): void {
  const rows = new Int32Array(buf, rowsAt, n + 1);
  const off = new Int32Array(buf, csrAt, 2 * nnz);
  const val = new Float32Array(buf, csrAt, 2 * nnz);
  const i32 = new Int32Array(buf), f32 = new Float32Array(buf);
  const next = new Int32Array(d);
  let p = 0;
  for (let c = 0; c * CHUNK_ROWS < n; c++) {
    const r0 = c * CHUNK_ROWS, r1 = Math.min(n, r0 + CHUNK_ROWS);
    // Column starts of this chunk (as pair indices relative to its pair area).
    const cols = new Int32Array(buf, colsAt[c], d + 1);
    let acc = 0;
    for (let j = 0; j < d; j++) { cols[j] = cscAt[c] + PAIR_BYTES * acc; next[j] = (cscAt[c] >> 2) + 2 * acc; acc += counts[c * d + j]; }
    cols[d] = cscAt[c] + PAIR_BYTES * acc;
    for (let i = r0; i < r1; i++) {
      rows[i] = csrAt + PAIR_BYTES * p;
      const o = i * d, rb = (i - r0) * rowBytes;
      for (let j = 0; j < d; j++) {
        const x = X[o + j];
        if (x === 0) continue;
        off[2 * p] = j * rowBytes; val[2 * p + 1] = x; p++;
        const q = next[j]; next[j] = q + 2;
        i32[q] = rb; f32[q + 1] = x;
      }
    }
  }
  rows[n] = csrAt + PAIR_BYTES * p;
}

/** Where one problem lives in kernel memory. */
export interface LogisticJobLayout {
  k: number; d: number; n: number; kp: number; dense: boolean;
  /** Sparse: row pointers (CSR); dense: X itself. */
  src: number;
  y: number; W: number; b: number;
  /** Per chunk: rows, column source (sparse: its CSC pointers; dense: X), residual rows R and gradient block G (d + 1 rows of kp doubles; the last is the intercepts'). */
  chunks: { r0: number; r1: number; csrc: number; R: number; G: number }[];
  /** Chunk losses, one double each. */
  loss: number;
}

export class LogisticEngine64 {
  readonly layout: LogisticJobLayout;
  private region: Region;
  private kernel: SharedKernel<LogisticExports>;
  private tasks: number[][];
  /** Views into the region, made once (a shared memory's growth never moves or detaches them). */
  private views: { W: Float64Array; b: Float64Array; losses: Float64Array; G: Float64Array[] };

  constructor(data: LabelledMatrix) {
    const { X, n, d, y, k } = data;
    const kp = paddedClasses(k);
    const rowBytes = 8 * kp;
    const nChunks = Math.max(1, Math.ceil(n / CHUNK_ROWS));
    const counts = chunkColumnCounts(X, n, d, nChunks);
    const chunkNnz = Array.from({ length: nChunks }, (_, c) => {
      let t = 0;
      for (let j = 0; j < d; j++) t += counts[c * d + j];
      return t;
    });
    const nnz = chunkNnz.reduce((a, b) => a + b, 0);
    const dense = useDense(nnz, n, d);
    // Sizes first (relative offsets), then one region of kernel memory for all of it.
    const L = new Layout();
    const rel = {
      src: dense ? L.alloc(4 * n * d) : L.alloc(4 * (n + 1)), pairs: dense ? 0 : L.alloc(PAIR_BYTES * nnz),
      y: L.alloc(4 * n), W: L.alloc(8 * d * kp), b: L.alloc(8 * kp), loss: L.alloc(8 * nChunks),
      chunks: [] as { r0: number; r1: number; nnz: number; cols: number; pairs: number; R: number; G: number }[],
    };
    for (let c = 0; c < nChunks; c++) {
      const r0 = c * CHUNK_ROWS, r1 = Math.min(n, r0 + CHUNK_ROWS);
      const cn = dense ? 0 : chunkNnz[c];
      rel.chunks.push({
        r0, r1, nnz: cn, cols: dense ? 0 : L.alloc(4 * (d + 1)), pairs: dense ? 0 : L.alloc(PAIR_BYTES * cn),
        R: L.alloc(rowBytes * (r1 - r0)), G: L.alloc(rowBytes * (d + 1)),
      });
    }
    this.region = acquire(L.bytes);
    const at = this.region.base;
    const lay: LogisticJobLayout = {
      k, d, n, kp, dense, src: at + rel.src, y: at + rel.y, W: at + rel.W, b: at + rel.b, loss: at + rel.loss,
      chunks: rel.chunks.map((ch) => ({ r0: ch.r0, r1: ch.r1, csrc: dense ? at + rel.src : at + ch.cols, R: at + ch.R, G: at + ch.G })),
    };
    this.layout = lay;
    const buf = this.region.buffer();
    if (dense) {
      new Float32Array(buf, lay.src, n * d).set(X);
    } else {
      fillCsrAndCsc(buf, X, n, d, rowBytes, lay.src, at + rel.pairs, nnz, counts, lay.chunks.map((ch) => ch.csrc), rel.chunks.map((ch) => at + ch.pairs));
    }
    new Int32Array(buf, lay.y, n).set(y);
    new Float64Array(buf, lay.W, d * kp).fill(0);
    new Float64Array(buf, lay.b, kp).fill(0);
    this.kernel = kernelFor<LogisticExports>(logisticWasmModule(k));
    this.tasks = lay.chunks.map((ch, c) => [lay.src, ch.csrc, d, lay.y, ch.r0, ch.r1, lay.W, lay.b, ch.R, ch.G, lay.loss + 8 * c]);
    this.views = {
      W: new Float64Array(buf, lay.W, d * kp), b: new Float64Array(buf, lay.b, kp),
      losses: new Float64Array(buf, lay.loss, nChunks),
      G: lay.chunks.map((ch) => new Float64Array(buf, ch.G, (d + 1) * kp)),
    };
  }

  /** Returns the kernel memory this engine holds (engines are released last-in first-out). */
  close(): void { this.region.release(); }

  /**
   * Summed cross-entropy at θ = [W (d × k), b (k)]; writes its gradient into `grad`
   * (overwriting it).
   */
  lossGrad(theta: Float64Array, grad: Float64Array): number {
    const lay = this.layout;
    const { d, k, kp } = lay;
    const { W, b, losses } = this.views;
    for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) W[j * kp + c] = theta[j * k + c];
    for (let c = 0; c < k; c++) b[c] = theta[d * k + c];
    this.kernel.run(lay.dense ? 'chunk_d' : 'chunk_s', this.tasks);
    // Sum chunk results in chunk order (fixed, whichever thread ran them).
    const nc = lay.chunks.length;
    let loss = 0;
    grad.fill(0);
    for (let c = 0; c < nc; c++) {
      loss += losses[c];
      const G = this.views.G[c];
      for (let j = 0; j <= d; j++) {
        const go = j * kp, to = j * k;
        for (let cc = 0; cc < k; cc++) grad[to + cc] += G[go + cc];
      }
    }
    return loss;
  }
}

/**
 * Runs logits_m or proba_m over X (n × d) with θ = [W (d × k), b (k)] in row blocks spread
 * over the kernel threads; `read` copies the result out of kernel memory.
 */
function predictRows<T>(X: Float32Array, n: number, d: number, k: number, theta: Float64Array, kind: 'logits' | 'proba', read: (buf: SharedArrayBuffer, at: number) => T): T {
  const kp = paddedClasses(k);
  const nnz = countNonZeros(X, d, 0, n);
  const dense = useDense(nnz, n, d);
  const outBytes = kind === 'logits' ? 8 * kp : 4 * k;
  const nTasks = Math.max(1, Math.ceil(n / PREDICT_ROWS));
  const L = new Layout();
  const rel = {
    src: dense ? L.alloc(4 * n * d) : L.alloc(4 * (n + 1)), pairs: dense ? 0 : L.alloc(PAIR_BYTES * nnz),
    W: L.alloc(8 * d * kp), b: L.alloc(8 * kp), out: L.alloc(outBytes * n), zs: L.alloc(8 * kp * nTasks),
  };
  const region = acquire(L.bytes);
  try {
    const at = region.base;
    const buf = region.buffer();
    if (dense) new Float32Array(buf, at + rel.src, n * d).set(X);
    else fillCsr(buf, X, n, d, 8 * kp, at + rel.src, at + rel.pairs, nnz);
    const W = new Float64Array(buf, at + rel.W, d * kp), b = new Float64Array(buf, at + rel.b, kp);
    W.fill(0); b.fill(0);
    for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) W[j * kp + c] = theta[j * k + c];
    for (let c = 0; c < k; c++) b[c] = theta[d * k + c];
    // Row blocks as tasks: each writes its own output rows (and has its own scratch).
    const tasks: number[][] = [];
    for (let t = 0, r0 = 0; r0 < n; t++, r0 += PREDICT_ROWS) {
      tasks.push([at + rel.src, d, r0, Math.min(n, r0 + PREDICT_ROWS), at + rel.W, at + rel.b, at + rel.out + outBytes * r0, at + rel.zs + 8 * kp * t]);
    }
    kernelFor<LogisticExports>(logisticWasmModule(k)).run(`${kind}_${dense ? 'd' : 's'}`, tasks);
    return read(buf, at + rel.out);
  } finally {
    region.release();
  }
}

/** Class probabilities softmax(X·W + b) as n × k float32, computed in the kernel. */
export function logisticProba(X: Float32Array, n: number, d: number, k: number, theta: Float64Array): Float32Array {
  return predictRows(X, n, d, k, theta, 'proba', (buf, at) => new Float32Array(buf, at, n * k).slice());
}

/** Logits X·W + b (n × k doubles) with the same kernel. */
export function logisticLogitsWasm(X: Float32Array, n: number, d: number, k: number, theta: Float64Array): Float64Array {
  const kp = paddedClasses(k);
  return predictRows(X, n, d, k, theta, 'logits', (buf, at) => {
    const outP = new Float64Array(buf, at, n * kp);
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) out[i * k + c] = outP[i * kp + c];
    return out;
  });
}
