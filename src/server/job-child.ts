/**
 * One evaluation job in its own process (forked by src/server/queue.ts): receives the
 * challenge directory and the uploaded bytes over IPC, scores them with the same service as
 * `sieve evaluate` (evaluateSource over a bytes source) and sends the record back. It never
 * touches the server's database: the parent writes the result and marks the job done in one
 * transaction, so a child killed at any moment leaves nothing half-written. It exits when its
 * parent goes away (IPC disconnect), so a SIGKILLed server leaves no evaluation running.
 */
import { SieveError } from '../util/errors.ts';

export interface JobRequest {
  challengeRef: string;
  /** The challenge's pool, when a worker keeps it elsewhere than where the challenge names it (fetched by content hash). */
  poolDir?: string;
  fileName: string;
  bytes: Uint8Array;
}

export type JobReply =
  | { ok: true; record: unknown }
  | { ok: false; reason: string; /** true when the same input would fail the same way (a bad submission): no retry. */ final: boolean };

process.on('disconnect', () => process.exit(0));
process.once('message', (msg: JobRequest) => {
  void run(msg).then((reply) => {
    process.send?.(reply, () => process.exit(0));
  });
});

async function run(req: JobRequest): Promise<JobReply> {
  try {
    const { evaluateSource } = await import('../evaluate/runner.ts');
    const { bytesSource } = await import('../submission/sources/bytes.ts');
    let challenge: string | import('../challenge/schema.ts').Challenge = req.challengeRef;
    if (req.poolDir) challenge = { ...(await (await import('../challenge/load.ts')).loadChallenge(req.challengeRef)), poolRef: req.poolDir };
    const record = await evaluateSource(challenge, bytesSource(new Uint8Array(req.bytes), { name: req.fileName }));
    return { ok: true, record };
  } catch (err) {
    if (err instanceof SieveError) return { ok: false, reason: err.message, final: true };
    const e = err as Error;
    return { ok: false, reason: `evaluation failed: ${e?.message ?? String(err)}`, final: false };
  }
}
