/**
 * The challenge server's web pages: server-rendered HTML (hono/jsx), no client script at all
 * (the Content-Security-Policy allows none), every form a plain HTML form that works without
 * JavaScript. The pages are a thin layer over the API: each one calls the API in-process
 * (`api.request`, with the browser's session token as the Bearer token and the request's own
 * connection, so authorisation, caps, rate limits and publicView apply exactly as to any
 * client) and renders the JSON it gets. Mounted by createApp (app.ts) with one line.
 *
 * Pages: `/` challenges · `/challenges/NAME` story, rules, datasheet, downloads, submit form ·
 * `/challenges/NAME/leaderboard` · `/submissions/ID` every metric with intervals, plots, the
 * subset · `/me` submissions and caps · `/organiser` the queue · `/register`, `/signin`,
 * `/signout`. Sessions and CSRF: session.ts.
 */
import type { Context, Hono } from 'hono';
import { Hono as HonoApp } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Child } from 'hono/jsx';
import type { SubmissionAudit } from '../../report/submission-audit.ts';
import type { ActionEntry, ApiErrorBody, ChallengeDetail, ChallengeSummary, JobList, Leaderboard, Me, SubmissionDetail } from './api-types.ts';
import { AUDIT_CSS, AuditReportPage, auditSections } from './audit.tsx';
import { CSS, Layout, type Viewer } from './layout.tsx';
import { Sessions } from './session.ts';
import { FormRefused, UPLOAD_FRAMING_BYTES, UploadChecks } from '../upload-check.ts';
import {
  ChallengeListPage, ChallengePage, enc, ErrorPage, LeaderboardPage, MePage, OrganiserPage, RegisterPage, SignInPage, SubmissionPage, TokenPage,
} from './views.tsx';

export interface PagesOptions {
  /** The API's upload cap (the submit form says it, and refuses a larger body before reading it). */
  maxUploadBytes: number;
  /** Reads the submit form's multipart body off the event loop (the API's; default: its own). */
  uploadChecks?: UploadChecks;
}

/** No script, no plugin, no frame; styles from our own stylesheet only; forms post only to us. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * How often a waiting submission's page reloads itself: every 3 s for its first half-minute,
 * then every 10 s, and every 30 s after five minutes. Each reload is one request against the
 * address's rate limit (the page's own API calls are not counted: sieveInProcess), so a page
 * left open costs at most 20 requests a minute, a thirtieth of the default limit.
 */
export function waitingRefreshSeconds(waitedMs: number): number {
  return !(waitedMs >= 30_000) ? 3 : waitedMs < 300_000 ? 10 : 30;
}

type ApiAnswer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: ApiErrorBody };

class PageError extends Error {
  constructor(readonly status: number, readonly error: ApiErrorBody) {
    super(error.message ?? `error ${status}`);
  }
}

