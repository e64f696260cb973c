/**
 * `sieve submit` waiting for its job: a server restart mid-wait is waited out (the job is
 * stored), and a server gone for good ends the wait with the job id and exit code 1, not as
 * a refused submission.
 */
import { describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitForJob } from '../src/server/client.ts';
import { SieveError } from '../src/util/errors.ts';

function jobServer(state: () => string, port = 0): Promise<Server> {
  const s = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: 'job_1', challenge: 'tiny', submission: 'sub_1', state: state(), attempts: 1, max_attempts: 3, attempt_log: [] }));
  });
  return new Promise((resolve) => s.listen(port, '127.0.0.1', () => resolve(s)));
}
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('waiting for a job through a server restart', () => {
  it('keeps polling while the server is down and returns the result once it is back', async () => {
    let polls = 0;
    const first = await jobServer(() => (polls++, 'running'));
    const port = (first.address() as AddressInfo).port;
    const server = `http://127.0.0.1:${port}`;
    const waiting = waitForJob({ server, token: 't' }, 'job_1', { timeoutSeconds: 30, pollMs: 50 });
    await new Promise((r) => setTimeout(r, 200));
    await close(first); // the server stops …
    await new Promise((r) => setTimeout(r, 300));
    const second = await jobServer(() => 'done', port); // … and is back, the job scored meanwhile
    const s = await waiting;
    expect(s.state).toBe('done');
    expect(polls).toBeGreaterThan(0);
    await close(second);
  });

  it('gives up after the outage limit with the job id, exit code 1', async () => {
    const s = await jobServer(() => 'queued');
    const port = (s.address() as AddressInfo).port;
    await close(s);
    const err = await waitForJob({ server: `http://127.0.0.1:${port}`, token: 't' }, 'job_1', { timeoutSeconds: 30, pollMs: 20, outageMs: 200 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect((err as SieveError).message).toMatch(/lost contact with the server while waiting for job job_1 .*the submission is stored/);
    expect((err as SieveError).exitCode).toBe(1);
    expect((err as SieveError).examples).toContain('see it later with: sieve status job_1');
  });
});
