/**
 * One growable shared WebAssembly memory per thread, handed out as a stack of regions.
 *
 * Creating a wasm memory per fit is slow and, worse, every memory reserves gigabytes of
 * address space until the garbage collector finds it: a ranking curve with hundreds of
 * refits would stall in allocation. Kernels instead take a region of this one memory,
 * release it when done (last in, first out), and the compiled kernels stay instantiated on
 * it, on this thread and on the helper threads.
 */

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, wasm32's limit

export interface Region {
  /** Byte address of the region's start (16-byte aligned). */
  readonly base: number;
  readonly bytes: number;
  /** The memory's current buffer (grows never move a shared memory). */
  buffer(): SharedArrayBuffer;
  release(): void;
}

class Arena {
  readonly memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  /** Regions in allocation order; released ones are popped once nothing above is live. */
  private stack: { end: number; released: boolean }[] = [];

  private top(): number {
    return this.stack.length ? this.stack[this.stack.length - 1].end : 0;
  }

  acquire(bytes: number): Region {
    const base = this.top();
    const end = base + Math.ceil(Math.max(bytes, 1) / 16) * 16;
    const pages = Math.ceil(end / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > MAX_PAGES) throw new Error(`kernel memory: needs ${(end / 2 ** 30).toFixed(2)} GiB, more than WebAssembly's 4 GiB`);
    if (pages > have) this.memory.grow(pages - have);
    const entry = { end, released: false };
    this.stack.push(entry);
    const memory = this.memory;
    return {
      base, bytes,
      buffer: () => memory.buffer as unknown as SharedArrayBuffer,
      release: () => {
        entry.released = true;
        while (this.stack.length && this.stack[this.stack.length - 1].released) this.stack.pop();
      },
    };
  }
}

let arena: Arena | null = null;

/** This thread's kernel memory. */
export function kernelMemory(): WebAssembly.Memory {
  arena ??= new Arena();
  return arena.memory;
}

/** Takes `bytes` of kernel memory until release(). */
export function acquire(bytes: number): Region {
  arena ??= new Arena();
  return arena.acquire(bytes);
}
