/**
 * An uploaded submission file is validated in a worker thread (src/server/upload-check.ts), so
 * the server keeps answering while a large one is parsed: a check held in its thread (a gate
 * only tests set) leaves /healthz, the API and the pages answering; the upload then gets its
 * 202 as before. Bad files get the same precise error through the thread as `sieve evaluate`
 * gives in-process (message, where, first offenders, count), including the early row cap,
 * and nothing is stored or counted. Both store backends (test/server-backends.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Hono } from 'hono';
import { checkSubmission } from '../src/evaluate/runner.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { UploadChecks } from '../src/server/upload-check.ts';
import { bytesSource } from '../src/submission/sources/bytes.ts';
import { SieveError } from '../src/util/errors.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let ids: string[];
let served: Map<string, ServedChallenge>;
let parquet: (sql: string) => Promise<Uint8Array>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-uploads-'));
  const tiny = await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny', task: 'ranking' });
  served = await loadServedChallenges(join(dir, 'challenges'));
  ids = (await readSplit(await openPool(join(tiny.dir, 'pool')), 'train', { columns: [] })).ids;
  let k = 0;
  parquet = async (sql) => {
    const p = join(dir, `f${k++}.parquet`);
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    await c.run(`COPY (${sql}) TO '${p}' (FORMAT parquet)`);
    c.closeSync();
    inst.closeSync();
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(p));
  };
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-uploads');

/** A Parquet file with the middle of its pages overwritten (footer intact). */
function damage(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.fill(0x5a, 8, Math.max(9, out.length - 600));
  return out;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function form(bytes: Uint8Array | string, name: string): FormData {
  const f = new FormData();
  f.append('file', new File([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)], name));
  return f;
}

async function register(app: Hono, name: string): Promise<string> {
  const r = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  expect(r.status).toBe(201);
  return (await r.json()).token;
}

