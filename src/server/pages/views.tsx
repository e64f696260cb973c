/**
 * The pages' bodies, one component per page, from the API's JSON (api-types.ts). Every value
 * that came from a user (names, file names, messages) reaches the page as JSX text or an
 * attribute, which hono/jsx escapes; the only raw HTML is the SVG the plots module drew.
 */
import type { Child } from 'hono/jsx';
import type { MetricSummary } from '../../../evaluator/aggregate.ts';
import type { ActionEntry, ApiErrorBody, ChallengeDetail, ChallengeSummary, JobList, Leaderboard, LeaderboardEntry, Me, RecordView, SignificanceNote, SubmissionDetail } from './api-types.ts';
import { AuditSummary } from './audit.tsx';
import { ErrorBox, Plot, Tag, type Viewer } from './layout.tsx';
import { Markdown } from './markdown.tsx';
import type { DrawnPlot } from './plots.ts';


/** A metric name that may wrap after "_" and "[" ("balanced_<wbr>accuracy"), never inside a word. */
function breakable(name: string): Child[] {
  const out: Child[] = [];
  for (const part of name.split(/(?<=[_[])/)) out.push(part, <wbr />);
  out.pop();
  return out;
}

export const enc = encodeURIComponent;

export function num(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

function interval(ci: [number, number] | null | undefined, digits = 4): string {
  return ci && Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? `[${ci[0].toFixed(digits)}, ${ci[1].toFixed(digits)}]` : 'n/a';
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

function limitsText(l: ChallengeSummary['limits']): string {
  const parts = [
    l.submissions_per_day !== undefined ? `${l.submissions_per_day} per day (UTC)` : null,
    l.submissions_total !== undefined ? `${l.submissions_total} in all` : null,
  ].filter(Boolean);
  return parts.length ? `submissions: ${parts.join(', ')}` : 'no submission cap';
}

// ---------------------------------------------------------------- challenge list

export function ChallengeListPage(props: { challenges: ChallengeSummary[] }) {
  return (
    <>
      <h1>Challenges</h1>
      <p>Each challenge fixes the model and its seeds; what competes is the data you choose. Score locally with
        {' '}<code>sieve evaluate</code>, then submit here or with <code>sieve submit</code>: the server scores it on hidden test rows.</p>
      <ul class="cards">
        {props.challenges.map((c) => (
          <li>
            <h2><a href={`/challenges/${enc(c.name)}`}>{c.title ?? c.name}</a></h2>
            <p>
              <Tag state={c.state} /> <span class="tag">{c.task}</span> <code>{c.name}</code>
              {c.closes ? <span class="muted">{` · ${c.state === 'closed' ? 'closed' : 'closes'} ${c.closes}`}</span> : null}
            </p>
            <p class="muted">{`pool ${c.pool} · ${c.budget} · ranked by ${c.primary.name} (${c.primary.direction === 'max' ? 'higher is better' : 'lower is better'})`}</p>
            <p><a href={`/challenges/${enc(c.name)}/leaderboard`}>{`Leaderboard of ${c.name}`}</a></p>
          </li>
        ))}
      </ul>
    </>
  );
}

// ---------------------------------------------------------------- challenge page

function Facts(props: { rows: [string, Child][] }) {
  return <dl class="facts">{props.rows.map(([k, v]) => <><dt>{k}</dt><dd>{v}</dd></>)}</dl>;
}

function Datasheet(props: { sheet: Record<string, unknown> }) {
  return (
    <dl class="facts">
      {Object.entries(props.sheet).map(([k, v]) => (
        <>
          <dt>{k.replace(/_/g, ' ')}</dt>
          <dd>{Array.isArray(v) ? <ul>{v.map((x) => <li>{String(x)}</li>)}</ul> : typeof v === 'object' && v !== null ? <code>{JSON.stringify(v)}</code> : String(v)}</dd>
        </>
      ))}
    </dl>
  );
}

export function SubmitForm(props: { challenge: string; csrf: string; maxUploadBytes: number; invalid?: boolean }) {
  return (
    <form class="stack" method="post" action={`/challenges/${enc(props.challenge)}/submit`} enctype="multipart/form-data">
      <input type="hidden" name="csrf" value={props.csrf} />
      <label for="file">Submission file</label>
      <input id="file" name="file" type="file" required accept=".csv,.txt,.json,.parquet,.arrow,.feather,.ipc" aria-describedby={props.invalid ? 'form-error file-help' : 'file-help'} aria-invalid={props.invalid ? 'true' : undefined} />
      <p id="file-help" class="note">{`CSV, TXT, JSON, Parquet or Arrow, at most ${bytes(props.maxUploadBytes)}; checked as strictly as sieve evaluate checks it before anything is stored.`}</p>
      <div><button type="submit">Submit</button></div>
    </form>
  );
}

export function ChallengePage(props: {
  c: ChallengeDetail; viewer: Viewer | null; csrf: string; maxUploadBytes: number; server: string;
  quota?: Me['quota'][number]; error?: { code?: string; message?: string; where?: string; examples?: string[] };
}) {
  const { c, viewer } = props;
  const r = c.rules;
  const q = props.quota;
  return (
    <>
      <h1>{c.title ?? c.name}</h1>
      <p><Tag state={c.state} /> <span class="tag">{c.task}</span> <code>{c.name}</code> <span class="muted">{`version ${c.version}`}</span></p>
      {c.description ? <p>{c.description}</p> : null}
      <p><a href={`/challenges/${enc(c.name)}/leaderboard`}>Leaderboard</a></p>
      <Facts rows={[
        ['what you submit', r.submission],
        ['budget', c.budget],
        ['pool', c.pool],
        ['ranked by', `${c.primary.name} (${c.primary.direction === 'max' ? 'higher is better' : 'lower is better'}), on the public part of the hidden test rows`],
        ['closes', c.closes ?? 'not set (open until the organiser closes it)'],
        ['limits', limitsText(c.limits)],
      ]} />

      <h2 id="submit">Submit</h2>
      {props.error ? <ErrorBox title="The submission was not accepted" id="form-error" error={props.error} /> : null}
      {c.state === 'closed' ? <p>This challenge has closed: no more submissions. The leaderboard now shows the private test rows too.</p>
        : c.state === 'draft' ? <p>This challenge is not open yet: submissions are taken once the organiser opens it.</p>
        : viewer ? (
          <>
            {q ? <p class="muted">{`You have used ${q.used_today} submission(s) today and ${q.used_total} in all${q.left_today !== null ? `; ${q.left_today} left today` : ''}${q.left_total !== null ? `; ${q.left_total} left in all` : ''}. Cancelled and failed submissions do not count.`}</p> : null}
            <SubmitForm challenge={c.name} csrf={props.csrf} maxUploadBytes={props.maxUploadBytes} invalid={!!props.error} />
            <p class="note">From the command line: <code>{`sieve submit ${c.name} FILE --server ${props.server}`}</code> with your token in <code>SIEVE_TOKEN</code>.</p>
          </>
        ) : <p><a href="/register">Register</a> or <a href="/signin">sign in</a> to submit.</p>}

      <h2 id="download">Download the pool</h2>
      <p>The participant files of pool <code>{c.pool}</code>; the test rows stay on the server.</p>
      <div class="scroll" tabindex={0}>
        <table>
          <thead><tr><th scope="col">file</th><th scope="col">what</th><th scope="col" class="num">size</th><th scope="col">sha256</th><th scope="col">also as</th></tr></thead>
          <tbody>
            {c.files.map((f) => {
              const arrow = f.format === 'parquet' ? c.arrow?.files.find((a) => a === `${f.role}.arrow`) : undefined;
              return (
                <tr>
                  <td><a href={`/api/challenges/${enc(c.name)}/pool/${enc(f.name)}`} download={f.name}>{f.name}</a></td>
                  <td>{f.role}{f.format ? ` (${f.format})` : ''}</td>
                  <td class="num">{bytes(f.bytes)}</td>
                  <td><code>{f.sha256 ? f.sha256.slice(0, 16) + '…' : '–'}</code></td>
                  <td>{arrow ? <a href={`/api/challenges/${enc(c.name)}/pool/${enc(arrow)}`} download={arrow}>{`${arrow} (Arrow IPC)`}</a> : '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {c.arrow ? <p class="note">Arrow files hold the same rows and columns, the pool's column kinds in their schema metadata; their sizes and sha256 are in <a href={c.arrow.listing}>the Arrow listing</a>, and <code>{`sieve download ${c.name} --format arrow`}</code> fetches and checks them.</p> : null}

      <h2 id="rules">Rules</h2>
      <Facts rows={[
        ['fixed model', `${r.model.kind}${r.model.params ? ` ${JSON.stringify(r.model.params)}` : ''}${r.model.preprocess && Object.keys(r.model.preprocess).length ? `, preprocessing ${JSON.stringify(r.model.preprocess)}` : ''}`],
        ['seeds', (r.model.seeds ?? []).join(', ') || '–'],
        ['metrics', [r.metrics.primary, ...(r.metrics.report ?? [])].join(', ')],
        ['test rows', JSON.stringify(r.test)],
        ['intervals', `95% percentile bootstrap over test rows, ${r.bootstrap.samples} resamples, seed ${r.bootstrap.seed}`],
        ['classes', c.classes.join(', ')],
        ['groups', c.groups.length ? c.groups.join(', ') : 'none'],
        ['baselines', c.baselines.length ? `${c.baselines.join(', ')} (sieve baselines ${c.name})` : 'none'],
      ]} />
      {c.phases?.length ? (
        <>
          <h2 id="phases">Phases</h2>
          <div class="scroll" tabindex={0}>
            <table>
              <thead><tr><th scope="col">phase</th><th scope="col">opens</th><th scope="col">closes</th><th scope="col">state</th></tr></thead>
              <tbody>{c.phases.map((p) => <tr><td>{p.name}</td><td>{when(p.opens_at)}</td><td>{when(p.closes_at)}</td><td>{p.state ?? ''}</td></tr>)}</tbody>
            </table>
          </div>
        </>
      ) : null}

      {c.story ? <section aria-labelledby="story"><h2 id="story">Story, rules and baselines (README)</h2><Markdown text={c.story} shift={2} /></section> : null}
      {c.datasheet ? <section aria-labelledby="datasheet"><h2 id="datasheet">Datasheet of pool {c.pool}</h2><Datasheet sheet={c.datasheet} /></section> : null}
    </>
  );
}

// ---------------------------------------------------------------- leaderboard

function TieMark(props: { tied: boolean | null | undefined; vs: LeaderboardEntry['vs_leader']; leader?: boolean }) {
  if (props.leader) return <span class="mark-tie">leader</span>;
  if (props.tied === undefined) return <span class="muted">–</span>;
  if (props.tied === null) return <span class="muted" title={props.vs?.reason ?? ''}>{`not comparable${props.vs?.reason ? `: ${props.vs.reason}` : ''}`}</span>;
  const p = props.vs?.p_holm;
  const d = props.vs?.difference;
  // One comparison needs no correction: its p is the plain one.
  const label = p !== undefined && p === props.vs?.p_value ? 'p' : 'Holm p';
  const detail = `${d !== undefined ? `difference ${num(d)} ${interval(props.vs?.ci95)}` : ''}${p !== undefined ? `, ${label} ${num(p, 3)}` : ''}`;
  return (
    <>
      {props.tied ? <span class="mark-tie">{'≈ tied with the leader'}</span> : <span>{'below the leader'}</span>}
      {detail ? <span class="note mark-detail">{detail}</span> : null}
    </>
  );
}

function Move(props: { move: number | undefined }) {
  const m = props.move;
  if (m === undefined) return <>–</>;
  if (m === 0) return <span aria-label="same rank">=</span>;
  return m > 0 ? <span aria-label={`up ${m}`}>{`↑ ${m}`}</span> : <span aria-label={`down ${-m}`}>{`↓ ${-m}`}</span>;
}

function SignificanceText(props: { s: SignificanceNote | undefined }) {
  const s = props.s;
  if (!s) return null;
  return (
    <div class="note">
      <p><strong>{`How “tied” is decided (${s.part} part).`}</strong>{' '}{s.method ?? ''}{s.resamples !== undefined ? ` ${s.resamples} resamples, seed ${s.seed}.` : ''}</p>
      {s.test ? <p>{s.test}</p> : null}
      {s.correction ? <p>{`Correction for multiple comparisons: ${s.correction}.`}</p> : null}
      {s.tied ? <p>{s.tied}</p> : null}
    </div>
  );
}

export function LeaderboardPage(props: { c: ChallengeSummary; lb: Leaderboard; plot: DrawnPlot | null; privatePlot?: DrawnPlot | null; viewer: Viewer | null }) {
  const { c, lb } = props;
  const closed = lb.entries.some((e) => e.private_rank !== undefined) || c.state === 'closed';
  const dir = lb.primary.direction === 'max' ? 'higher is better' : 'lower is better';
  const mine = (e: LeaderboardEntry) => props.viewer && (props.viewer.role === 'organiser' || props.viewer.name === e.participant);
  const who = (e: LeaderboardEntry) => (mine(e) ? <a href={`/submissions/${enc(e.submission)}`}>{e.participant}</a> : e.participant);
  const byPublic = [...lb.entries].sort((a, b) => a.rank - b.rank);
  const byFinal = [...lb.entries].sort((a, b) => (a.private_rank ?? a.rank) - (b.private_rank ?? b.rank));
  // Three narrow tables rather than one wide one: the figures that decide the order come first,
  // next to the rank, and nothing needs sideways scrolling at a desktop width.
  return (
    <>
      <h1>{`Leaderboard: ${c.title ?? c.name}`}</h1>
      <p><Tag state={c.state} /> <a href={`/challenges/${enc(c.name)}`}>{`About ${c.name}`}</a></p>
      <p>{`Each participant's best submission on the public test rows, ranked by ${lb.primary.name} (${dir}), with its 95% bootstrap interval. `}
        {closed ? 'The challenge has closed: the private test rows decide the final ranks, and each entry shows its move from its public rank.'
          : 'The private test rows are scored too and shown when the challenge closes.'}</p>
      {lb.entries.length === 0 ? <p>No scored submission yet.</p> : (
        <>
          {closed ? (
            <>
              <h2 id="final">Final ranking (private test rows)</h2>
              <div class="scroll" tabindex={0}>
                <table>
                  <caption class="visually-hidden">{`Final ranking of ${c.name}, private test rows`}</caption>
                  <thead>
                    <tr>
                      <th scope="col" class="num">final rank</th><th scope="col">move</th><th scope="col">participant</th>
                      <th scope="col" class="num">{`${lb.primary.name} (private)`}</th><th scope="col">95% interval</th><th scope="col">vs the leader (private)</th>
                      <th scope="col" class="num">public rank</th>
                    </tr>
                  </thead>
                  <tbody>
                    {byFinal.map((e) => (
                      <tr data-participant={e.participant}>
                        <td class="num">{String(e.private_rank ?? '–')}</td><td><Move move={e.move} /></td><td>{who(e)}</td>
                        <td class="num">{num(e.private_mean)}</td><td class="num">{interval(e.private_ci95)}</td>
                        <td class="mark"><TieMark tied={e.private_tied_with_leader} vs={e.private_vs_leader} leader={e.private_rank === 1} /></td>
                        <td class="num">{String(e.rank)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {props.privatePlot ? <Plot plot={props.privatePlot} /> : null}
              <SignificanceText s={lb.private_significance} />
              <h2 id="public">Public ranking</h2>
            </>
          ) : null}
          <div class="scroll" tabindex={0}>
            <table>
              <caption class="visually-hidden">{`Leaderboard of ${c.name}, public test rows`}</caption>
              <thead>
                <tr>
                  <th scope="col" class="num">{closed ? 'public rank' : 'rank'}</th>
                  <th scope="col">participant</th>
                  <th scope="col" class="num">{`${lb.primary.name} (public)`}</th>
                  <th scope="col">95% interval</th>
                  <th scope="col">vs the leader (public)</th>
                  <th scope="col" class="num">submissions</th>
                  <th scope="col">best submitted</th>
                </tr>
              </thead>
              <tbody>
                {byPublic.map((e) => (
                  <tr data-participant={e.participant}>
                    <td class="num">{String(e.rank)}</td>
                    <td>{who(e)}</td>
                    <td class="num">{num(e.primary.mean)}</td>
                    <td class="num">{interval(e.primary.ci95)}</td>
                    <td class="mark"><TieMark tied={e.tied_with_leader} vs={e.vs_leader} leader={e.rank === 1} /></td>
                    <td class="num">{String(e.submissions)}</td>
                    <td class="day-time">{when(e.submitted_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {props.plot ? <Plot plot={props.plot} /> : null}
          <SignificanceText s={lb.significance} />
          {lb.columns.length ? (
            <>
              <h2 id="metrics">{"The challenge's other metrics (public test rows)"}</h2>
              <div class="scroll" tabindex={0}>
                <table class="metrics">
                  <caption class="visually-hidden">{`Other metrics of each entry of ${c.name}, public test rows`}</caption>
                  <thead><tr><th scope="col">participant</th>{lb.columns.map((n) => <th scope="col" class="num metric">{breakable(n)}</th>)}</tr></thead>
                  <tbody>{byPublic.map((e) => <tr><td>{who(e)}</td>{lb.columns.map((n) => <td class="num">{num(e.metrics[n])}</td>)}</tr>)}</tbody>
                </table>
              </div>
            </>
          ) : null}
        </>
      )}
    </>
  );
}

// ---------------------------------------------------------------- submission page

function MetricTable(props: { metrics: Record<string, MetricSummary>; primary: string; caption: string }) {
  const names = Object.keys(props.metrics).sort((a, b) => Number(b === props.primary) - Number(a === props.primary));
  return (
    <div class="scroll" tabindex={0}>
      <table>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead><tr><th scope="col">metric</th><th scope="col" class="num">mean</th><th scope="col" class="num">± std over seeds</th><th scope="col">95% interval</th><th scope="col">note</th></tr></thead>
        <tbody>
          {names.map((n) => {
            const m = props.metrics[n];
            return (
              <tr>
                <th scope="row">{n === props.primary ? <strong>{`${n} (primary)`}</strong> : n}</th>
                <td class="num">{num(m.mean)}</td>
                <td class="num">{num(m.std)}</td>
                <td class="num">{interval(m.ci95)}{m.ci_extended ? ' *' : ''}</td>
                <td class="note">{m.note ?? (m.ci_extended ? '* widened to reach the mean' : '')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function CountTable(props: { title: string; counts: Record<string, number> }) {
  const total = Object.values(props.counts).reduce((s, x) => s + x, 0);
  return (
    <div class="scroll" tabindex={0}>
      <table>
        <caption>{props.title}</caption>
        <thead><tr><th scope="col">value</th><th scope="col" class="num">rows</th><th scope="col" class="num">share</th></tr></thead>
        <tbody>{Object.entries(props.counts).map(([k, v]) => <tr><td>{k}</td><td class="num">{String(v)}</td><td class="num">{total ? `${((100 * v) / total).toFixed(1)}%` : '–'}</td></tr>)}</tbody>
      </table>
    </div>
  );
}

/** A strategy's scores on the challenge's hidden variant pools, with their interval (or why there are none). */
function Variants(props: { g: RecordView['generalisation'] }) {
  const g = props.g;
  if (!g) return null;
  if (!('variants' in g)) return <p class="note">{g.note}</p>;
  return (
    <>
      <h2 id="variants">Hidden variants</h2>
      <p class="headline">{`Generalisation: ${g.primary.name} ${num(g.mean)} ${interval(g.ci95)} over ${g.n} hidden variant pool(s); public ${num(g.public)}, gap ${num(g.gap)}.`}</p>
      <table>
        <caption>{`${g.primary.name} on each variant's ${g.primary.part} test rows (the strategy re-run on a pool it never saw)`}</caption>
        <thead><tr><th scope="col">variant seed</th><th scope="col">{g.primary.name}</th><th scope="col">pool content hash</th></tr></thead>
        <tbody>
          {g.variants.map((v) => <tr><td>{String(v.seed)}</td><td>{v.primary === null ? `failed: ${v.error ?? ''}` : num(v.primary)}</td><td><code class="hash">{v.content_hash.slice(0, 16)}</code></td></tr>)}
        </tbody>
      </table>
      <p class="note">{g.interval}</p>
      {g.note ? <p class="note">{g.note}</p> : null}
    </>
  );
}

export function SubmissionPage(props: { s: SubmissionDetail; plots: DrawnPlot[]; csrf: string; canCancel: boolean; notice?: string }) {
  const { s } = props;
  const job = s.job;
  const r = s.record;
  const state = job?.state ?? (r ? 'done' : 'queued');
  const hidden = r?.private && 'hidden' in r.private ? r.private : null;
  const priv = r?.private && !('hidden' in r.private) ? r.private : null;
  return (
    <>
      <h1>{`Submission ${s.file}`}</h1>
      {props.notice ? <p class="notice" role="status">{props.notice}</p> : null}
      <p data-state={state}><Tag state={state} /> {' '}<a href={`/challenges/${enc(s.challenge)}`}>{s.challenge}</a>{' · '}<a href={`/challenges/${enc(s.challenge)}/leaderboard`}>leaderboard</a></p>
      <Facts rows={[
        ['submission', <code class="hash">{s.id}</code>],
        ['file', `${s.file} (${bytes(s.bytes)})`],
        ['sha256', <code class="hash">{s.sha256}</code>],
        ['submitted', when(s.created_at)],
        ...(job ? [['job', <><code class="hash">{job.id}</code>{` · attempt ${job.attempts} of ${job.max_attempts}`}</>] as [string, Child]] : []),
      ]} />
      {state === 'queued' || state === 'running' ? (
        <div role="status">
          <p>{state === 'queued'
            ? job?.retry_at ? `An attempt failed; it is retried at ${when(job.retry_at)} at the earliest. ` : 'Waiting for a worker. '
            : 'Being evaluated. '}This page reloads itself every few seconds until the result is in.</p>
          {props.canCancel ? (
            <form method="post" action={`/jobs/${enc(job!.id)}/cancel`}>
              <input type="hidden" name="csrf" value={props.csrf} />
              <button type="submit">Cancel this submission</button> <span class="note">(it then does not count against your caps)</span>
            </form>
          ) : null}
        </div>
      ) : null}
      {state === 'failed' ? <ErrorBox title="The evaluation failed" error={{ message: job?.error ?? 'no reason recorded' }} /> : null}
      {state === 'cancelled' ? <p>Cancelled: this submission does not count against your caps.</p> : null}
      {r ? (
        <>
          <h2 id="score">Score</h2>
          <p class="headline"><strong>{`${r.primary.name} ${num(r.primary.mean)}`}</strong>{` ${interval(r.metrics[r.primary.name]?.ci95)} on ${r.test.public_rows} public test rows (${r.primary.direction === 'max' ? 'higher is better' : 'lower is better'})`}</p>
          {hidden ? <p class="muted">{`Private: ${r.test.private_rows} test rows scored and stored; shown when the challenge closes${hidden.until ? ` (${hidden.until})` : ''}.`}</p> : null}
          <h3>Every metric, public test rows</h3>
          <MetricTable metrics={r.metrics} primary={r.primary.name} caption="metrics on the public test rows" />
          {priv ? (
            <>
              <h3>Every metric, private test rows</h3>
              <MetricTable metrics={priv.metrics} primary={r.primary.name} caption="metrics on the private test rows" />
            </>
          ) : null}
          <Variants g={r.generalisation} />
          {props.plots.length ? <><h2 id="plots">Plots</h2><div class="plots">{props.plots.map((p) => <Plot plot={p} />)}</div></> : null}
          {r.ranking ? <p>{r.ranking.noisy_fixed === undefined
            ? `The ranking holds ${r.ranking.rows} rows (pool of ${r.ranking.pool_rows}; the model is refitted every ${r.ranking.step} fixes); how many of the ${r.ranking.noisy_rows} rows with a wrong label it reached is shown after the challenge closes.`
            : `The ranking reached ${r.ranking.noisy_fixed} of the ${r.ranking.noisy_rows} rows with a wrong label among its ${r.ranking.rows} rows (pool of ${r.ranking.pool_rows}; the model is refitted every ${r.ranking.step} fixes).`}</p> : null}
          <h2 id="subset">What was submitted</h2>
          <p>{`${r.subset.rows} rows${r.subset.changed !== undefined ? `, ${r.subset.changed} of them changing a label` : ''}.`}</p>
          <div class="plots">
            {Object.keys(r.subset.class_counts).length ? <CountTable title="rows per class" counts={r.subset.class_counts} /> : null}
            {Object.entries(r.subset.group_counts).map(([g, counts]) => <CountTable title={`rows per ${g}`} counts={counts} />)}
          </div>
          <AuditSummary audit={s.audit} submission={s.id} />
          <h2 id="provenance">To re-run it</h2>
          <Facts rows={[
            ...(r.strategy ? [['strategy', <>{`${r.strategy.kind} strategy ${r.strategy.path}, seed ${r.strategy.seed}, sha256 `}<code class="hash">{r.strategy.sha256}</code></>] as [string, Child]] : []),
            ['pool', <>{r.pool.name} <code class="hash">{r.pool.content_hash}</code></>],
            ['model', `${r.model.kind}, seeds ${r.seeds.join(', ')}`],
            ['bootstrap', `${r.bootstrap.samples} resamples, seed ${r.bootstrap.seed}`],
            ['evaluator', `${r.evaluator.version} (sieve ${r.sieve.version})`],
            ['record', <a href={`/submissions/${enc(s.id)}/record.json`} download={`${s.id}.json`}>the result record (JSON)</a>],
          ]} />
          {r.convergence?.note ? <p class="note">{String(r.convergence.note)}</p> : null}
        </>
      ) : null}
    </>
  );
}

// ---------------------------------------------------------------- participant, organiser, forms

export function MePage(props: { me: Me; challenges: ChallengeSummary[]; csrf: string }) {
  const { me } = props;
  return (
    <>
      <h1>{me.participant.name}</h1>
      <p class="muted">{`${me.participant.role} · id ${me.participant.id}`}</p>
      <h2>Submissions left</h2>
      <div class="scroll" tabindex={0}>
        <table>
          <thead><tr><th scope="col">challenge</th><th scope="col" class="num">used today</th><th scope="col" class="num">left today</th><th scope="col" class="num">used in all</th><th scope="col" class="num">left in all</th></tr></thead>
          <tbody>{me.quota.map((q) => (
            <tr><td><a href={`/challenges/${enc(q.challenge)}`}>{q.challenge}</a></td><td class="num">{String(q.used_today)}</td><td class="num">{q.left_today ?? 'no cap'}</td><td class="num">{String(q.used_total)}</td><td class="num">{q.left_total ?? 'no cap'}</td></tr>
          ))}</tbody>
        </table>
      </div>
      <p class="note">Cancelled submissions, and those that failed for reasons of the server's, do not count.</p>
      <h2>Your submissions</h2>
      {me.submissions.length === 0 ? <p>None yet: pick a challenge on the <a href="/">list</a>.</p> : (
        <div class="scroll" tabindex={0}>
          <table>
            <thead><tr><th scope="col">submitted</th><th scope="col">challenge</th><th scope="col">file</th><th scope="col">state</th><th scope="col" class="num">public score</th></tr></thead>
            <tbody>{[...me.submissions].reverse().map((s) => (
              <tr>
                <td>{when(s.created_at)}</td>
                <td>{s.challenge}</td>
                <td><a href={`/submissions/${enc(s.id)}`}>{s.file}</a></td>
                <td><Tag state={s.job.state} /></td>
                <td class="num">{num(s.primary_public)}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
      {me.participant.role === 'participant' ? (
        <>
          <h2>Your token</h2>
          <p>Signing out ends this browser's session only: the token itself keeps working wherever it was copied. If it may have leaked, replace it: the old one stops working at once, here and on the command line.</p>
          <form method="post" action="/me/token">
            <input type="hidden" name="csrf" value={props.csrf} />
            <button type="submit">Replace my token</button>
          </form>
        </>
      ) : null}
    </>
  );
}

function StateForm(props: { challenge: string; to: 'open' | 'close'; csrf: string }) {
  return (
    <form method="post" action={`/organiser/challenges/${enc(props.challenge)}/${props.to}`}>
      <input type="hidden" name="csrf" value={props.csrf} />
      <button type="submit">{props.to === 'open' ? `Open ${props.challenge}` : `Close ${props.challenge} now`}</button>
    </form>
  );
}

/** `actions` null: this server has no organiser endpoints (no action log), so no open/close buttons either. */
export function OrganiserPage(props: { jobs: JobList; challenges: ChallengeSummary[]; actions: ActionEntry[] | null; csrf: string }) {
  const { jobs } = props;
  return (
    <>
      <h1>Organiser</h1>
      <h2>Challenges</h2>
      <p class="note">Closing shows every leaderboard's private part and final ranks, and stops submissions; it is logged with who and when.</p>
      <div class="scroll" tabindex={0}>
        <table>
          <thead><tr><th scope="col">challenge</th><th scope="col">state</th><th scope="col">closes (spec)</th><th scope="col">change</th></tr></thead>
          <tbody>{props.challenges.map((c) => (
            <tr>
              <td><a href={`/challenges/${enc(c.name)}`}>{c.name}</a></td>
              <td><Tag state={c.state} /></td>
              <td>{c.closes ?? '–'}</td>
              <td>{!props.actions ? '–' : c.state === 'open' ? <StateForm challenge={c.name} to="close" csrf={props.csrf} /> : <StateForm challenge={c.name} to="open" csrf={props.csrf} />}</td>
            </tr>
          ))}</tbody>
        </table>
      </div>
      <h2>Evaluation queue</h2>
      <p>{Object.entries(jobs.counts).map(([k, v]) => <><Tag state={k} />{` ${v}  `}</>)}</p>
      {jobs.jobs.length === 0 ? <p>No submission yet.</p> : (
        <div class="scroll" tabindex={0}>
          <table>
            <thead><tr><th scope="col">submitted</th><th scope="col">challenge</th><th scope="col">participant</th><th scope="col">file</th><th scope="col">state</th><th scope="col" class="num">attempts</th><th scope="col" class="num">public score</th><th scope="col">reason</th></tr></thead>
            <tbody>{[...jobs.jobs].reverse().map((j) => (
              <tr>
                <td class="when">{when(j.created_at)}</td><td>{j.challenge}</td><td>{j.participant_name ?? <code>{j.participant}</code>}</td>
                <td class="file"><a href={`/submissions/${enc(j.submission)}`}>{j.file}</a></td><td><Tag state={j.state} /></td>
                <td class="num">{`${j.attempts} / ${j.max_attempts}`}</td><td class="num">{num(j.primary_public)}</td><td class="reason">{j.error ?? ''}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
      {props.actions ? (
        <>
          <h2>Action log</h2>
          {props.actions.length === 0 ? <p>No organiser action yet.</p> : (
            <div class="scroll" tabindex={0}>
              <table>
                <thead><tr><th scope="col">when</th><th scope="col">who</th><th scope="col">action</th><th scope="col">challenge</th><th scope="col">detail</th></tr></thead>
                <tbody>{[...props.actions].reverse().map((a) => (
                  <tr><td class="when">{when(a.at)}</td><td>{a.actor_name ?? <code>{a.actor}</code>}</td><td>{a.action}</td><td>{a.challenge ?? '–'}</td><td class="reason"><code>{JSON.stringify(a.detail)}</code></td></tr>
                ))}</tbody>
              </table>
            </div>
          )}
        </>
      ) : null}
    </>
  );
}

export function RegisterPage(props: { csrf: string; name?: string; error?: ApiErrorBody }) {
  return (
    <>
      <h1>Register</h1>
      <p>Pick a name for the leaderboard. You get an API token, shown once: this browser keeps it in a cookie that no script can read,
        and <code>sieve submit</code> takes it from <code>--token</code> or <code>SIEVE_TOKEN</code>.</p>
      {props.error ? <ErrorBox title="Not registered" id="form-error" error={props.error} /> : null}
      <form class="stack" method="post" action="/register">
        <input type="hidden" name="csrf" value={props.csrf} />
        <label for="name">Name</label>
        {/* A refused name is marked invalid and tied to the message, so a screen reader says why. */}
        <input id="name" name="name" type="text" required maxlength={64} autocomplete="nickname" value={props.name ?? ''} aria-describedby={props.error ? 'form-error name-help' : 'name-help'} aria-invalid={props.error ? 'true' : undefined} autofocus={props.error ? true : undefined} />
        <p id="name-help" class="note">1 to 64 letters, digits, spaces, “.”, “_” or “-”, starting with a letter or digit.</p>
        <div><button type="submit">Register</button></div>
      </form>
      <p>Registered already? <a href="/signin">Sign in with your token</a>.</p>
    </>
  );
}

export function TokenPage(props: { name: string; token: string; server: string; replaced?: boolean }) {
  return (
    <>
      <h1>{props.replaced ? `New token for ${props.name}` : `Welcome, ${props.name}`}</h1>
      <div class="notice" role="status">
        <p><strong>{props.replaced ? 'Your new API token, shown only this once; the old one no longer works.' : 'Your API token, shown only this once.'}</strong> The server keeps only a salted hash of it: save it now (a password manager, or a file only you can read).</p>
        <code class="token" id="token">{props.token}</code>
      </div>
      <p>This browser is signed in. From the command line:</p>
      <pre><code>{`export SIEVE_SERVER=${props.server}\nexport SIEVE_TOKEN=…   # the token above\nsieve submit CHALLENGE FILE`}</code></pre>
      <p><a href="/">Pick a challenge</a> · <a href="/me">your page</a></p>
    </>
  );
}

export function SignInPage(props: { csrf: string; error?: { message?: string; where?: string; examples?: string[] } }) {
  return (
    <>
      <h1>Sign in</h1>
      {props.error ? <ErrorBox title="Not signed in" id="form-error" error={props.error} /> : null}
      <form class="stack" method="post" action="/signin">
        <input type="hidden" name="csrf" value={props.csrf} />
        <label for="token">API token</label>
        <input id="token" name="token" type="password" required autocomplete="current-password" spellcheck={false} aria-describedby={props.error ? 'form-error' : undefined} aria-invalid={props.error ? 'true' : undefined} autofocus={props.error ? true : undefined} />
        <p class="note">The token registration gave you (<code>sieve_par_…</code>, or the organiser's from <code>sieve serve --init</code>). It is sent in the form's body, never in a URL.</p>
        <div><button type="submit">Sign in</button></div>
      </form>
      <p>No token yet? <a href="/register">Register</a>.</p>
    </>
  );
}

export function ErrorPage(props: { status: number; error: { message?: string; where?: string; examples?: string[] } }) {
  return (
    <>
      <h1>{props.status === 404 ? 'Not found' : props.status === 401 ? 'Sign in needed' : props.status === 403 ? 'Not allowed' : 'Something went wrong'}</h1>
      <ErrorBox title={`Error ${props.status}`} error={props.error} />
      {props.status === 401 ? <p><a href="/signin">Sign in</a> or <a href="/register">register</a>.</p> : null}
      <p><a href="/">All challenges</a></p>
    </>
  );
}
