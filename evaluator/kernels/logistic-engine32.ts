/**
 * LogisticEngine32: loss and gradient of multinomial logistic regression over one dataset on
 * the float32 tile kernels of logistic-tiles.ts (see there for the order of operations and
 * why no thread count changes a bit). The data is copied into kernel memory once per fit,
 * rows side by side in tiles (the kernel's `pack`, on every kernel thread), with each tile's
 * runs of inputs that are not all zero; each evaluation makes one pass over it (forward
 * and backward tile by tile) and one reduction of the blocks' partial gradients.
 */
import { BLOCK_ROWS, classStride, logisticTilesModule, paddedInputs, scratchBytes, tileSize } from './logistic-tiles.ts';
import { Layout } from '../../compute/wasm.ts';
import { kernelFor, type SharedKernel } from '../../compute/pool.ts';
import { acquire, type Region } from '../../compute/arena.ts';
import type { LabelledMatrix } from './logistic.ts';

/** At most this many fit tasks (ranges of row blocks) per pass, each with its own scratch. */
const MAX_FIT_TASKS = 256;
/** Reduce tasks per pass (ranges of gradient entries). */
const REDUCE_TASKS = 16;

const tilesCache = new Map<number, WebAssembly.Module>();
/** The compiled fit kernel for k classes (compiled once per process and k). */
export function logisticTilesWasmModule(k: number): WebAssembly.Module {
  let m = tilesCache.get(k);
  if (!m) {
    m = new WebAssembly.Module(logisticTilesModule(k));
    tilesCache.set(k, m);
  }
  return m;
}

/**
 * About the smallest gradient entry the float32 kernels resolve on this data: a gradient sum
 * runs in float32 over blocks of BLOCK_ROWS rows, so its rounding error grows like
 * 2⁻²⁴·√(n·BLOCK_ROWS) times the size of a term (|x|·|p − y| ≤ |x|, taken as the data's
 * root mean square), with a margin of 16. Below it, a fit continues in float64.
 */
export function float32Resolution(data: LabelledMatrix): number {
  const { X, n } = data;
  let sq = 0;
  for (let q = 0; q < X.length; q++) sq += X[q] * X[q];
  const rms = Math.sqrt(sq / Math.max(1, X.length));
  return 16 * 2 ** -24 * Math.sqrt(n * BLOCK_ROWS) * rms;
}

type Fn = (...args: number[]) => number | void;
export interface LogisticTilesExports { fb: Fn; red: Fn; pack: Fn }
/** Rows per packing task, and per copy of X into kernel memory (a multiple of it). */
const PACK_ROWS = 256;
const PACK_CHUNK_ROWS = 16 * PACK_ROWS;

/**
 * Zero inputs of a tile are skipped in runs: a gap of at most this many inputs whose T values
 * are all zero is visited anyway (its products are exact zeros), since starting a run costs
 * about as much as visiting an input.
 */
const MERGE_GAP = 2;

/**
 * Each tile's runs of inputs [j0, j1) holding a non-zero among its T rows (gaps of at most
 * MERGE_GAP merged; the intercepts' input d is 1 on every real row): `ptr[t]` … `ptr[t + 1]`
 * index pairs of `runs`.
 */
