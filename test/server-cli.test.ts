/**
 * `sieve submit` and `sieve status` against a running `sieve serve` (the built command, on a
 * tiny challenge): upload, wait, print like sieve evaluate; --no-wait and status; the server's
 * errors come back as the CLI's errors. Once per store backend: the server started with
 * `--db FILE` and with `--db postgres://…` (test/server-backends.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openPool, readSplit } from '../src/pool/read.ts';
import { spawnServe, type ServeChild } from './fixtures/spawn-serve.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';

const BACKENDS = await storeBackends('server-cli');

const ROOT = resolve(import.meta.dirname, '..');
const execFileP = promisify(execFile);

let dir: string;
let challenges: string;

async function sieve(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { cwd: dir, env: { ...process.env, CI: '1', ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-cli-'));
  challenges = join(dir, 'challenges');
  await writeTinyChallenge(challenges, { name: 'tiny' });
  const ids = (await readSplit(await openPool(join(challenges, 'tiny', 'pool')), 'train', { columns: [] })).ids;
  await writeFile(join(dir, 'ids.csv'), `id\n${ids.slice(0, 80).join('\n')}\n`);
  await writeFile(join(dir, 'bad.csv'), 'id\nnot-a-row\n');
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.each(BACKENDS)('sieve submit / status ($name)', (b) => {
  if (skipIfUnavailable(b)) return;
  let server: ServeChild | undefined;
  let url: string;
  let token: string;

  beforeAll(async () => {
    const db = await b.newDb('cli');
    const init = await sieve(['serve', '--init', '--db', db]);
    expect(init.code, init.stderr).toBe(0);
    if (b.name === 'postgres') expect(init.stdout).not.toContain(`:${new URL(db).password}@`); // the password shown as ***
    // The database holds private scores and test labels: its owner's alone (it was 0644).
    else expect(statSync(db).mode & 0o777).toBe(0o600);
    server = await spawnServe(db, ['--challenges', challenges, '--workers', '1'], dir);
    url = server.url;
    const r = await fetch(`${url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) });
    token = (await r.json()).token;
  }, 60_000);

  afterAll(async () => { await server?.stop(); });

  it('uploads, waits and prints the result as sieve evaluate does, with private scores hidden', async () => {
    const r = await sieve(['submit', 'tiny', 'ids.csv', '--server', url, '--token', token]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^challenge {3}tiny v1 \(selection\)/);
    expect(r.stdout).toMatch(/accuracy \(primary, max\)/);
    expect(r.stdout).toMatch(/private {5}\d+ test rows scored and stored; shown when the challenge closes/);
    expect(r.stdout).toMatch(/server {6}http:.*submission sub_[0-9a-f]+, job job_[0-9a-f]+/);
    const j = await sieve(['submit', 'tiny', 'ids.csv', '--json'], { SIEVE_SERVER: url, SIEVE_TOKEN: token });
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.record.private).toEqual({ hidden: true, until: null });
    expect(doc.record.submission.rows).toBe(80);
  }, 60_000);

  it('--no-wait gives the job id; status follows it', async () => {
    const r = await sieve(['submit', 'tiny', 'ids.csv', '--server', url, '--token', token, '--no-wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { job } = JSON.parse(r.stdout);
    expect(job).toMatch(/^job_/);
    const s = await sieve(['status', job, '--server', url, '--token', token, '--json']);
    expect(s.code).toBe(0);
    expect(['queued', 'running', 'done']).toContain(JSON.parse(s.stdout).state);
    // Once done, status prints the result as submit does (after --no-wait there is no other CLI way to read it).
    let done = JSON.parse(s.stdout);
    for (const end = Date.now() + 50_000; done.state !== 'done' && Date.now() < end;) {
      await new Promise((ok) => setTimeout(ok, 300));
      done = JSON.parse((await sieve(['status', job, '--server', url, '--token', token, '--json'])).stdout);
    }
    expect(done.state).toBe('done');
    expect(done.record.submission.rows).toBe(80);
    expect(done.record.private).toEqual({ hidden: true, until: null });
    const text = await sieve(['status', job, '--server', url, '--token', token]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/accuracy \(primary, max\)/);
    expect(text.stdout).toMatch(/server {6}http:.*submission sub_[0-9a-f]+, job job_[0-9a-f]+/);
  }, 60_000);

  it("passes the server's errors on: a bad submission, a bad token, no server", async () => {
    const bad = await sieve(['submit', 'tiny', 'bad.csv', '--server', url, '--token', token]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/server: 1 id\(s\) are not in the pool/);
    expect(bad.stderr).toContain('invalid-submission');
    const forged = await sieve(['submit', 'tiny', 'ids.csv', '--server', url, '--token', token.slice(0, -2) + 'xx']);
    expect(forged.code).toBe(3);
    expect(forged.stderr).toMatch(/the API token is not valid/);
    const none = await sieve(['status', 'job_x', '--server', 'http://127.0.0.1:1', '--token', token]);
    expect(none.code).toBe(1); // unreachable: not a refusal (2)
    expect(none.stderr).toMatch(/cannot reach the server/);
    const missing = await sieve(['submit', 'tiny', 'ids.csv', '--token', token], { SIEVE_SERVER: '' });
    expect(missing.stderr).toMatch(/no server: give --server URL or set SIEVE_SERVER/);
  });
});

describe('sieve submit waiting on a queued job', () => {
  let server: ServeChild | undefined;
  afterAll(async () => { await server?.stop(); });

  it('says how long the job has waited, off a terminal, never "queued: running for"', async () => {
    // No workers: the job stays queued for as long as submit waits.
    const db = join(dir, 'queued.duckdb');
    expect((await sieve(['serve', '--init', '--db', db])).code).toBe(0);
    server = await spawnServe(db, ['--challenges', challenges, '--workers', '0'], dir);
    const url = server.url;
    const token = (await (await fetch(`${url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'waiter' }) })).json()).token;
    // Not under CI (whose interval is a minute): a line every 10 s on stderr, which is a pipe here.
    const r = await sieve(['submit', 'tiny', 'ids.csv', '--server', url, '--token', token, '--timeout', '11'], { CI: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/job job_[0-9a-f]+ is still queued after 11 s/);
    expect(r.stderr).toMatch(/^queued: waiting for 1[01] s$/m);
    expect(r.stderr).not.toMatch(/running for|evaluating/);
    expect(r.stdout).toBe('');
  }, 60_000);
});
