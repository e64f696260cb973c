/**
 * The server's web pages through the hono app (no sockets, no browser): they render what the
 * API gives, escape everything a user typed or uploaded, keep tokens out of URLs, refuse forms
 * without a valid CSRF token or from another origin, set their session cookie HttpOnly and
 * SameSite=Strict, keep private pages private, and show the private leaderboard once the
 * challenge has closed. The browser side (real forms, plots' boxes, narrow screens) is
 * test/browser-server.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { openPool, readSplit } from '../src/pool/read.ts';
import { createApp } from '../src/server/app.ts';
import { loadServedChallenges, syncChallenges, type ServedChallenge } from '../src/server/challenges.ts';
import { Markdown } from '../src/server/pages/markdown.tsx';
import { EvaluationQueue } from '../src/server/queue.ts';
import { DEFAULT_RATE_PER_MINUTE, initServer } from '../src/server/serve.ts';
import { waitingRefreshSeconds } from '../src/server/pages/index.tsx';
import { openStore } from '../src/server/store/open.ts';
import type { ServerStore } from '../src/server/store/types.ts';
import { skipIfUnavailable, storeBackends } from './server-backends.ts';
import { writeTinyChallenge } from './fixtures/tiny-challenge.ts';

const XSS = '<img src=x onerror="window.xssFired=1">';

let dir: string;
let ids: string[];
let served: Map<string, ServedChallenge>;

/** A browser's cookies for app.request: what Set-Cookie set, sent back as Cookie. */
class Browser {
  cookies = new Map<string, string>();
  setCookies: string[] = [];
  constructor(private readonly app: () => Hono) {}
  async go(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.app().request(path, { ...init, headers });
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const k = pair.slice(0, eq), v = pair.slice(eq + 1);
      if (/Max-Age=0/i.test(c) || v === '') this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    return res;
  }
  /** The CSRF field of the first form on a page. */
  async csrf(path: string): Promise<string> {
    const html = await (await this.go(path)).text();
    const m = /name="csrf" value="([^"]+)"/.exec(html);
    if (!m) throw new Error(`no form on ${path}`);
    return m[1];
  }
  async post(path: string, fields: Record<string, string | File>, headers: Record<string, string> = {}): Promise<Response> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return this.go(path, { method: 'POST', body: form, headers });
  }
}

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, what: string, seconds = 90): Promise<T> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sieve-server-pages-'));
  const challenges = join(dir, 'challenges');
  const tiny = await writeTinyChallenge(challenges, { name: 'tiny', closes: '2099-01-01' });
  // A README with what a careless or hostile organiser could write: raw HTML and a script link.
  await writeFile(join(tiny.dir, 'README.md'), [
    '# tiny: a story', '', `**Story.** Choose rows. ${XSS} <script>window.xssFired=2</script>`, '',
    '- a [safe link](https://example.org/a) and a [bad one](javascript:alert(1))',
    '- [another challenge](../other/README.md), [a repository file](../../docs/audit.md)', '- `inline code`', '',
    '| baseline | accuracy |', '| --- | --- |', '| random | 0.5 |', '', '```', 'sieve evaluate tiny ids.csv', '```', '',
  ].join('\n'));
  served = await loadServedChallenges(challenges);
  ids = (await readSplit(await openPool(join(tiny.dir, 'pool')), 'train', { columns: [] })).ids;
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const BACKENDS = await storeBackends('server-pages');

