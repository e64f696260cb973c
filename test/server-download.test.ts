/**
 * The participant pool download: pool.json and the train split as Parquet, or the split as
 * Arrow IPC (converted once, cached, the same sha256 every time), read back row for row; and
 * nothing else, whatever the name: test, truth and variant files, path traversal in every
 * spelling, absolute paths, and symbolic links (a split that links to an evaluator-only file,
 * a link planted where the Arrow file is kept). Through the hono app and `sieve download`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { tableFromIPC } from 'apache-arrow';
import type { Hono } from 'hono';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import { arrowCachePath } from '../src/server/downloads.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

const ROOT = resolve(import.meta.dirname, '..');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
let served: Map<string, ServedChallenge>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-download-'));
  const challenges = join(dir, 'challenges');
  await writeTinyChallenge(challenges, { name: 'tiny' });
  // A challenge whose pool's train file is a symbolic link to that pool's test file.
  const linked = await writeTinyChallenge(challenges, { name: 'linked' });
  await unlink(join(linked.dir, 'pool', 'train.parquet'));
  await symlink(join(linked.dir, 'pool', 'test.parquet'), join(linked.dir, 'pool', 'train.parquet'));
  // A challenge whose pool folder holds links to evaluator-only files under names nobody listed.
  const planted = await writeTinyChallenge(challenges, { name: 'planted' });
  await symlink(join(planted.dir, 'pool', 'test.parquet'), join(planted.dir, 'pool', 'extra.parquet'));
  await symlink('/etc/passwd', join(planted.dir, 'pool', 'passwd.arrow'));
  // A challenge whose pool.json marks its test split participant-visible (an import without --hidden-test).
  await writeTinyChallenge(challenges, { name: 'opentest', openTest: true });
  served = await loadServedChallenges(challenges);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-download');

describe.each(BACKENDS)('pool download ($name)', (b) => {
  if (skipIfUnavailable(b)) return;
  let store: ServerStore;
  let app: Hono;
  beforeAll(async () => {
    store = await b.open('dl');
    await syncChallenges(store, served);
    app = createApp({ store, challenges: served, maxUploadBytes: 1024 });
  }, 60_000);
  afterAll(() => store?.close());

  it('never serves a test split, even one pool.json marks participant-visible (its labels are the answers)', async () => {
    const pool = served.get('opentest')!.pool;
    expect(pool.manifest.files.find((f) => f.role === 'test')!.visibility).toBe('participant');
    for (const format of ['parquet', 'arrow']) {
      const listing = await (await app.request(`/api/challenges/opentest/pool?format=${format}`)).json();
      expect(listing.files.map((f: { role: string }) => f.role)).not.toContain('test');
    }
    for (const name of ['test.parquet', 'test.arrow']) expect((await app.request(`/api/challenges/opentest/pool/${name}`)).status).toBe(404);
    expect((await app.request('/api/challenges/opentest/pool/train.parquet')).status).toBe(200);
  });

  it('offers Parquet (with pool.json) and Arrow IPC; the Arrow file holds the same rows, with the same sha256 every time', async () => {
    const pool = served.get('tiny')!.pool;
    const parquet = await (await app.request('/api/challenges/tiny/pool')).json();
    expect(parquet.format).toBe('parquet');
    expect(parquet.files.map((f: { name: string }) => f.name)).toEqual(['pool.json', 'train.parquet']);
    const listing = await (await app.request('/api/challenges/tiny/pool?format=arrow')).json();
    expect(listing).toMatchObject({ pool: pool.name, content_hash: pool.manifest.content_hash, format: 'arrow' });
    expect(listing.files).toHaveLength(1);
    const entry = listing.files[0];
    expect(entry).toMatchObject({ name: 'train.arrow', role: 'train', format: 'arrow' });
    const res = await app.request('/api/challenges/tiny/pool/train.arrow');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.arrow.file');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(entry.bytes);
    expect(sha(bytes)).toBe(entry.sha256);
    expect(res.headers.get('x-sha256')).toBe(entry.sha256);
    const table = tableFromIPC(bytes);
    const train = await readSplit(pool, 'train');
    expect(table.numRows).toBe(train.n);
    expect(table.getChild('id')!.toArray()).toEqual(train.ids);
    expect(Array.from(table.getChild('label')!.toArray() as string[])).toEqual(Array.from(train.labels, (l) => train.classNames[l]));
    expect(table.schema.metadata.get('sieve.content_hash')).toBe(pool.manifest.content_hash);
    // The feature values are the pool's, bit for bit.
    const feature = pool.manifest.features[0];
    const column = table.getChild(feature.name)!;
    const first = Float32Array.from(column.get(0) as Iterable<number>);
    expect(Array.from(first)).toEqual(Array.from(train.features.subarray(0, first.length)));
    // Converted once: the listing and the bytes do not change.
    const again = await (await app.request('/api/challenges/tiny/pool?format=arrow')).json();
    expect(again.files[0].sha256).toBe(entry.sha256);
    expect(sha(new Uint8Array(await (await app.request('/api/challenges/tiny/pool/train.arrow')).arrayBuffer()))).toBe(entry.sha256);
    const bad = await app.request('/api/challenges/tiny/pool?format=..%2Ftest');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'bad-request', where: 'format' });
  });

  it('never serves test, truth or anything not listed, however the name is spelt', async () => {
    const names = [
      'test.parquet', 'truth.parquet', 'test.arrow', 'truth.arrow', 'pool.arrow', 'duplicates.parquet', 'challenge.yaml',
      '..%2Fchallenge.yaml', '%2e%2e%2fchallenge.yaml', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', '..%5Cchallenge.yaml',
      '%2Fetc%2Fpasswd', '%2F' + encodeURIComponent(join(dir, 'challenges', 'tiny', 'pool', 'test.parquet').slice(1)),
      '..%2F..%2Ftiny%2Fpool%2Ftest.parquet', 'train.parquet%2F..%2Ftest.parquet', 'train.arrow%2F..%2Ftest.arrow',
      'train.arrow%00', 'pool.json%00', 'TEST.PARQUET', 'Train.Arrow', '.', '..', '%2e', '%2e%2e',
    ];
    for (const name of names) {
      const r = await app.request(`/api/challenges/tiny/pool/${name}`);
      expect(r.status, name).toBe(404);
      expect((await r.json()).error.code, name).toBe('not-found');
    }
    // Dots and slashes in the path itself: normalised by the URL or matched by no route; never a file.
    for (const path of ['/api/challenges/tiny/pool/../pool/test.parquet', '/api/challenges/tiny/pool/%2e%2e/pool/test.parquet', '/api/challenges/tiny/pool/./test.arrow', '/api/challenges/tiny/../tiny/pool/truth.parquet']) {
      const r = await app.request(path);
      expect(r.status, path).toBe(404);
    }
    for (const format of ['parquet', 'arrow']) {
      const listing = JSON.stringify(await (await app.request(`/api/challenges/tiny/pool?format=${format}`)).json());
      expect(listing).not.toMatch(/test\.|truth\.|"path"/);
    }
  });

  it('refuses symbolic links: a split linked to an evaluator-only file, links planted beside it, a link where the Arrow file goes', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      for (const name of ['train.parquet', 'train.arrow']) {
        const r = await app.request(`/api/challenges/linked/pool/${name}`);
        expect(r.status, name).toBe(404);
        const message = (await r.json()).error.message;
        expect(message, name).toMatch(/cannot be served: the pool.s checks refuse it/);
        expect(message).not.toContain(dir); // no server path to the client
        expect(String(log.mock.calls.at(-1)?.[0]), name).toMatch(/refused to serve linked\/train\.(parquet|arrow): .*evaluator-only/);
      }
    } finally {
      log.mockRestore();
    }
    for (const name of ['extra.parquet', 'passwd.arrow']) expect((await app.request(`/api/challenges/planted/pool/${name}`)).status, name).toBe(404);
    // Someone with the server's cache folder plants a link to the test file where train.arrow will be written.
    const pool = served.get('planted')!.pool;
    const target = arrowCachePath(pool, 'train');
    await mkdir(join(target, '..'), { recursive: true });
    await rm(target, { force: true }); // planted by the other backend's run (the cache folder is shared)
    await symlink(join(pool.dir, 'test.parquet'), target);
    const test = await readFile(join(pool.dir, 'test.parquet'));
    const r = await app.request('/api/challenges/planted/pool/train.arrow');
    expect(r.status).not.toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).includes(test.subarray(0, 64))).toBe(false);
  });

  it('`sieve download --format arrow` writes the Arrow file, sha256-checked, against a real server', async () => {
    const out = join(dir, 'dl');
    // The app above over a real socket.
    const { serve } = await import('@hono/node-server');
    const server = await new Promise<{ close(cb: () => void): void; port: number }>((ok) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => ok({ close: (cb) => s.close(cb), port: info.port }));
    });
    try {
      const run = (args: string[]) => promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { env: { ...process.env, SIEVE_SERVER: `http://127.0.0.1:${server.port}` } });
      const arrow = JSON.parse((await run(['download', 'tiny', '--format', 'arrow', '--out', out, '--json'])).stdout);
      expect(arrow.files.map((f: { name: string }) => f.name)).toEqual(['train.arrow']);
      const listed = await (await app.request('/api/challenges/tiny/pool?format=arrow')).json();
      expect(sha(await readFile(join(out, 'train.arrow')))).toBe(listed.files[0].sha256);
      const parquet = JSON.parse((await run(['download', 'tiny', '--out', out, '--json'])).stdout);
      expect(parquet.files.map((f: { name: string }) => f.name)).toEqual(['pool.json', 'train.parquet']);
      expect((await openPool(out)).manifest.content_hash).toBe(served.get('tiny')!.pool.manifest.content_hash);
      await expect(run(['download', 'tiny', '--format', 'csv', '--out', out])).rejects.toMatchObject({ stderr: expect.stringMatching(/--format must be parquet or arrow/) });
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  }, 60_000);
});
