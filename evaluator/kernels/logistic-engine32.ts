/**
 * LogisticEngine32: loss and gradient of multinomial logistic regression over one dataset on
 * the float32 tile kernels of logistic-tiles.ts (see there for the order of operations and
 * why no thread count changes a bit). The data is copied into kernel memory once per fit, in
 * both packings (rows side by side for the forward pass, inputs side by side for the
 * backward pass; the kernel's `pack`, on every kernel thread), with visit lists when enough
 * tiles are zero.
 */
import { paddedClasses } from './logistic-wasm.ts';
import { BLOCK_ROWS, classStride, logisticTilesModule, paddedInputs, tileSize } from './logistic-tiles.ts';
import { Layout } from '../../compute/wasm.ts';
import { kernelFor, type SharedKernel } from '../../compute/pool.ts';
import { acquire, type Region } from '../../compute/arena.ts';
import type { LabelledMatrix } from './logistic.ts';

/** At most this many forward (row tiles) / backward (input blocks) tasks per pass. */
const MAX_FORWARD_TASKS = 64;
const MAX_BACKWARD_TASKS = 64;
/** Backward scratch per task: one f32x4 per accumulator (at most 24). */
const SCRATCH_BYTES = 16 * 24;

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
export interface LogisticTilesExports { fwd_d: Fn; fwd_l: Fn; bwd_d: Fn; bwd_l: Fn; pack: Fn }
/** Rows per packing task, and per copy of X into kernel memory (a multiple of it). */
const PACK_ROWS = 256;
const PACK_CHUNK_ROWS = 16 * PACK_ROWS;

/** Visit lists only when they skip at least this share of the dense work. */
const LIST_BELOW = 0.9;

/** Where one problem lives in kernel memory (byte addresses). */
export interface LogisticJobLayout {
  k: number; d: number; n: number;
  /** Classes padded to whole f32x4 vectors; inputs (with the intercepts' at d) padded to 4; rows padded to 4. */
  kq: number; dp: number; np: number;
  /** Rows per forward tile = inputs per backward block (logistic-tiles.ts tileSize). */
  tile: number;
  /** Tile-inputs / block-rows visited per pass (all of them when not listed). */
  forwardVisits: number; backwardVisits: number;
  /** Whether the forward / backward passes visit lists of non-zero tiles (else every input / row). */
  forwardListed: boolean; backwardListed: boolean;
  Xf: number; Xb: number; fptr: number; bptr: number;
  y: number; W: number; R: number; G: number; loss: number;
}

/**
 * Loss and gradient of multinomial logistic regression over one dataset, on the float32 tile
 * kernels of logistic-tiles.ts (see there for the order of operations). The data is copied
 * into kernel memory once per fit, in both packings (rows side by side for the forward pass,
 * inputs side by side for the backward pass), with visit lists when enough tiles are zero.
 */
export class LogisticEngine32 {
  readonly layout: LogisticJobLayout;
  private region: Region;
  private kernel: SharedKernel<LogisticTilesExports>;
  private forwardTasks: number[][];
  private backwardTasks: number[][];
  /** Views into the region, made once (a shared memory's growth never moves or detaches them). */
  private views: { W: Float32Array; G: Float64Array; losses: Float64Array };

