/**
 * The process a SQL strategy runs in (src/strategy/sql.ts runChild): reads its request on
 * stdin, opens the DuckDB file of participant tables read-only in the sandbox (src/sql/
 * sandbox.ts: no external access, the configuration locked, memory_limit, one thread), runs
 * the strategy's one SELECT within its caps and writes the reply, as JSON, on fd 3. Its
 * parent keeps the wall clock and kills it where DuckDB does not stop by itself; fd 4 is a
 * pipe from the parent whose closing (the parent gone) ends this process.
 */
import { createWriteStream } from 'node:fs';
import { lockDown, openSandbox } from '../sql/sandbox.ts';
import { SieveError } from '../util/errors.ts';
import { watchParent } from '../util/parent-watchdog.ts';
import { SubmissionError } from '../submission/types.ts';
import { MissingFindings, runLockedSelect, type SqlChildReply, type SqlChildRequest } from './sql-query.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function answer(req: SqlChildRequest): Promise<SqlChildReply> {
  const box = await openSandbox({ memoryMb: req.limits.memoryMb, file: req.file });
  try {
    await lockDown(box.conn);
    const out = await runLockedSelect(box.conn, req);
    return { ok: true, ids: out.ids, ...(out.labels ? { labels: out.labels } : {}) };
  } catch (err) {
    if (err instanceof MissingFindings) return { ok: false, missingFindings: true, error: { message: err.message } };
    if (err instanceof SieveError) {
      return {
        ok: false,
        error: {
          message: err.message,
          ...(err.where ? { where: err.where } : {}),
          ...(err.examples?.length ? { examples: err.examples.map(String) } : {}),
          ...(err.exitCode !== undefined ? { exitCode: err.exitCode } : {}),
          ...(err instanceof SubmissionError ? { submission: err.problem } : {}),
        },
      };
    }
    throw err;
  } finally {
    box.close();
  }
}

// The parent's end of fd 4 closes when it dies (however it dies): then so does the query.
watchParent();
const req = JSON.parse(await readStdin()) as SqlChildRequest;
const reply = await answer(req);
const out = createWriteStream('', { fd: 3 });
// Then gone at once: process.exit() would wait for the watchdog thread, blocked in its read.
out.end(JSON.stringify(reply), () => process.kill(process.pid, 'SIGKILL'));
