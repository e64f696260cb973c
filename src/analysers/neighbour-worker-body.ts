/**
 * Body of a neighbour-search worker: receives one share of a search over SharedArrayBuffer-
 * backed rows, runs it with the same code as the main thread, posts the result back.
 */
import { parentPort } from 'node:worker_threads';
import { runNeighbourTask, type NeighbourTask } from './neighbours.ts';

parentPort!.on('message', (task: NeighbourTask) => {
  try {
    parentPort!.postMessage({ ok: true, result: runNeighbourTask(task) });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
  }
});