describe.each(BACKENDS)('$name', (b) => {
  if (skipIfUnavailable(b)) return;
  let store: ServerStore;
  beforeAll(async () => {
    store = await b.open('uploads');
    await syncChallenges(store, served);
  });
  afterAll(() => store?.close());

  it('answers /healthz, the API and the pages while an upload is being validated in its thread', async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    let started!: () => void;
    const inThread = new Promise<void>((r) => { started = r; });
    const app = createApp({ store, challenges: served, maxUploadBytes: 1 << 20, uploadChecks: new UploadChecks({ threads: 1, gate, onStarted: () => started() }) });
    const token = await register(app, 'big');
    const events: string[] = [];
    // Every train id, reversed: a valid ranking of the whole pool.
    const upload = Promise.resolve(app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: form(`id\n${[...ids].reverse().join('\n')}\n`, 'all.csv') }))
      .then((r: Response) => { events.push('upload answered'); return r; });
    await inThread; // the check has begun in its thread and is held there
    const health = await app.request('/healthz');
    events.push('healthz answered');
    expect(health.status).toBe(200);
    expect((await app.request('/api/challenges')).status).toBe(200);
    expect((await app.request('/challenges/tiny')).status).toBe(200);
    expect((await app.request('/api/me', { headers: auth(token) })).status).toBe(200);
    events.push('others answered');
    // Nothing is stored while the check runs.
    expect(await store.listSubmissions({})).toHaveLength(0);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const r = await upload;
    expect(events).toEqual(['healthz answered', 'others answered', 'upload answered']);
    expect(r.status).toBe(202);
    const body = await r.json();
    expect(body).toMatchObject({ state: 'queued', rows: ids.length, kind: 'file' });
    expect(await store.getJob(body.job)).toMatchObject({ state: 'queued', submission: body.submission });
  });

  it('gives the same precise errors through the thread as sieve evaluate, storing and counting nothing', async () => {
    const app = createApp({ store, challenges: served, maxUploadBytes: 1 << 20 });
    const token = await register(app, 'errs');
    const challenge = served.get('tiny')!.challenge;
    const n = ids.length;
    const enc = (s: string) => new TextEncoder().encode(s);
    const cases: [string, Uint8Array][] = [
      ['unknown.csv', enc(`id\n${ids[0]}\nnot-an-id\nr-x\n`)],
      ['dups.txt', enc(`${ids[0]}\n${ids[1]}\n${ids[0]}\n`)],
      ['ragged.csv', enc(`id\n${ids[0]},x\n${ids[1]}\n`)],
      ['broken.json', enc(`["${ids[0]}", `)],
      ['labelled.csv', enc(`id,label\n${ids[0]},a\n`)],
      ['too-many.csv', enc(`id\n${Array.from({ length: n + 5 }, (_, i) => ids[i % n]).join('\n')}\n`)],
      ['too-many.json', enc(JSON.stringify({ ids: Array.from({ length: 2 * n }, (_, i) => ids[i % n]) }))],
      ['too-many.arrow', tableToIPC(tableFromArrays({ id: Array.from({ length: n + 1 }, (_, i) => ids[i % n]) }), 'file')],
      ['nulls.parquet', await parquet(`SELECT * FROM (VALUES ('${ids[0]}'), (NULL), ('${ids[2]}')) t(id)`)],
      ['bomb.parquet', await parquet(`SELECT '${ids[0]}' AS id FROM range(${10 * n})`)],
      ['utf16.csv', new Uint8Array(Buffer.from('\ufeffid\n', 'utf16le'))],
      ['damaged.parquet', damage(await parquet(`SELECT 'id-' || range AS id FROM range(${n})`))],
    ];
    for (const [name, bytes] of cases) {
      const local = await checkSubmission(challenge, bytesSource(bytes, { name })).then(() => null, (e: unknown) => e);
      expect(local, name).toBeInstanceOf(SieveError);
      const e = local as SieveError;
      const r = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: form(bytes, name) });
      expect(r.status, name).toBe(422);
      const error = (await r.json()).error;
      expect(error, name).toEqual({ code: 'invalid-submission', message: e.message, where: e.where, ...(e.examples.length ? { examples: e.examples } : {}) });
      // The upload is named by its file name, never by the server's temporary copy.
      expect(error.where, name).toBe(name);
      expect(JSON.stringify(error), name).not.toContain('sieve-upload-');
    }
    // The row caps were what answered for the long files, not a later rule.
    const capped = await checkSubmission(challenge, bytesSource(cases[5][1], { name: 'too-many.csv' })).catch((e: SieveError) => e);
    expect((capped as SieveError).message).toBe(`the CSV file holds more than ${n} rows; the pool has ${n} train rows, so no valid submission has more; it was not read further`);
    expect((await (await app.request('/api/me', { headers: auth(token) })).json()).submissions).toEqual([]);
    // The form itself is read in a thread too: a body that claims to be multipart but is not is a 400, a JSON body holds no file.
    const post = (headers: Record<string, string>, body: string) => app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: { ...auth(token), ...headers }, body });
    const broken = await post({ 'content-type': 'multipart/form-data; boundary=XYZ' }, '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nid\n');
    expect(broken.status).toBe(400);
    expect((await broken.json()).error).toMatchObject({ code: 'bad-request', message: 'the body is not multipart/form-data', where: 'body' });
    const json = await post({ 'content-type': 'application/json' }, '{"file": "id\\nr1"}');
    expect((await json.json()).error).toMatchObject({ code: 'bad-request', where: 'file' });
    const twice = new FormData();
    twice.append('file', new File(['id\n'], 'a.csv'));
    twice.append('file', new File(['id\n'], 'b.csv'));
    const two = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: twice });
    expect((await two.json()).error.message).toBe('one file per submission: the upload has 2 "file" fields');
    // Many fields are refused in the thread (a form of 250,000 empty ones took the main thread minutes to merge).
    const crowd = new FormData();
    for (let i = 0; i < 2_000; i++) crowd.append('f', '');
    crowd.append('file', new File([`id\n${ids[5]}\n`], 'a.csv'));
    const many = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: crowd });
    expect(many.status).toBe(400);
    expect((await many.json()).error.message).toBe('the form has 2001 fields; a submission sends at most 16 (the file or strategy, once)');
    // The cap is on the file, not on the multipart body around it: a file of exactly the cap is taken, one byte more is not.
    const small = createApp({ store, challenges: served, maxUploadBytes: 4096 });
    const exact = `id\n${ids[5]}\n`.padEnd(4096, '\n'); // blank lines at the end are not rows
    const atCap = await small.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: form(exact, 'cap.csv') });
    expect(atCap.status).toBe(202);
    expect((await atCap.json()).rows).toBe(1);
    const over = await small.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: form(exact + '\n', 'over.csv') });
    expect(over.status).toBe(413);
    expect((await over.json()).error).toMatchObject({ code: 'too-large', where: 'file' });
    // And a good file still goes through the thread to a 202.
    const ok = await app.request('/api/challenges/tiny/submissions', { method: 'POST', headers: auth(token), body: form(await parquet(`SELECT '${ids[3]}' AS id UNION ALL SELECT '${ids[1]}'`), 'two.parquet') });
    expect(ok.status).toBe(202);
    expect((await ok.json()).rows).toBe(2);
    expect((await (await app.request('/api/me', { headers: auth(token) })).json()).submissions).toHaveLength(2);
  });
});