describe.each(BACKENDS)('$name', (backend) => {
  if (skipIfUnavailable(backend)) return;

  describe('server pages', () => {
    let store: ServerStore;
    let app: Hono;
    let queue: EvaluationQueue;
    let organiserToken: string;

    beforeAll(async () => {
      const db = await backend.newDb('pages');
      organiserToken = (await initServer(db)).token;
      store = await openStore(db);
      await store.migrate();
      await syncChallenges(store, served);
      queue = new EvaluationQueue(store, { workers: 1, jobTimeoutSeconds: 120, pollMs: 100 });
      app = createApp({ store, challenges: served, onQueued: () => queue.notify(), maxUploadBytes: 64 * 1024 });
      queue.start();
    }, 60_000);
    afterAll(async () => {
      await queue?.stop();
      await store?.close();
    });

    it('render the challenge list and page from the API, with no script allowed and the README escaped', async () => {
      const b = new Browser(() => app);
      const list = await b.go('/');
      expect(list.status).toBe(200);
      expect(list.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = list.headers.get('content-security-policy')!;
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).not.toMatch(/script-src|unsafe-inline/);
      expect(list.headers.get('cache-control')).toBe('no-store');
      expect(await list.text()).toMatch(/<a href="\/challenges\/tiny">Tiny selection<\/a>/);
      const page = await (await b.go('/challenges/tiny')).text();
      expect(page).toContain('<h3>tiny: a story</h3>');
      expect(page).toContain('&lt;img src=x onerror=&quot;window.xssFired=1&quot;&gt;');
      expect(page).toContain('&lt;script&gt;');
      expect(page).not.toMatch(/<img|<script/i);
      expect(page).toContain('<a href="https://example.org/a">safe link</a>');
      expect(page).not.toContain('href="javascript:');
      // Relative links as the README's folder has them: a sibling challenge's page, other files as text.
      expect(page).toContain('<a href="/challenges/other">another challenge</a>');
      expect(page).toContain('a repository file (../../docs/audit.md)');
      expect(page).toMatch(/<table>.*<th scope="col">baseline<\/th>.*<td>0.5<\/td>/s);
      expect(page).toContain('<pre tabindex="0"><code>sieve evaluate tiny ids.csv</code></pre>');
      // Downloads are the API's participant files; no submit form for a visitor.
      expect(page).toContain('href="/api/challenges/tiny/pool/train.parquet"');
      expect(page).not.toContain('action="/challenges/tiny/submit"');
      expect(page).toMatch(/<a href="\/register">Register<\/a> or <a href="\/signin">sign in<\/a> to submit/);
      expect((await b.go('/assets/sieve.css')).headers.get('content-type')).toMatch(/^text\/css/);
    });

    it('keeps API paths JSON and answers unknown pages with an HTML 404', async () => {
      const api = await app.request('/api/nope');
      expect(api.status).toBe(404);
      expect((await api.json()).error.code).toBe('not-found');
      const page = await app.request('/nope');
      expect(page.status).toBe(404);
      expect(await page.text()).toMatch(/<h1>Not found<\/h1>/);
      const missing = await app.request('/challenges/no-such');
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain('no challenge &quot;no-such&quot; on this server');
    });

    it('register: refuses forms without a valid CSRF token or from another origin; the token is shown once, in the page, never in a URL', async () => {
      const b = new Browser(() => app);
      expect((await b.post('/register', { name: 'ada' })).status).toBe(403); // no CSRF field
      const csrf = await b.csrf('/register');
      expect(b.cookies.has('sieve_nonce')).toBe(true);
      // One nonce cookie per response, however many forms the page has (the sign-in page set it twice).
      const signinPage = await app.request('/signin');
      expect(signinPage.headers.getSetCookie().filter((c) => c.startsWith('sieve_nonce=')).length).toBe(1);
      expect((await b.post('/register', { name: 'ada', csrf }, { origin: 'http://evil.example' })).status).toBe(403);
      expect((await b.post('/register', { name: 'ada', csrf: csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) })).status).toBe(403);
      // Another browser's (valid) CSRF token does not work with this browser's nonce.
      const other = new Browser(() => app);
      expect((await b.post('/register', { name: 'ada', csrf: await other.csrf('/register') })).status).toBe(403);
      expect(b.cookies.has('sieve_session')).toBe(false);
      // A name with markup is refused by the API, and echoed back escaped.
      const bad = await b.post('/register', { name: XSS, csrf });
      expect(bad.status).toBe(400);
      const badHtml = await bad.text();
      expect(badHtml).toContain('value="&lt;img src=x onerror=&quot;window.xssFired=1&quot;&gt;"');
      expect(badHtml).not.toContain('<img');
      // The form shows the refusal without the API's hints on how to call it.
      expect(badHtml).not.toContain('POST {');
      const ok = await b.post('/register', { name: 'ada', csrf });
      expect(ok.status).toBe(201);
      const html = await ok.text();
      const token = /<code class="token" id="token">(sieve_par_[^<]+)<\/code>/.exec(html)![1];
      const session = b.setCookies.find((c) => c.startsWith('sieve_session='))!;
      expect(session).toMatch(/HttpOnly/);
      expect(session).toMatch(/SameSite=Strict/);
      expect(session).toMatch(/Path=\//);
      expect(session).toContain(token);
      // Signed in: the nav names ada, and the token is on no later page.
      const me = await (await b.go('/me')).text();
      expect(me).toContain('<a href="/me">ada</a>');
      expect(me).not.toContain(token);
      // The name is taken now (the API's 409, shown on the form).
      const again = new Browser(() => app);
      const taken = await again.post('/register', { name: 'ada', csrf: await again.csrf('/register') });
      expect(taken.status).toBe(409);
      expect(await taken.text()).toContain('the name &quot;ada&quot; is taken');
      // Signing out needs the form's token too, and clears the session; the token page's own sign-out form works.
      expect((await b.post('/signout', {})).status).toBe(403);
      const out = await b.post('/signout', { csrf: /action="\/signout"><input type="hidden" name="csrf" value="([^"]+)"/.exec(html)![1] });
      expect(out.status).toBe(303);
      expect(b.cookies.has('sieve_session')).toBe(false);
      expect((await b.go('/me')).status).toBe(401);
      // Signing in takes the token from the form body, and a wrong one is refused.
      const wrong = await b.post('/signin', { token: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), csrf: await b.csrf('/signin') });
      expect(wrong.status).toBe(401);
      const wrongHtml = await wrong.text();
      expect(wrongHtml).toContain('this token is not valid: paste the whole token shown once when you registered');
      expect(wrongHtml).not.toContain('Bearer');
      // The address a refused upload's page shows leads back to the form when loaded again.
      const reload = await b.go('/challenges/tiny/submit');
      expect(reload.status).toBe(303);
      expect(reload.headers.get('location')).toBe('/challenges/tiny#submit');
      const signin = await b.post('/signin', { token, csrf: await b.csrf('/signin') });
      expect(signin.status).toBe(303);
      expect(signin.headers.get('location')).toBe('/me');
      // A token that may have leaked is replaced from /me: shown once, this browser signed in with it, the old one dead.
      const mine = await (await b.go('/me')).text();
      expect(mine).toContain('the token itself keeps working wherever it was copied');
      const replaced = await b.post('/me/token', { csrf: /action="\/me\/token"><input type="hidden" name="csrf" value="([^"]+)"/.exec(mine)![1] });
      expect(replaced.status).toBe(201);
      const fresh = /<code class="token" id="token">(sieve_par_[^<]+)<\/code>/.exec(await replaced.text())![1];
      expect(fresh).not.toBe(token);
      expect((await b.go('/me')).status).toBe(200);
      expect((await app.request('/api/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    });

    it('submit by form: 303 to the submission page, scored by the queue, shown with every metric and plots; a file name with markup stays text', async () => {
      const b = new Browser(() => app);
      await b.post('/register', { name: 'bo', csrf: await b.csrf('/register') });
      const page = await (await b.go('/challenges/tiny')).text();
      expect(page).toContain('action="/challenges/tiny/submit"');
      const csrf = /action="\/challenges\/tiny\/submit"[^>]*><input type="hidden" name="csrf" value="([^"]+)"/.exec(page)![1];
      // An invalid submission: the API's precise error, on the form, nothing stored.
      const invalid = await b.post('/challenges/tiny/submit', { csrf, file: new File(['id\nno-such-row\n'], 'bad.csv') });
      expect(invalid.status).toBe(422);
      expect(await invalid.text()).toMatch(/The submission was not accepted.*not in the pool/s);
      expect((await b.post('/challenges/tiny/submit', { file: new File([`id\n${ids[0]}\n`], 'a.csv') })).status).toBe(403);
      // Without a session the form is not even read (it would cost the shared upload thread).
      expect((await new Browser(() => app).post('/challenges/tiny/submit', { file: new File([`id\n${ids[0]}\n`], 'a.csv') })).status).toBe(401);
      const name = `${XSS}.csv`;
      const r = await b.post('/challenges/tiny/submit', { csrf, file: new File([`id\n${ids.slice(0, 80).join('\n')}\n`], name) });
      expect(r.status).toBe(303);
      const location = r.headers.get('location')!;
      expect(location).toMatch(/^\/submissions\/sub_[0-9a-f]+$/);
      const pending = await (await b.go(location)).text();
      expect(pending).toMatch(/data-state="(queued|running|done)"/);
      const id = location.split('/').pop()!;
      await waitFor(async () => (await store.listSubmissions({})).find((s) => s.id === id)?.job.state === 'done', 'the job');
      // The page keeps reloading while the audit of the submitted rows runs, then stops.
      await waitFor(async () => (await store.getAudit(id))?.state !== 'running', 'the audit');
      const res = await b.go(location);
      const done = await res.text();
      expect(done).toContain('data-state="done"');
      expect(done).not.toContain('http-equiv="refresh"');
      expect(done).toContain('Audit of the submitted rows');
      expect(done).toContain(`href="/submissions/${id}/audit"`);
      // The audit report page: the HTML report's sections inside the site's frame, the file name still text.
      const auditPage = await (await b.go(`${location}/audit`)).text();
      expect(auditPage).toContain('<div class="audit-report">');
      expect(auditPage).toContain('id="analyser-label-errors"');
      expect(auditPage).toMatch(/Most likely label errors: subset/);
      expect(auditPage).toContain('&lt;img src=x onerror=');
      expect(auditPage).not.toContain('<img src=x');
      expect(auditPage).not.toMatch(/<script/i);
      expect(await (await b.go('/assets/sieve.css')).text()).toContain('.audit-report .badge.sev-problem');
      expect(done).toContain('accuracy (primary)');
      expect(done).toContain('macro_f1');
      expect(done).toMatch(/\[0\.\d{4}, [01]\.\d{4}\]/); // intervals
      expect(done).toMatch(/Private: \d+ test rows scored and stored; shown when the challenge closes/);
      expect(done).toMatch(/<figure class="plot"><figcaption>f1 per class, public test rows \(95% intervals\)<\/figcaption><div class="plot-box" tabindex="0" role="img" aria-label="[^"]+"><svg/);
      expect(done).toContain('&lt;img src=x onerror=&quot;window.xssFired=1&quot;&gt;.csv');
      expect(done).not.toContain('<img');
      const me = await (await b.go('/me')).text();
      expect(me).toContain('&lt;img src=x onerror=');
      expect(me).not.toContain('<img');
      // The record downloads as JSON, and is the participant's view (no private figures).
      const record = await b.go(`${location}/record.json`);
      expect(record.headers.get('content-disposition')).toMatch(/^attachment/);
      expect((await record.json()).private).toEqual({ hidden: true, until: '2099-01-01' });
      // Someone else cannot see it, nor anyone signed out.
      const eve = new Browser(() => app);
      await eve.post('/register', { name: 'eve', csrf: await eve.csrf('/register') });
      expect((await eve.go(location)).status).toBe(404);
      expect((await new Browser(() => app).go(location)).status).toBe(401);
      // A second entry, below the leader.
      const eveCsrf = /action="\/challenges\/tiny\/submit"[^>]*><input type="hidden" name="csrf" value="([^"]+)"/.exec(await (await eve.go('/challenges/tiny')).text())![1];
      const second = await eve.post('/challenges/tiny/submit', { csrf: eveCsrf, file: new File([`id\n${ids.slice(200, 260).join('\n')}\n`], 'eve.csv') });
      const eveId = second.headers.get('location')!.split('/').pop()!;
      await waitFor(async () => (await store.listSubmissions({})).find((s) => s.id === eveId)?.job.state === 'done', 'the second job');
      // The leaderboard row, and a link to the submission only for its owner.
      const board = await (await b.go('/challenges/tiny/leaderboard')).text();
      expect(board).toMatch(/<tbody><tr data-participant="(bo|eve)">.*?<span class="mark-tie">leader<\/span>.*?<tr data-participant="(bo|eve)">.*?(≈ tied with the leader|below the leader).*?difference -?0\.\d{4} [^<]*?, p [01]\.\d{3}/s);
      expect(board).toMatch(/Correction for multiple comparisons: none needed: one comparison with the leader/);
      expect(board).toMatch(/<tr data-participant="bo">.*<a href="\/submissions\/sub_/s);
      expect(board).toMatch(/<figcaption>accuracy per entry, public test rows/);
      expect(await (await eve.go('/challenges/tiny/leaderboard')).text()).not.toContain(`href="${location}"`);
    }, 150_000);

    it('the organiser page lists the queue for the organiser only; after close the leaderboard shows the private part and each move', async () => {
      const org = new Browser(() => app);
      const signin = await org.post('/signin', { token: organiserToken, csrf: await org.csrf('/signin') });
      expect(signin.headers.get('location')).toBe('/organiser');
      const page = await (await org.go('/organiser')).text();
      expect(page).toContain('Evaluation queue');
      expect(page).toContain('&lt;img src=x onerror=');
      expect(page).not.toContain('<img');
      const bo = new Browser(() => app);
      await bo.post('/register', { name: 'cy', csrf: await bo.csrf('/register') });
      expect((await bo.go('/organiser')).status).toBe(403);
      // The same store seen after the close date: private columns and moves.
      const later = createApp({ store, challenges: served, maxUploadBytes: 64 * 1024, now: () => new Date('2099-06-01T00:00:00Z') });
      const board = await (await later.request('/challenges/tiny/leaderboard')).text();
      expect(board).toContain('The challenge has closed');
      expect(board).toMatch(/accuracy \(private\)/);
      expect(board).toMatch(/<th scope="col" class="num">final rank<\/th><th scope="col">move<\/th>/);
      expect(board).toMatch(/vs the leader \(private\)/);
      expect(board).toMatch(/How “tied” is decided \(private part\)/);
      const closedPage = await (await later.request('/challenges/tiny')).text();
      expect(closedPage).toContain('This challenge has closed: no more submissions.');
    });
  });

  describe('a submission whose failed attempt waits out its retry back-off', () => {
    it('says on its page when it is retried at the earliest', async () => {
      const db = await backend.newDb('retry');
      await initServer(db);
      const own = await openStore(db);
      try {
        await own.migrate();
        await syncChallenges(own, served);
        const app = createApp({ store: own, challenges: served, maxUploadBytes: 64 * 1024 });
        const reg = await (await app.request('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'retried' }) })).json();
        const form = new FormData();
        form.append('file', new File([`id\n${ids.slice(0, 20).join('\n')}\n`], 'r.csv'));
        const sub = await (await app.request('/api/challenges/tiny/submissions', { method: 'POST', body: form, headers: { authorization: `Bearer ${reg.token}` } })).json();
        const cookie = { cookie: `sieve_session=${reg.token}` };
        expect(await (await app.request(`/submissions/${sub.submission}`, { headers: cookie })).text()).toContain('Waiting for a worker.');
        await own.claimJob('w', 60_000);
        expect(await own.failAttempt({ job: sub.job, attempt: 1, worker: 'w' }, 'disk full', true)).toBe('queued');
        const retryAt = new Date((await own.getJob(sub.job))!.retryAt!).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
        const page = await (await app.request(`/submissions/${sub.submission}`, { headers: cookie })).text();
        expect(page).toMatch(/data-state="queued"/);
        expect(page).toContain(`An attempt failed; it is retried at ${retryAt} at the earliest.`);
      } finally {
        await own.close();
      }
    });
  });

  describe('pages and the rate limit', () => {
    it("count once per page against the address's bucket (their in-process API calls do not), so a waiting page's reloads cannot exhaust it", async () => {
      const db = await backend.newDb('rate');
      await initServer(db);
      const own = await openStore(db);
      try {
        await own.migrate();
        await syncChallenges(own, served);
        // No queue: the submission stays queued, its page keeps reloading. A frozen clock: no bucket refills mid-test.
        const limited = createApp({ store: own, challenges: served, maxUploadBytes: 64 * 1024, ratePerMinute: 6, rateClock: () => 1_000_000 });
        const from = (address: string, path: string, init: RequestInit = {}) => limited.request(path, init, { incoming: { socket: { remoteAddress: address } } });
        const reg = await (await from('10.9.0.1', '/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'waiter' }) })).json();
        const form = new FormData();
        form.append('file', new File([`id\n${ids.slice(0, 20).join('\n')}\n`], 'w.csv'));
        const sub = await (await from('10.9.0.1', '/api/challenges/tiny/submissions', { method: 'POST', body: form, headers: { authorization: `Bearer ${reg.token}` } })).json();
        expect(sub.state).toBe('queued');
        // The session cookie as a browser would hold it after signing in.
        const cookie = { cookie: `sieve_session=${reg.token}` };
        const loads: number[] = [];
        for (let i = 0; i < 6; i++) {
          const page = await from('10.9.0.2', `/submissions/${sub.submission}${i === 2 ? '?refresh=off' : ''}`, { headers: cookie });
          loads.push(page.status);
          if (i === 0) expect(await page.text()).toMatch(/<meta http-equiv="refresh" content="3"\/?>.*Stop reloading.*data-state="queued"/s);
          // A reader can stop the reloads (each one sends the focus back to the top).
          if (i === 1) {
            const still = await page.text();
            expect(still).toContain(`<a href="/submissions/${sub.submission}?refresh=off">Stop reloading</a>`);
          }
          if (i === 2) {
            const stopped = await page.text();
            expect(stopped).not.toContain('http-equiv="refresh"');
            expect(stopped).toContain('Reloading stopped');
          }
        }
        // Each page load takes one request of the six; before, its two API calls took two more.
        expect(loads).toEqual([200, 200, 200, 200, 200, 200]);
        expect((await from('10.9.0.2', `/submissions/${sub.submission}`, { headers: cookie })).status).toBe(429);
        // The participant's token bucket was not touched by the pages either: the API still answers it (from another address).
        expect((await from('10.9.0.3', `/api/jobs/${sub.job}`, { headers: { authorization: `Bearer ${reg.token}` } })).status).toBe(200);
        // A page left waiting reloads at most every 3 s, less often as it waits: a thirtieth of the default limit at most.
        expect([0, 29_000, 30_000, 299_000, 300_000, 3_600_000].map(waitingRefreshSeconds)).toEqual([3, 3, 10, 10, 30, 30]);
        expect(60 / waitingRefreshSeconds(0)).toBeLessThanOrEqual(DEFAULT_RATE_PER_MINUTE / 30);
      } finally {
        await own.close();
      }
    });
  });
});

describe('markdown', () => {
  it('keeps only safe links, escapes HTML, and never loops on odd lines', async () => {
    const html = String(await Markdown({ text: '```js extra\n[x](JAVASCRIPT:alert(1)) [y](/rel) [z](data:text/html,hi)\n<b>bold</b>' }).toString());
    expect(html).not.toMatch(/href="(javascript|data):/i);
    expect(html).toContain('<a href="/rel">y</a>');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
  });
});
