/**
 * Runs fit jobs posted by parallel.ts: { id, job } → { id, result } or { id, error }.
 * Probability arrays are transferred back, not copied.
 */
import { parentPort } from 'node:worker_threads';
import { runFit, type FitJob } from './parallel.ts';

if (!parentPort) throw new Error('parallel-worker.ts must run in a worker thread');
const port = parentPort;
port.on('message', (msg: { id: number; job: FitJob }) => {
  try {
    const result = runFit(msg.job);
    port.postMessage({ id: msg.id, result }, result.proba.map((p) => p.buffer as ArrayBuffer));
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