function tileRuns(X: Float32Array, n: number, d: number, T: number, dp: number): { ptr: Int32Array; runs: Int32Array; visits: number } {
  const tiles = Math.ceil(n / T);
  const ptr = new Int32Array(tiles + 1);
  let runs = new Int32Array(Math.max(64, 4 * tiles));
  let p = 0, visits = 0;
  const mark = new Uint8Array(dp);
  for (let t = 0; t < tiles; t++) {
    mark.fill(0);
    for (let i = t * T, ie = Math.min(n, i + T); i < ie; i++) {
      for (let j = 0, o = i * d; j < d; j++) if (X[o + j] !== 0) mark[j] = 1;
    }
    mark[d] = 1;
    ptr[t] = p;
    let j = 0;
    while (j < dp) {
      if (!mark[j]) { j++; continue; }
      const j0 = j;
      let j1 = j + 1;
      for (;;) {
        while (j1 < dp && mark[j1]) j1++;
        let g = j1;
        while (g < dp && !mark[g] && g - j1 < MERGE_GAP + 1) g++;
        if (g < dp && mark[g] && g - j1 <= MERGE_GAP) { j1 = g; continue; }
        break;
      }
      if (p + 2 > runs.length) { const bigger = new Int32Array(2 * runs.length); bigger.set(runs); runs = bigger; }
      runs[p++] = j0; runs[p++] = j1;
      visits += j1 - j0;
      j = j1;
    }
  }
  ptr[tiles] = p;
  return { ptr, runs: runs.subarray(0, p), visits };
}

/** Where one problem lives in kernel memory (byte addresses). */
export interface LogisticJobLayout {
  k: number; d: number; n: number;
  /** Classes padded to whole f32x4 vectors; inputs (with the intercepts' at d) padded to T; rows padded to T. */
  kq: number; dp: number; np: number;
  /** Rows per tile (logistic-tiles.ts tileSize). */
  tile: number;
  /** Row blocks of BLOCK_ROWS rows (one float32 partial gradient each). */
  blocks: number;
  /** Tile-inputs visited per pass, forward and backward alike, in this many runs. */
  visits: number; runs: number;
  Xf: number; rptr: number; y: number; W: number; P: number; G: number; loss: number;
}

/**
 * Loss and gradient of multinomial logistic regression over one dataset, on the float32 tile
 * kernels of logistic-tiles.ts (see there for the order of operations). The data is copied
 * into kernel memory once per fit (rows side by side in tiles), with each tile's runs of
 * inputs that hold a non-zero.
 */
export class LogisticEngine32 {
  readonly layout: LogisticJobLayout;
  private region: Region;
  private kernel: SharedKernel<LogisticTilesExports>;
  private fitTasks: number[][];
  private reduceTasks: number[][];
  /** Views into the region, made once (a shared memory's growth never moves or detaches them). */
  private views: { W: Float32Array; G: Float64Array; losses: Float64Array };

