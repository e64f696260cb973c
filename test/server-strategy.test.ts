/**
 * Strategies submitted to the challenge server: stored with their job before the 202, run in
 * the queue's job child by the same evaluation service as `sieve evaluate` (the record is the
 * one `evaluateFile` gives locally for the same file, variant scores included), ranked on the
 * leaderboard by the same primary metric, refused precisely when the challenge does not take
 * their kind, and — when they fail of the entrant's making — failed at once and charged.
 */
import { SYNTH_TEACH_OPTIONS } from '../pools/recipes/synth-teach.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import { strategyTimeoutMs } from '../src/server/job-child.ts';
import { EvaluationQueue } from '../src/server/queue.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { detectLayer } from '../src/strategy/sandbox/layers.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

let dir: string;
let served: Map<string, ServedChallenge>;
/** The backend's store and app (set by its describe). */
let store: ServerStore;
let app: Hono;
let ids: string[];
const layer = detectLayer().layer;

const SQL = 'SELECT id FROM pool ORDER BY hash(id || (SELECT seed FROM params)) LIMIT (SELECT budget FROM params)';
const TS = `export function select(ctx) {
  // every third row, up to the budget: runs on any pool it is given
  const out = [];
  for (let i = 0; i < ctx.n && out.length < ctx.budget; i += 3) out.push(i);
  return out;
}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-strategy-'));
  const challenges = join(dir, 'challenges');
  // Two hidden variants (the synth-teach recipe with seeds 1 and 2), built into the test's variant
  // cache on first use; the pool has their shape (features), at a tenth of their rows.
  await writeTinyChallenge(challenges, {
    name: 'tiny-var', limits: '{ submissions_total: 6 }', extra: ['variants: { recipe: synth-teach, pools: [{ seed: 1 }, { seed: 2 }] }'],
    synth: { ...SYNTH_TEACH_OPTIONS, name: 'tiny-var-pool', rows: 400, testRows: 100, exactDups: 6, nearDups: 6, seed: 5 },
  });
  await writeTinyChallenge(challenges, { name: 'tiny-sql', extra: ['strategies: [sql]'] });
  await writeTinyChallenge(challenges, { name: 'tiny-files', extra: ['strategies: []'] });
  served = await loadServedChallenges(challenges);
  ids = (await readSplit(await openPool(join(challenges, 'tiny-var', 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-strategy');

/** `sieve evaluate`'s record of a strategy file, computed once (it does not depend on the server's backend). */
const localRecords = new Map<string, ReturnType<typeof evaluateFile>>();
function evaluatedLocally(path: string): ReturnType<typeof evaluateFile> {
  if (!localRecords.has(path)) localRecords.set(path, evaluateFile(join(dir, 'challenges', 'tiny-var'), path));
  return localRecords.get(path)!;
}

function upload(text: string | Uint8Array<ArrayBuffer>, name: string, field = 'file'): FormData {
  const form = new FormData();
  form.append(field, new File([text], name));
  return form;
}
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function register(name: string): Promise<string> {
  const r = await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  return (await r.json()).token;
}

async function submit(token: string, challenge: string, text: string | Uint8Array<ArrayBuffer>, name: string, field = 'file') {
  const r = await app.request(`/api/challenges/${challenge}/submissions`, { method: 'POST', headers: auth(token), body: upload(text, name, field) });
  return { status: r.status, body: await r.json() };
}

async function drain(jobTimeoutSeconds: number): Promise<void> {
  const queue = new EvaluationQueue(store, { workers: 2, jobTimeoutSeconds, pollMs: 100 });
  queue.start();
  try {
    const until = Date.now() + 240_000;
    for (;;) {
      const c = await store.countJobs();
      if (c.queued === 0 && c.running === 0) break;
      if (Date.now() > until) throw new Error('timed out waiting for the queue');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await queue.stop();
  }
}

describe.each(BACKENDS)('$name', (b) => {
  if (skipIfUnavailable(b)) return;
  beforeAll(async () => {
    store = await b.open('strategy');
    await syncChallenges(store, served);
    app = createApp({ store, challenges: served, maxUploadBytes: 4 << 20 });
  }, 60_000);
  afterAll(() => store?.close());

  describe('strategy submissions: the upload', () => {
    it('stores a strategy with its job before the 202; refuses kinds the challenge does not take, storing nothing', async () => {
      const token = await register('ada');
      const sql = await submit(token, 'tiny-var', SQL, 'mine.sql');
      expect(sql.status).toBe(202);
      expect(sql.body).toMatchObject({ state: 'queued', kind: 'strategy', strategy: 'sql', rows: null });
      expect(await store.getJob(sql.body.job)).toMatchObject({ state: 'queued', charged: false });
      expect((await store.getSubmission(sql.body.submission))!.fileName).toBe('mine.sql');
      // The field "strategy" works too; its name must be a strategy's.
      const viaField = await submit(token, 'tiny-sql', SQL, 'mine.sql', 'strategy');
      expect(viaField.status).toBe(202);
      const notStrategy = await submit(token, 'tiny-sql', 'id\nrow-001\n', 'ids.csv', 'strategy');
      expect(notStrategy.status).toBe(422);
      expect(notStrategy.body.error.message).toMatch(/a strategy's file name ends in \.sql, \.ts, \.mts, \.mjs, \.js; "ids\.csv" does not/);

      const before = await store.countJobs();
      const ts = await submit(token, 'tiny-sql', TS, 'mine.ts');
      expect(ts.status).toBe(422);
      expect(ts.body.error).toMatchObject({ code: 'not-accepted', where: 'strategy' });
      expect(ts.body.error.message).toBe('challenge tiny-sql does not accept code (.ts, .mts, .mjs, .js) strategies; it accepts SQL (.sql) strategies and submission files');
      const none = await submit(token, 'tiny-files', SQL, 'mine.sql');
      expect(none.status).toBe(422);
      expect(none.body.error.message).toBe('challenge tiny-files takes submission files only, not strategies');
      const binary = await submit(token, 'tiny-var', new Uint8Array([0x53, 0xff, 0xfe, 0x0a]), 'x.sql');
      expect(binary.status).toBe(422);
      expect(binary.body.error).toMatchObject({ code: 'invalid-submission', message: 'the strategy file is not valid UTF-8' });
      const tooBig = await submit(token, 'tiny-var', `-- ${'x'.repeat(1024 * 1024)}\n${SQL}`, 'big.sql');
      expect(tooBig.status).toBe(422);
      expect(tooBig.body.error.message).toMatch(/strategy file is \d+ bytes; the limit is 1048576/);
      const unknown = await submit(token, 'tiny-var', 'id\nrow-001\n', 'ids.xlsx');
      expect(unknown.status).toBe(422);
      expect(unknown.body.error.message).toBe('cannot tell what "ids.xlsx" is from its extension ".xlsx"');
      expect(unknown.body.error.examples.join('\n')).toMatch(/strategies: \.sql \.ts \.mts \.mjs \.js/);
      expect(unknown.body.error.examples.join('\n')).not.toMatch(/--format/);
      expect(await store.countJobs()).toEqual(before);
      // The files-only challenge still takes a file.
      expect((await submit(token, 'tiny-files', `id\n${ids.slice(0, 5).join('\n')}\n`, 'ids.csv')).status).toBe(202);
    });

    it("gives each run of a strategy a share of the job's time limit", () => {
      expect(strategyTimeoutMs(600, 3, 60_000)).toBe(60_000); // the local default when the job allows it
      expect(strategyTimeoutMs(120, 3, 60_000)).toBe(15_000); // half of 120 s over 4 runs
      expect(strategyTimeoutMs(12, 0, 60_000)).toBe(6_000);
      expect(strategyTimeoutMs(1, 5, 60_000)).toBe(1_000); // never below a second
    });
  });

  describe('strategy submissions: evaluated in the job child', () => {
    it('scores SQL and code strategies with their hidden variants, as sieve evaluate does; the leaderboard ranks them by the primary metric', async () => {
      const token = await register('bo');
      const sql = await submit(token, 'tiny-var', SQL, 'keep.sql');
      expect(sql.status).toBe(202);
      // PostgreSQL's half scores the SQL strategy only: what the store adds (the record stored and
      // read back, the leaderboard from it) is the same for either kind, and each costs a job child.
      const ts = layer && b.name === 'duckdb' ? await submit(token, 'tiny-var', TS, 'third.ts') : null;
      if (ts) expect(ts.status).toBe(202);
      await drain(120);

      const local = join(dir, 'local');
      await mkdtemp(local).catch(() => undefined);
      for (const [sub, text, name] of [[sql, SQL, 'keep.sql'], ...(ts ? [[ts, TS, 'third.ts'] as const] : [])] as const) {
        const job = await store.getJob(sub.body.job);
        expect(job, name).toMatchObject({ state: 'done', attempts: 1, charged: false });
        const detail = await (await app.request(`/api/submissions/${sub.body.submission}`, { headers: auth(token) })).json();
        const rec = detail.record;
        expect(rec.strategy).toMatchObject({ kind: name.endsWith('.sql') ? 'sql' : 'code', path: name });
        expect(rec.private).toEqual({ hidden: true, until: null });
        const g = rec.generalisation;
        expect(g.variants.map((v: { seed: number }) => v.seed)).toEqual([1, 2]);
        for (const v of g.variants) expect(v.primary).toBeGreaterThan(0.3);
        expect(g.n).toBe(2);
        expect(g.ci95[0]).toBeLessThanOrEqual(g.mean);
        expect(g.ci95[1]).toBeGreaterThanOrEqual(g.mean);
        // The same file evaluated locally (the CLI's service) gives the same scores, bit for bit.
        const path = join(dir, name);
        await writeFile(path, text);
        const mine = await evaluatedLocally(path);
        expect(rec.metrics.accuracy).toEqual(mine.metrics.accuracy);
        expect(rec.strategy.sha256).toBe(mine.strategy!.sha256);
        expect(rec.strategy.output_sha256).toBe(mine.strategy!.output_sha256);
        const gl = mine.generalisation as { variants: { primary: number }[]; mean: number; ci95: [number, number] };
        expect(g.variants.map((v: { primary: number }) => v.primary)).toEqual(gl.variants.map((v) => v.primary));
        expect([g.mean, g.ci95]).toEqual([gl.mean, gl.ci95]);
        // The submission page shows each variant's score and the interval.
        const page = await (await app.request(`/submissions/${sub.body.submission}`, { headers: { cookie: `sieve_session=${token}` } })).text();
        expect(page).toContain('Hidden variants');
        for (const v of g.variants) expect(page).toContain(v.primary.toFixed(4));
        expect(page).toContain(`[${g.ci95[0].toFixed(4)}, ${g.ci95[1].toFixed(4)}]`);
      }
      const board = await (await app.request('/api/challenges/tiny-var/leaderboard')).json();
      const mine = board.entries.filter((e: { participant: string }) => e.participant === 'bo');
      expect(mine).toHaveLength(1); // one entry per participant: the best of their strategies
      const done = await Promise.all([sql, ...(ts ? [ts] : [])].map(async (s) => (await store.getResult(s.body.submission))!.primaryPublic!));
      expect(mine[0].primary.mean).toBe(Math.max(...done));
    }, 240_000);

    it("withholds from the entrant a strategy's own error text on a hidden variant (it can quote the variant's rows); the organiser's record keeps it", async () => {
      const token = await register('dee');
      // On the public pool (400 rows) a valid pick; on a variant (4,000 rows) an error carrying its rows.
      const leak = `SELECT id FROM pool WHERE CASE WHEN (SELECT count(*) FROM pool) > 1000
        THEN error('LEAK ' || (SELECT string_agg(id || '=' || label, ' ') FROM (SELECT id, label FROM pool ORDER BY id LIMIT 3))) ELSE true END
        ORDER BY id LIMIT (SELECT budget FROM params)`;
      const sub = await submit(token, 'tiny-var', leak, 'leak.sql');
      expect(sub.status).toBe(202);
      await drain(120);
      const detail = await (await app.request(`/api/submissions/${sub.body.submission}`, { headers: auth(token) })).json();
      const errors = detail.record.generalisation.variants.map((v: { error?: string }) => v.error);
      // Nor its time on each variant (a busy-wait as long as a label carries the label out).
      for (const v of detail.record.generalisation.variants) expect(v).not.toHaveProperty('seconds');
      expect(errors).toHaveLength(2);
      for (const e of errors) {
        expect(e).toBe("the SQL strategy failed (the rest is withheld from entrants: it could quote the hidden variant's rows; the organiser's record has it)");
      }
      const page = await (await app.request(`/submissions/${sub.body.submission}`, { headers: { cookie: `sieve_session=${token}` } })).text();
      expect(page).not.toContain('LEAK');
      const stored = JSON.parse((await store.getResult(sub.body.submission))!.record);
      expect(stored.generalisation.variants[0].error).toMatch(/^the SQL strategy failed: .*LEAK v\d+-train-/);
    }, 240_000);

    it("fails a strategy of the entrant's making at once, with the reason, and counts it; the system's failures do not count", async () => {
      const token = await register('cy');
      const every = [
        { text: 'SELEC id FROM pool', name: 'typo.sql', reason: /^the strategy failed: the SQL strategy does not parse/ },
        { text: 'SELECT id FROM pool', name: 'all.sql', reason: /^the strategy failed: .*(budget|at most 100)/ },
        ...(layer ? [
          { text: 'export function select(ctx) { return [0, 1, ; }', name: 'broken.ts', reason: /^the strategy failed: the strategy does not compile \(broken\.ts:1:/ },
          // A runtime error's message already says 'the strategy failed': once, not twice.
          { text: "export function select() { throw new Error('no'); }", name: 'throws.ts', reason: /^the strategy failed: Error: no(?!.*the strategy failed)/ },
        ] : []),
      ];
      // PostgreSQL's half: one SQL and one code strategy (charging and the quota are the store's; which
      // failure is the entrant's is decided in the job child, the same on either backend).
      const cases = b.name === 'duckdb' ? every : every.filter((c) => c.name === 'typo.sql' || c.name === 'throws.ts');
      const subs = [];
      for (const c of cases) {
        const r = await submit(token, 'tiny-var', c.text, c.name);
        expect(r.status, c.name).toBe(202);
        subs.push(r.body);
      }
      await drain(120);
      for (const [i, c] of cases.entries()) {
        const status = await (await app.request(`/api/jobs/${subs[i].job}`, { headers: auth(token) })).json();
        expect(status, c.name).toMatchObject({ state: 'failed', attempts: 1, charged: true });
        expect(status.error, c.name).toMatch(c.reason);
        expect(await store.getResult(subs[i].submission)).toBeNull();
      }
      const me = await (await app.request('/api/me', { headers: auth(token) })).json();
      expect(me.quota.find((q: { challenge: string }) => q.challenge === 'tiny-var')).toMatchObject({ used_total: cases.length, left_total: 6 - cases.length });
      // The system's fault (here: every attempt runs out of the job's time) is retried and not counted.
      const slow = await submit(token, 'tiny-var', SQL, 'fine.sql');
      const queue = new EvaluationQueue(store, { workers: 1, jobTimeoutSeconds: 0.05, pollMs: 50, retryBackoff: { firstMs: 50, maxMs: 100 } });
      queue.start();
      try {
        for (let t = Date.now(); (await store.getJob(slow.body.job))!.state !== 'failed'; ) {
          if (Date.now() - t > 60_000) throw new Error('timed out');
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await queue.stop();
      }
      expect(await store.getJob(slow.body.job)).toMatchObject({ state: 'failed', attempts: 3, charged: false });
      expect((await store.quotaUsed(me.participant.id, 'tiny-var', 0)).total).toBe(cases.length);
    }, 180_000);
  });
});
