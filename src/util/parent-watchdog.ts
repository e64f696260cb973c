/**
 * A child process's watchdog on its parent: a worker thread blocks on fd 4, a pipe the parent
 * holds and never writes, and kills the process at its end of file (the parent gone, however
 * it went). A thread, because the main thread may be busy for long: a long synchronous stretch
 * of an evaluation kept a child of a SIGKILLed server worker running for ~25 s, and a SQL
 * strategy's DuckDB call holds it for as long as the call runs. A non-blocking read that finds
 * nothing waits 200 ms before the next (no busy loop). Used by src/server/job-child.ts and
 * src/strategy/sql-child.ts.
 */
import { fstatSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export function watchParent(): void {
  // A dynamic import: the eval'd code runs as CommonJS or as a module depending on the loader.
  const code = `
    import('node:fs').then((fs) => {
      const nap = new Int32Array(new SharedArrayBuffer(4));
      const b = new Uint8Array(16);
      for (;;) {
        let n;
        try { n = fs.readSync(4, b, 0, b.length, null); }
        catch (e) { if (e.code === 'EAGAIN' || e.code === 'EINTR') { Atomics.wait(nap, 0, 0, 200); continue; } break; }
        if (n === 0) break;
      }
      process.kill(process.pid, 'SIGKILL');
    });`;
  try {
    fstatSync(4);
  } catch {
    return; // started without the pipe (an older parent): the parent's other signals alone
  }
  // A watchdog that fails to start leaves the rest in charge; it never ends the process itself.
  new Worker(code, { eval: true }).on('error', () => {}).unref();
}
