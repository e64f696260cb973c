/**
 * A challenge.yaml edited on disk while the server serves it (seeds, the public/private
 * partition): the server's jobs are not scored under rules the API does not show. Each
 * attempt fails with the reason and is tried again; with the served file back, the job scores.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges } from '../src/server/challenges.ts';
import { EvaluationQueue } from '../src/server/queue.ts';
import { initServer } from '../src/server/serve.ts';
import { openStore } from '../src/server/store/open.ts';
import { storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'sieve-spec-change-')); });
afterAll(() => rm(dir, { recursive: true, force: true }));

const [duck] = (await storeBackends('spec-change')).filter((b) => b.name === 'duckdb');

it('scores no job under a challenge.yaml edited since the server loaded it', async () => {
  const tiny = await writeTinyChallenge(join(dir, 'challenges'), { name: 'tiny' });
  const served = await loadServedChallenges(join(dir, 'challenges'));
  const ids = (await readSplit(await openPool(join(tiny.dir, 'pool')), 'train', { columns: [] })).ids;
  const db = await duck.newDb('spec');
  await initServer(db);
  const store = await openStore(db);
  await store.migrate();
  await syncChallenges(store, served);
  const queue = new EvaluationQueue(store, { workers: 1, jobTimeoutSeconds: 120, pollMs: 50, retryBackoff: { firstMs: 300, maxMs: 600 } });
  const app = createApp({ store, challenges: served, onQueued: () => queue.notify(), maxUploadBytes: 64 * 1024 });
  const spec = join(tiny.dir, 'challenge.yaml');
  const original = await readFile(spec, 'utf8');
  await writeFile(spec, original.replace('seeds: [0, 1]', 'seeds: [5]'));
  queue.start();
  try {
    const reg = await (await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) })).json();
    const form = new FormData();
    form.append('file', new File([`id\n${ids.slice(0, 60).join('\n')}\n`], 'ids.csv'));
    const sub = await (await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: form, headers: { authorization: `Bearer ${reg.token}` } })).json();
    const until = Date.now() + 60_000;
    let job = await store.getJob(sub.job);
    while (!job?.error) {
      if (Date.now() > until) throw new Error('no attempt ended');
      await new Promise((r) => setTimeout(r, 50));
      job = await store.getJob(sub.job);
    }
    expect(job.error).toMatch(/^the challenge's challenge\.yaml changed since the server loaded it \(sha256 [0-9a-f]{12}… served, [0-9a-f]{12}… on disk\): restart the server/);
    expect(job.state).not.toBe('done');
    // The served file back: the retry scores it, with the served seeds.
    await writeFile(spec, original);
    while ((job = await store.getJob(sub.job))?.state !== 'done') {
      if (Date.now() > until) throw new Error(`job not done: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const rec = JSON.parse((await store.getResult(sub.submission))!.record);
    expect(rec.seeds).toEqual([0, 1]);
  } finally {
    await queue.stop();
    await store.close();
  }
}, 120_000);
