/**
 * Runs ranking-curve segment jobs posted by jobs.ts: { id, job } → { id, fit: true } after each
 * fit (progress), then { id, result } or { id, error }.
 * A job is pure (its result depends only on its inputs), so which thread runs it never
 * changes a bit of the result.
 */
import { parentPort } from 'node:worker_threads';
import { runSegment, type SegmentJob } from './curve.ts';

if (!parentPort) throw new Error('segment-worker.ts must run in a worker thread');
const port = parentPort;
port.on('message', (msg: { id: number; job: SegmentJob }) => {
  try {
    const result = runSegment(msg.job, () => port.postMessage({ id: msg.id, fit: true }));
    port.postMessage({ id: msg.id, result }, [result.preds.buffer as ArrayBuffer, result.iterations.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) });
  }
});