export function pagesApp(api: Hono, opts: PagesOptions): Hono {
  const pages = new HonoApp();
  const sessions = new Sessions();
  const uploadChecks = opts.uploadChecks ?? new UploadChecks();

  /** One API call, in-process, as this browser (its token, its connection). */
  const call = async <T,>(c: Context, path: string, init: { method?: string; token?: string; json?: unknown; form?: FormData } = {}): Promise<ApiAnswer<T>> => {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: BodyInit | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form) body = init.form;
    // The marker tells the API's rate limiter that this call is part of a page request that was
    // already counted (app.ts); a request from the network cannot carry it (@hono/node-server's
    // env is { incoming, outgoing }).
    const res = await api.request(path, { method: init.method ?? 'GET', headers, body }, { ...(c.env as object | undefined), sieveInProcess: true });
    const data = (await res.json().catch(() => null)) as (T & { error?: ApiErrorBody }) | null;
    if (res.ok && data) return { ok: true, status: res.status, body: data };
    if (res.status === 429) c.header('retry-after', res.headers.get('retry-after') ?? '60');
    return { ok: false, status: res.status, error: data?.error ?? { message: `the API answered ${res.status}` } };
  };
  const must = async <T,>(c: Context, path: string, token?: string): Promise<T> => {
    const r = await call<T>(c, path, { token });
    if (!r.ok) throw new PageError(r.status, r.error);
    return r.body;
  };

  /** Who this browser is signed in as (the API checks the token); a token the server no longer knows signs the browser out. */
  const who = async (c: Context): Promise<{ viewer: Viewer | null; me: Me | null; token?: string }> => {
    const token = sessions.token(c);
    if (!token) return { viewer: null, me: null };
    const r = await call<Me>(c, '/api/me', { token });
    if (r.ok) return { viewer: r.body.participant, me: r.body, token };
    if (r.status === 401) sessions.signOut(c);
    else if (r.status === 429) throw new PageError(429, r.error);
    return { viewer: null, me: null };
  };

  const serverUrl = (c: Context) => {
    const u = new URL(c.req.url);
    const proto = c.req.header('x-forwarded-proto') === 'https' ? 'https:' : u.protocol;
    return `${proto}//${u.host}`;
  };

  /** `token`: the session this response starts (registering), which the page's own forms must carry. */
  const render = async (c: Context, title: string, viewer: Viewer | null, body: Child, o: { status?: number; refresh?: number; token?: string } = {}) => {
    // A page that reloads itself can be told not to (?refresh=off): each reload moves a keyboard
    // or screen-reader user back to the top (WCAG 2.2.1).
    const stopped = o.refresh !== undefined && c.req.query('refresh') === 'off';
    const page = <Layout title={title} viewer={viewer} csrf={sessions.csrf(c, o.token ?? sessions.token(c))} refreshSeconds={stopped ? undefined : o.refresh} refreshStopped={stopped} path={new URL(c.req.url).pathname}>{body}</Layout>;
    c.header('content-security-policy', CSP);
    c.header('x-content-type-options', 'nosniff');
    c.header('x-frame-options', 'DENY');
    c.header('referrer-policy', 'same-origin');
    // Pages name the signed-in participant (and one shows a token): never cached or stored.
    c.header('cache-control', 'no-store');
    return c.html(`<!DOCTYPE html>${await page.toString()}`, (o.status ?? 200) as 200);
  };

  pages.onError(async (err, c) => {
    if (err instanceof PageError) {
      const { viewer } = await who(c).catch(() => ({ viewer: null }));
      return render(c, `Error ${err.status}`, viewer, <ErrorPage status={err.status} error={err.error} />, { status: err.status });
    }
    console.error(`sieve serve: internal error on page ${c.req.method} ${c.req.path}:`, err);
    return render(c, 'Error', null, <ErrorPage status={500} error={{ message: 'internal server error (logged on the server)' }} />, { status: 500 });
  });

  const refuseForm = (c: Context, field: unknown) => {
    if (!sessions.verify(c, field)) {
      throw new PageError(403, { code: 'forbidden', message: 'this form is not from this server, or it has expired (the server restarted): reload the page and send it again', where: 'csrf' });
    }
  };

  pages.get('/assets/sieve.css', (c) => c.body(CSS + AUDIT_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' }));

  pages.get('/', async (c) => {
    const [{ viewer }, list] = await Promise.all([who(c), must<{ challenges: ChallengeSummary[] }>(c, '/api/challenges')]);
    return render(c, 'Challenges', viewer, <ChallengeListPage challenges={list.challenges} />);
  });

  const challengePage = async (c: Context, name: string, error?: ApiErrorBody, status = 200) => {
    const [{ viewer, me }, detail] = await Promise.all([who(c), must<ChallengeDetail>(c, `/api/challenges/${enc(name)}`)]);
    const quota = me?.quota.find((q) => q.challenge === detail.name);
    return render(c, detail.title ?? detail.name, viewer,
      <ChallengePage c={detail} viewer={viewer} csrf={sessions.csrf(c)} maxUploadBytes={opts.maxUploadBytes} server={serverUrl(c)} quota={quota} error={error} />, { status });
  };

  pages.get('/challenges/:name', (c) => challengePage(c, c.req.param('name')));

  // The address a refused upload's page shows (the form posts there): reloaded or bookmarked, it
  // leads back to the form instead of a 404.
  pages.get('/challenges/:name/submit', (c) => c.redirect(`/challenges/${encodeURIComponent(c.req.param('name'))}#submit`, 303));

  pages.post('/challenges/:name/submit',
    bodyLimit({
      // The file plus the form's own fields and multipart framing.
      maxSize: opts.maxUploadBytes + 2 * UPLOAD_FRAMING_BYTES, // the file, the API's framing allowance, the form's csrf field
      onError: (c) => challengePage(c, c.req.param('name')!, { code: 'too-large', message: `the file is larger than this server's limit of ${opts.maxUploadBytes} bytes`, where: 'file' }, 413),
    }),
    async (c) => {
      const name = c.req.param('name');
      // Signed in first: reading a form costs the shared upload thread seconds, which no one
      // without a session may spend (four anonymous loops of 16 MB forms slowed others' uploads 100×).
      if (!sessions.token(c)) throw new PageError(401, { code: 'unauthorized', message: 'sign in to submit' });
      // The multipart body is read in a worker thread (a 15 MB file takes undici a third of a second).
      let form;
      try {
        form = await uploadChecks.readForm(c.req.raw);
      } catch (err) {
        if (err instanceof FormRefused) return challengePage(c, name, { code: 'bad-request', message: err.message, where: 'file' }, 400);
        throw err;
      }
      refuseForm(c, form?.csrf);
      const token = sessions.token(c);
      if (!token) throw new PageError(401, { code: 'unauthorized', message: 'sign in to submit' });
      if (Array.isArray(form?.file)) return challengePage(c, name, { code: 'bad-request', message: 'one file per submission', where: 'file' }, 400);
      const file = form?.file;
      if (!(file instanceof File) || file.size === 0 && !file.name) {
        return challengePage(c, name, { code: 'bad-request', message: 'choose a file to submit', where: 'file' }, 400);
      }
      const upload = new FormData();
      upload.append('file', file, file.name);
      const r = await call<{ submission: string; job: string }>(c, `/api/challenges/${enc(name)}/submissions`, { method: 'POST', token, form: upload });
      if (!r.ok) return challengePage(c, name, r.error, r.status);
      return c.redirect(`/submissions/${enc(r.body.submission)}`, 303);
    });

  pages.get('/challenges/:name/leaderboard', async (c) => {
    const name = c.req.param('name');
    const [{ viewer }, detail, lb] = await Promise.all([who(c), must<ChallengeSummary>(c, `/api/challenges/${enc(name)}`), must<Leaderboard>(c, `/api/challenges/${enc(name)}/leaderboard`)]);
    const { leaderboardPlot } = await import('./plots.ts');
    const plot = lb.entries.length ? await leaderboardPlot(lb.entries, lb.primary.name) : null;
    // After close: the final (private) ranking's plot too, in final-rank order.
    const finals = lb.entries.filter((e) => e.private_rank !== undefined && e.private_mean !== undefined)
      .map((e) => ({ rank: e.private_rank!, participant: e.participant, primary: { mean: e.private_mean ?? null, ci95: e.private_ci95 ?? null } }))
      .sort((a, b) => a.rank - b.rank);
    const privatePlot = finals.length ? await leaderboardPlot(finals, lb.primary.name, 'private') : null;
    return render(c, `Leaderboard: ${detail.title ?? detail.name}`, viewer, <LeaderboardPage c={detail} lb={lb} plot={plot} privatePlot={privatePlot} viewer={viewer} />);
  });

  pages.get('/submissions/:id', async (c) => {
    const { viewer, token } = await who(c);
    if (!token) throw new PageError(401, { code: 'unauthorized', message: 'sign in to see your submissions' });
    const s = await must<SubmissionDetail>(c, `/api/submissions/${enc(c.req.param('id'))}`, token);
    // Until the score is in, and then until its audit is (the score is final before the audit ends).
    const pending = s.job?.state === 'queued' || s.job?.state === 'running' || s.audit?.status === 'running';
    const plots = [];
    if (s.record) {
      const { perItemPlots, rankingCurveSpec, draw } = await import('./plots.ts');
      const r = s.record;
      if (r.curve && r.curve.fraction.length) {
        // The curve the record shows (every test row once private scores are visible, else the public rows) and its clean-pool line.
        const part = r.private && 'hidden' in r.private ? 'public' : 'all';
        const seeds = r.curve.parts[part] ?? [];
        const clean = seeds.length ? seeds.reduce((sum, x) => sum + x.clean_correct / x.rows, 0) / seeds.length : null;
        const spec = rankingCurveSpec(r.curve, clean, part === 'all' ? 'every' : 'public');
        plots.push(await draw(spec, `Test accuracy after fixing the first k rows of the ranking, from ${r.curve.accuracy[0]?.toFixed(4)} to ${r.curve.accuracy.at(-1)?.toFixed(4)}${clean !== null ? `; the clean-pool model reaches ${clean.toFixed(4)}` : ''}`));
      }
      plots.push(...await perItemPlots(r.metrics, 'public'));
    }
    return render(c, `Submission ${s.file}`, viewer,
      <SubmissionPage s={s} plots={plots} csrf={sessions.csrf(c)} canCancel={s.job?.state === 'queued'} />, { refresh: pending ? waitingRefreshSeconds(Date.now() - Date.parse(s.created_at)) : undefined });
  });

  pages.get('/submissions/:id/audit', async (c) => {
    const { viewer, token } = await who(c);
    if (!token) throw new PageError(401, { code: 'unauthorized', message: 'sign in to see the audits of your submissions' });
    const id = enc(c.req.param('id'));
    const s = await must<SubmissionDetail>(c, `/api/submissions/${id}`, token);
    const done = s.audit?.status === 'done';
    const doc = done ? await must<SubmissionAudit>(c, `/api/submissions/${id}/audit`, token) : null;
    const sections = doc ? await auditSections(s.id, doc, `${doc.seconds}|${doc.tool.version}`) : null;
    const waiting = s.audit?.status === 'running' || (!s.record && (s.job?.state === 'queued' || s.job?.state === 'running'));
    return render(c, `Audit of ${s.file}`, viewer, <AuditReportPage s={s} sections={sections} />,
      { refresh: waiting ? waitingRefreshSeconds(Date.now() - Date.parse(s.created_at)) : undefined });
  });

  pages.get('/submissions/:id/record.json', async (c) => {
    const token = sessions.token(c);
    if (!token) throw new PageError(401, { code: 'unauthorized', message: 'sign in to download your records' });
    const s = await must<SubmissionDetail>(c, `/api/submissions/${enc(c.req.param('id'))}`, token);
    if (!s.record) throw new PageError(404, { code: 'not-found', message: 'this submission has no result yet' });
    return c.body(JSON.stringify(s.record, null, 2), 200, {
      'content-type': 'application/json', 'content-disposition': `attachment; filename="${s.id.replace(/[^\w-]/g, '_')}.json"`, 'cache-control': 'no-store',
    });
  });

  pages.post('/jobs/:id/cancel', async (c) => {
    const form = await c.req.parseBody().catch(() => null);
    refuseForm(c, form?.csrf);
    const token = sessions.token(c);
    if (!token) throw new PageError(401, { code: 'unauthorized', message: 'sign in to cancel a submission' });
    const r = await call<{ submission: string }>(c, `/api/jobs/${enc(c.req.param('id'))}/cancel`, { method: 'POST', token });
    if (!r.ok) throw new PageError(r.status, r.error);
    return c.redirect(`/submissions/${enc(r.body.submission)}`, 303);
  });

  // A form shows the API's refusal without the API's hints on how to call it (a request body,
  // a header): someone filling in a form sends neither.
  const formError = (e: ApiErrorBody, message?: string): ApiErrorBody => ({ code: e.code, message: message ?? e.message });

  pages.get('/register', async (c) => {
    const { viewer } = await who(c);
    return render(c, 'Register', viewer, <RegisterPage csrf={sessions.csrf(c)} />);
  });

  pages.post('/register', async (c) => {
    const form = await c.req.parseBody().catch(() => null);
    refuseForm(c, form?.csrf);
    const name = typeof form?.name === 'string' ? form.name : '';
    const r = await call<{ participant: { id: string; name: string }; token: string }>(c, '/api/register', { method: 'POST', json: { name } });
    if (!r.ok) return render(c, 'Register', null, <RegisterPage csrf={sessions.csrf(c)} name={name} error={formError(r.error)} />, { status: r.status });
    sessions.signIn(c, r.body.token);
    const viewer: Viewer = { ...r.body.participant, role: 'participant' };
    return render(c, 'Registered', viewer, <TokenPage name={r.body.participant.name} token={r.body.token} server={serverUrl(c)} />, { status: 201, token: r.body.token });
  });

  pages.get('/signin', async (c) => {
    const { viewer } = await who(c);
    return render(c, 'Sign in', viewer, <SignInPage csrf={sessions.csrf(c)} />);
  });

  pages.post('/signin', async (c) => {
    const form = await c.req.parseBody().catch(() => null);
    refuseForm(c, form?.csrf);
    const token = typeof form?.token === 'string' ? form.token.trim() : '';
    const r = await call<Me>(c, '/api/me', { token });
    if (!r.ok) return render(c, 'Sign in', null, <SignInPage csrf={sessions.csrf(c)} error={r.status === 401
      ? formError(r.error, 'this token is not valid: paste the whole token shown once when you registered (on the page after the register form, or printed by the sieve register command)')
      : formError(r.error)} />, { status: r.status });
    sessions.signIn(c, token);
    return c.redirect(r.body.participant.role === 'organiser' ? '/organiser' : '/me', 303);
  });

  pages.post('/signout', async (c) => {
    const form = await c.req.parseBody().catch(() => null);
    refuseForm(c, form?.csrf);
    sessions.signOut(c);
    return c.redirect('/', 303);
  });

  pages.post('/me/token', async (c) => {
    const form = await c.req.parseBody().catch(() => null);
    refuseForm(c, form?.csrf);
    const token = sessions.token(c);
    if (!token) throw new PageError(401, { code: 'unauthorized', message: 'sign in to replace your token' });
    const r = await call<{ participant: { id: string; name: string }; token: string }>(c, '/api/me/token', { method: 'POST', token });
    if (!r.ok) throw new PageError(r.status, r.error);
    sessions.signIn(c, r.body.token);
    const viewer: Viewer = { ...r.body.participant, role: 'participant' };
    return render(c, 'New token', viewer, <TokenPage name={r.body.participant.name} token={r.body.token} server={serverUrl(c)} replaced />, { status: 201, token: r.body.token });
  });

  pages.get('/me', async (c) => {
    const { viewer, me } = await who(c);
    if (!viewer || !me) throw new PageError(401, { code: 'unauthorized', message: 'sign in to see your submissions' });
    const list = await must<{ challenges: ChallengeSummary[] }>(c, '/api/challenges');
    return render(c, viewer.name, viewer, <MePage me={me} challenges={list.challenges} csrf={sessions.csrf(c)} />);
  });

  pages.get('/organiser', async (c) => {
    const { viewer, token } = await who(c);
    if (!viewer) throw new PageError(401, { code: 'unauthorized', message: 'sign in with the organiser token' });
    const [jobs, list, actions] = await Promise.all([
      must<JobList>(c, '/api/jobs', token),
      must<{ challenges: ChallengeSummary[] }>(c, '/api/challenges'),
      call<{ actions: ActionEntry[] }>(c, '/api/actions', { token }),
    ]);
    return render(c, 'Organiser', viewer, <OrganiserPage jobs={jobs} challenges={list.challenges} actions={actions.ok ? actions.body.actions : null} csrf={sessions.csrf(c)} />);
  });

  // Open or close a challenge: the API checks the organiser's token and logs the action.
  pages.post('/organiser/challenges/:name/:to{open|close}', async (c) => {
    const form = await c.req.parseBody().catch(() => null);
    refuseForm(c, form?.csrf);
    const token = sessions.token(c);
    if (!token) throw new PageError(401, { code: 'unauthorized', message: 'sign in with the organiser token' });
    const r = await call(c, `/api/challenges/${enc(c.req.param('name'))}/${c.req.param('to')}`, { method: 'POST', token });
    if (!r.ok) throw new PageError(r.status, r.error);
    return c.redirect('/organiser', 303);
  });

  // A page address that is not one: an HTML 404 (the API's own paths keep their JSON 404).
  pages.get('*', async (c) => {
    if (c.req.path.startsWith('/api/') || c.req.path === '/api') return c.notFound();
    throw new PageError(404, { code: 'not-found', message: `no page at ${c.req.path}` });
  });

  return pages;
}