  constructor(data: LabelledMatrix) {
    const { X, n, d, y, k } = data;
    const T = tileSize(k);
    const kq = classStride(k), dp = paddedInputs(d, k), np = Math.ceil(n / T) * T;
    const tiles = np / T, blocks = Math.ceil(np / BLOCK_ROWS);
    const tr = tileRuns(X, n, d, T, dp);
    const visits = tr.visits, runs = tr.runs.length / 2;
    const nFit = Math.min(MAX_FIT_TASKS, blocks);
    const L = new Layout();
    const rel = {
      Xf: L.alloc(4 * np * dp),
      rptr: L.alloc(4 * (tiles + 1)), runs: L.alloc(8 * runs),
      y: L.alloc(4 * np), W: L.alloc(4 * dp * kq), P: L.alloc(4 * dp * kq * blocks), G: L.alloc(8 * dp * kq), loss: L.alloc(8 * np),
      sc: L.alloc(scratchBytes(k) * nFit),
    };
    this.region = acquire(L.bytes);
    const at = this.region.base;
    const buf = this.region.buffer();
    const lay: LogisticJobLayout = {
      k, d, n, kq, dp, np, tile: T, blocks, visits, runs,
      Xf: at + rel.Xf, rptr: at + rel.rptr, y: at + rel.y, W: at + rel.W, P: at + rel.P, G: at + rel.G, loss: at + rel.loss,
    };
    this.layout = lay;
    // The packing (Xf: tile t, input j → its T rows side by side) by the kernel's `pack`,
    // rows split into tasks over the threads, from copies of X in kernel memory a chunk of
    // rows at a time (the memory a fit keeps is the packing's, not a second copy). Every
    // value is written (padding: 0), so the region needs no clearing first.
    this.kernel = kernelFor<LogisticTilesExports>(logisticTilesWasmModule(k));
    const chunk = Math.min(np, PACK_CHUNK_ROWS);
    const tmp = acquire(4 * chunk * d);
    try {
      const rows = new Float32Array(tmp.buffer(), tmp.base, chunk * d);
      for (let c0 = 0; c0 < np; c0 += chunk) {
        const c1 = Math.min(np, c0 + chunk);
        if (c0 < n) rows.set(X.subarray(c0 * d, Math.min(n, c1) * d));
        // pack reads row i at X + 4·i·d: the chunk's copy starts at row c0 (i32 addresses wrap).
        const xAt = (tmp.base - 4 * c0 * d) | 0;
        const tasks: number[][] = [];
        for (let i0 = c0; i0 < c1; i0 += PACK_ROWS) tasks.push([i0, Math.min(c1, i0 + PACK_ROWS), xAt, n, d, dp, lay.Xf]);
        this.kernel.run('pack', tasks);
      }
    } finally {
      tmp.release();
    }
    // Run pointers as absolute byte addresses of (j0, j1) pairs.
    const ptr = new Int32Array(buf, lay.rptr, tiles + 1);
    for (let t = 0; t <= tiles; t++) ptr[t] = at + rel.runs + 4 * tr.ptr[t];
    new Int32Array(buf, at + rel.runs, 2 * runs).set(tr.runs);
    new Int32Array(buf, lay.y, np).fill(0).set(y);
    new Float32Array(buf, lay.W, dp * kq).fill(0);
    // Task cuts never change a bit (see logistic-tiles.ts); many small tasks balance load.
    const sb = scratchBytes(k);
    this.fitTasks = Array.from({ length: nFit }, (_, q) => [
      Math.floor((blocks * q) / nFit), Math.floor((blocks * (q + 1)) / nFit), lay.Xf, dp, lay.rptr, lay.W, lay.y, n, np, lay.loss, lay.P, at + rel.sc + sb * q,
    ]);
    const entries = dp * kq, nRed = Math.min(REDUCE_TASKS, entries / 8);
    this.reduceTasks = Array.from({ length: nRed }, (_, q) => [
      8 * Math.floor((entries / 8 * q) / nRed), 8 * Math.floor((entries / 8 * (q + 1)) / nRed), lay.P, blocks, 4 * entries, lay.G,
    ]);
    this.views = {
      W: new Float32Array(buf, lay.W, dp * kq), G: new Float64Array(buf, lay.G, dp * kq), losses: new Float64Array(buf, lay.loss, n),
    };
  }

  /** Tasks per pass (what the kernel threads share): fit tasks (row blocks), reduce tasks. */
  get tasks(): { fit: number; reduce: number } {
    return { fit: this.fitTasks.length, reduce: this.reduceTasks.length };
  }

  /** Returns the kernel memory this engine holds (engines are released last-in first-out). */
  close(): void { this.region.release(); }

  /**
   * Summed cross-entropy at θ = [W (d × k), b (k)] (θ rounded to float32 inside the kernel);
   * writes its gradient into `grad` (overwriting it).
   */
  lossGrad(theta: Float64Array, grad: Float64Array): number {
    const { d, k, kq, n } = this.layout;
    const { W, G, losses } = this.views;
    // Rows 0 … d of W: the inputs' weights, then the intercepts (the constant input d).
    for (let j = 0; j <= d; j++) for (let c = 0; c < k; c++) W[j * kq + c] = theta[j * k + c];
    this.kernel.run('fb', this.fitTasks);
    this.kernel.run('red', this.reduceTasks);
    let loss = 0;
    for (let i = 0; i < n; i++) loss += losses[i];
    for (let j = 0; j <= d; j++) for (let c = 0; c < k; c++) grad[j * k + c] = G[j * kq + c];
    return loss;
  }
}
