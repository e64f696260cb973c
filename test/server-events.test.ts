/**
 * The operations side of sieve serve / sieve worker (issue 10 item 4): docs/deploy.md lists
 * every event the two processes log and no other (src/server/events.ts is the one list; the
 * sources name no event outside it); `sieve serve --json` logs its start-up and each job event
 * the server sees (queued, cancelled) as JSON lines, even with --workers 0, and stops on SIGTERM
 * with `stopping`/`stopped` and exit 0, on both store backends; `sieve status` tells failing
 * attempts from expired, interrupted and released ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { statusLines } from '../src/cli/submit.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { SERVER_EVENTS } from '../src/server/events.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

const ROOT = resolve(import.meta.dirname, '..');
const execFileP = promisify(execFile);
let dir: string;
let challenges: string;
let ids: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-events-'));
  challenges = join(dir, 'challenges');
  await writeTinyChallenge(challenges, { name: 'tiny' });
  ids = (await readSplit(await openPool(join(challenges, 'tiny', 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('log events', () => {
  it('docs/deploy.md lists every event sieve serve and sieve worker log, and no other', async () => {
    const doc = await readFile(join(ROOT, 'docs', 'deploy.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Log events'), doc.indexOf('\n## ', doc.indexOf('### Log events')));
    const listed = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(listed.length).toBeGreaterThan(20);
    expect([...listed].sort()).toEqual([...SERVER_EVENTS].sort());
  });

  it('the sources log no event name outside the list', async () => {
    const files = [
      ...(await readdir(join(ROOT, 'src', 'server'))).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'src', 'server', f)),
      ...['serve.ts', 'worker.ts', 'queue-options.ts'].map((f) => join(ROOT, 'src', 'cli', f)),
    ];
    const named = new Set<string>();
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      for (const m of text.matchAll(/event: '([a-z-]+)'/g)) named.add(m[1]);
      // queue.ts's log('claimed', …) and log(ok ? 'done' : 'stale-result', …)
      for (const m of text.matchAll(/\blog\(([^()]*?)[,)]/g)) for (const n of m[1].matchAll(/'([a-z-]+)'/g)) named.add(n[1]);
    }
    expect(named.size).toBeGreaterThan(15);
    for (const n of named) expect(SERVER_EVENTS, n).toContain(n);
  });
});

const BACKENDS = await storeBackends('server-events');

describe.each(BACKENDS)('sieve serve --json ($name)', (b) => {
  if (skipIfUnavailable(b)) return;
  it('logs its start, each submission queued and cancelled as JSON lines (with --workers 0), and stops on SIGTERM', async () => {
    const db = await b.newDb('events');
    const sieve = (args: string[]) => execFileP(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { cwd: dir, env: { ...process.env, CI: '1' } });
    await sieve(['serve', '--init', '--db', db]);
    const proc = spawn(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'serve', '--db', db, '--port', '0', '--challenges', challenges, '--workers', '0', '--lease', '7', '--json'], {
      cwd: dir, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
    });
    const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)));
    const events = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const until = async (what: string, fn: () => boolean) => {
      for (let i = 0; !fn(); i++) {
        if (i > 1200 || proc.exitCode !== null) throw new Error(`no ${what}:\n${lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until('start-up line', () => lines.length > 0);
      // Every line is JSON, the start-up line first.
      const start = events()[0];
      expect(start).toMatchObject({ event: 'server-started', workers: 0, lease_seconds: 7, challenges: ['tiny'] });
      expect(start.time).toMatch(/^\d{4}-\d\d-\d\dT/);
      const url = start.url as string;
      const { token } = await (await fetch(`${url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) })).json();
      const form = new FormData();
      form.append('file', new File([`id\n${ids.slice(0, 50).join('\n')}\n`], 'ids.csv'));
      const sent = await (await fetch(`${url}/api/challenges/tiny/submissions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form })).json();
      await until('queued event', () => events().some((e) => e.event === 'queued'));
      expect(events().find((e) => e.event === 'queued')).toMatchObject({ job: sent.job, submission: sent.submission, challenge: 'tiny', kind: 'file' });
      expect((await fetch(`${url}/api/jobs/${sent.job}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await until('cancelled event', () => events().some((e) => e.event === 'cancelled'));
      expect(events().find((e) => e.event === 'cancelled')).toMatchObject({ job: sent.job, challenge: 'tiny' });
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(events().slice(-2).map((e) => e.event)).toEqual(['stopping', 'stopped']);
      expect(lines.every((l) => l.startsWith('{'))).toBe(true);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  }, 90_000);
});

describe('sieve status', () => {
  const job = { id: 'job_1', challenge: 'tiny', max_attempts: 3 };
  it('counts failing attempts against the bound, and lists earlier attempts with their outcome and worker', () => {
    const lines = statusLines({
      ...job, state: 'done', attempts: 2,
      attempt_log: [
        { attempt: 1, outcome: 'expired', reason: 'the lease of worker vm/1/0-aa expired (no heartbeat)', worker: 'vm/1/0-aa' },
        { attempt: 2, outcome: 'done', reason: null, worker: 'vm/2/0-bb' },
      ],
    });
    expect(lines).toEqual([
      'job job_1 (tiny): done, attempt 2 (before it: 1 expired)',
      '  #1 expired on vm/1/0-aa: the lease of worker vm/1/0-aa expired (no heartbeat)',
      '  #2 done on vm/2/0-bb',
      'failing attempts: 0 of at most 3 (1 expired, interrupted or released: not counted)',
    ]);
    const running = statusLines({
      ...job, state: 'running', attempts: 3,
      attempt_log: [
        { attempt: 1, outcome: 'released', reason: 'released by worker w (stopping)', worker: 'w' },
        { attempt: 2, outcome: 'failed', reason: 'the evaluation ran longer than the time limit of 600 s', worker: 'x' },
        { attempt: 3, outcome: 'running', reason: null, worker: 'y' },
      ],
    });
    expect(running[0]).toBe('job job_1 (tiny): running, attempt 3 (before it: 1 released, 1 failed)');
    expect(running.at(-1)).toBe('failing attempts: 1 of at most 3 (1 expired, interrupted or released: not counted)');
    // A first attempt that simply succeeded: one line.
    expect(statusLines({ ...job, state: 'done', attempts: 1, attempt_log: [{ attempt: 1, outcome: 'done', reason: null, worker: 'w' }] }))
      .toEqual(['job job_1 (tiny): done, attempt 1']);
    expect(statusLines({ ...job, state: 'queued', attempts: 0, attempt_log: [] })).toEqual(['job job_1 (tiny): queued', 'failing attempts: 0 of at most 3']);
    // A running job whose worker's lease ran out says so (the metrics count it as waiting).
    expect(statusLines({
      ...job, state: 'running', attempts: 1, lease_expired: true,
      attempt_log: [{ attempt: 1, outcome: 'running', reason: null, worker: 'w' }],
    })[0]).toBe("job job_1 (tiny): running, attempt 1: its worker's lease ran out (the worker stopped answering); waiting for a worker to take it again");
    // A job failed for good: its last attempt is its own, not one "before it", and no retry is promised.
    expect(statusLines({
      ...job, state: 'failed', attempts: 1,
      attempt_log: [{ attempt: 1, outcome: 'failed', reason: 'the strategy failed: wall-clock limit of 30 s', worker: 'w' }],
    })).toEqual([
      'job job_1 (tiny): failed, attempt 1',
      '  #1 failed on w: the strategy failed: wall-clock limit of 30 s',
      'failing attempts: 1 (final: the job is not retried)',
    ]);
    // A failed attempt's retry waiting out its back-off says when it runs at the earliest.
    expect(statusLines({
      ...job, state: 'queued', attempts: 1, retry_at: '2026-12-02T15:20:10.000Z',
      attempt_log: [{ attempt: 1, outcome: 'failed', reason: 'disk full', worker: 'w' }],
    })).toEqual([
      'job job_1 (tiny): queued (before it: 1 failed), retried at 2026-12-02T15:20:10.000Z at the earliest (back-off after a failed attempt)',
      '  #1 failed on w: disk full',
      'failing attempts: 1 of at most 3',
    ]);
  });
});