  constructor(data: LabelledMatrix) {
    const { X, n, d, y, k } = data;
    const T = tileSize(k);
    const kq = classStride(k), kp = paddedClasses(k), dp = paddedInputs(d, k), np = Math.ceil(n / T) * T;
    const tiles = np / T, blocks = dp / T, rowBlocks = Math.ceil(np / BLOCK_ROWS);
    // Visit marks first (their counts size the lists): inputs j of tile t with a non-zero
    // among its T rows (forward), blocks b of row i with a non-zero among their T inputs
    // (backward). The intercepts' input d is 1 on every real row.
    const tileMarks = new Uint8Array(tiles * dp), blockMarks = new Uint8Array(np * blocks);
    for (let i = 0; i < n; i++) {
      const o = i * d, tm = Math.floor(i / T) * dp, bm = i * blocks;
      for (let j = 0; j < d; j++) {
        if (X[o + j] !== 0) { tileMarks[tm + j] = 1; blockMarks[bm + Math.floor(j / T)] = 1; }
      }
      tileMarks[tm + d] = 1;
      blockMarks[bm + Math.floor(d / T)] = 1;
    }
    let forwardVisits = 0, backwardVisits = 0;
    for (let q = 0; q < tileMarks.length; q++) forwardVisits += tileMarks[q];
    for (let q = 0; q < blockMarks.length; q++) backwardVisits += blockMarks[q];
    const forwardListed = forwardVisits < LIST_BELOW * tiles * dp;
    const backwardListed = backwardVisits < LIST_BELOW * blocks * np;
    const L = new Layout();
    const rel = {
      Xf: L.alloc(4 * np * dp), Xb: L.alloc(4 * np * dp),
      fptr: forwardListed ? L.alloc(4 * (tiles + 1)) : 0, flist: forwardListed ? L.alloc(4 * forwardVisits) : 0,
      bptr: backwardListed ? L.alloc(4 * (rowBlocks * blocks + 1)) : 0, blist: backwardListed ? L.alloc(4 * backwardVisits) : 0,
      y: L.alloc(4 * np), W: L.alloc(4 * dp * kq), R: L.alloc(4 * np * kq), G: L.alloc(8 * dp * kq), loss: L.alloc(8 * np),
      zs: L.alloc(8 * kp * MAX_FORWARD_TASKS), sc: L.alloc(SCRATCH_BYTES * MAX_BACKWARD_TASKS),
    };
    this.region = acquire(L.bytes);
    const at = this.region.base;
    const buf = this.region.buffer();
    const lay: LogisticJobLayout = {
      k, d, n, kq, dp, np, tile: T, forwardListed, backwardListed, forwardVisits, backwardVisits,
      Xf: at + rel.Xf, Xb: at + rel.Xb, fptr: at + rel.fptr, bptr: at + rel.bptr,
      y: at + rel.y, W: at + rel.W, R: at + rel.R, G: at + rel.G, loss: at + rel.loss,
    };
    this.layout = lay;
    // Both packings (Xf: tile t, input j → its T rows side by side; Xb: block b, row i → its
    // T inputs side by side) by the kernel's `pack`, rows split into tasks over the threads,
    // from copies of X in kernel memory a chunk of rows at a time (the memory a fit keeps is
    // the packings', not a third copy). Every value is written (padding: 0), so the region
    // needs no clearing first.
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
        for (let i0 = c0; i0 < c1; i0 += PACK_ROWS) tasks.push([i0, Math.min(c1, i0 + PACK_ROWS), xAt, n, d, dp, np, lay.Xf, lay.Xb]);
        this.kernel.run('pack', tasks);
      }
    } finally {
      tmp.release();
    }
    if (forwardListed) {
      const ptr = new Int32Array(buf, lay.fptr, tiles + 1), list = new Int32Array(buf, at + rel.flist, forwardVisits);
      let p = 0;
      for (let t = 0; t < tiles; t++) {
        ptr[t] = at + rel.flist + 4 * p;
        for (let j = 0, q = t * dp; j < dp; j++, q++) if (tileMarks[q]) list[p++] = j;
      }
      ptr[tiles] = at + rel.flist + 4 * p;
    }
    if (backwardListed) {
      const ptr = new Int32Array(buf, lay.bptr, rowBlocks * blocks + 1), list = new Int32Array(buf, at + rel.blist, backwardVisits);
      let p = 0;
      for (let r = 0; r < rowBlocks; r++) {
        const i0 = r * BLOCK_ROWS, i1 = Math.min(np, i0 + BLOCK_ROWS);
        for (let b = 0; b < blocks; b++) {
          ptr[r * blocks + b] = at + rel.blist + 4 * p;
          for (let i = i0; i < i1; i++) if (blockMarks[i * blocks + b]) list[p++] = i;
        }
      }
      ptr[rowBlocks * blocks] = at + rel.blist + 4 * p;
    }
    new Int32Array(buf, lay.y, np).fill(0).set(y);
    new Float32Array(buf, lay.W, dp * kq).fill(0);
    new Float32Array(buf, lay.R, np * kq).fill(0);
    // Task cuts never change a bit (see logistic-tiles.ts); many small tasks balance load.
    const ft = Math.min(MAX_FORWARD_TASKS, tiles), bt = Math.min(MAX_BACKWARD_TASKS, blocks);
    this.forwardTasks = Array.from({ length: ft }, (_, q) => [
      Math.floor((tiles * q) / ft), Math.floor((tiles * (q + 1)) / ft), lay.Xf, dp, lay.fptr, lay.W, lay.y, n, lay.R, lay.loss, at + rel.zs + 8 * kp * q,
    ]);
    this.backwardTasks = Array.from({ length: bt }, (_, q) => [
      Math.floor((blocks * q) / bt), Math.floor((blocks * (q + 1)) / bt), lay.Xb, np, lay.bptr, blocks, lay.R, lay.G, at + rel.sc + SCRATCH_BYTES * q,
    ]);
    this.views = {
      W: new Float32Array(buf, lay.W, dp * kq), G: new Float64Array(buf, lay.G, dp * kq), losses: new Float64Array(buf, lay.loss, n),
    };
  }

  /** Tasks per pass (what the kernel threads share). */
  get tasks(): { forward: number; backward: number } {
    return { forward: this.forwardTasks.length, backward: this.backwardTasks.length };
  }

  /** Returns the kernel memory this engine holds (engines are released last-in first-out). */
  close(): void { this.region.release(); }

  /**
   * Summed cross-entropy at θ = [W (d × k), b (k)] (θ rounded to float32 inside the kernel);
   * writes its gradient into `grad` (overwriting it).
   */
  lossGrad(theta: Float64Array, grad: Float64Array): number {
    const { d, k, kq, n, forwardListed, backwardListed } = this.layout;
    const { W, G, losses } = this.views;
    // Rows 0 … d of W: the inputs' weights, then the intercepts (the constant input d).
    for (let j = 0; j <= d; j++) for (let c = 0; c < k; c++) W[j * kq + c] = theta[j * k + c];
    this.kernel.run(forwardListed ? 'fwd_l' : 'fwd_d', this.forwardTasks);
    G.fill(0);
    this.kernel.run(backwardListed ? 'bwd_l' : 'bwd_d', this.backwardTasks);
    let loss = 0;
    for (let i = 0; i < n; i++) loss += losses[i];
    for (let j = 0; j <= d; j++) for (let c = 0; c < k; c++) grad[j * k + c] = G[j * kq + c];
    return loss;
  }
}
