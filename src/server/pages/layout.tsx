/**
 * The frame every page shares: one stylesheet (served by the pages, no inline style, so the
 * Content-Security-Policy allows no inline style or script at all), a skip link, the site
 * navigation with the signed-in participant, and a main landmark. Readable from 320 px up:
 * wide tables and plots scroll inside their own box (each box takes the keyboard focus, so
 * it scrolls from the keyboard too). Plots keep the size they were drawn at: scaled down to a
 * phone's column their text would be 4 to 6 px tall.
 */
import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import type { DrawnPlot } from './plots.ts';

export interface Viewer {
  id: string;
  name: string;
  role: 'participant' | 'organiser';
}

export const CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0b5cad;--warn:#9a6700;--bad:#b42318;--ok:#1a7f37;--soft:#f6f8fa}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);overflow-wrap:break-word}
table{overflow-wrap:normal}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid #b45309;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0}.skip:focus{left:8px;top:8px;background:#fff;padding:6px 10px;z-index:2}
header.site{border-bottom:1px solid var(--line);background:var(--soft)}
header.site nav{max-width:64rem;margin:0 auto;padding:8px 16px;display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center}
header.site .brand{font-weight:700;text-decoration:none;color:var(--fg);margin-right:auto}
header.site form{display:inline;margin:0}
main{max-width:64rem;margin:0 auto;padding:12px 16px 48px}
h1{font-size:1.6rem;line-height:1.25;margin:16px 0 8px}h2{font-size:1.25rem;margin:28px 0 8px}h3{font-size:1.05rem;margin:20px 0 6px}
p,li{max-width:46rem}
code,pre{font:0.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--soft);border:1px solid var(--line);padding:10px;overflow-x:auto;white-space:pre}
code{background:var(--soft);padding:0 3px;border-radius:3px}pre code{background:none;padding:0}
.scroll{overflow-x:auto;max-width:100%;margin:8px 0}
table{border-collapse:collapse;font-size:.92rem}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.muted,.note{color:var(--muted)}.note{font-size:.92rem}
.tag{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 8px;font-size:.85rem;white-space:nowrap}
.state-open,.state-done{color:var(--ok);border-color:var(--ok)}.state-closed,.state-cancelled{color:var(--muted)}
.state-failed{color:var(--bad);border-color:var(--bad)}.state-queued,.state-running{color:var(--warn);border-color:var(--warn)}
.error{border:2px solid var(--bad);background:#fff5f5;padding:10px 14px;margin:12px 0}
.error h2{margin:0 0 4px;font-size:1.05rem;color:var(--bad)}
.notice{border:2px solid var(--ok);background:#f3fbf5;padding:10px 14px;margin:12px 0}
.token{display:block;padding:8px;background:var(--soft);border:1px dashed var(--muted);user-select:all}
form.stack{display:grid;gap:10px;max-width:32rem}
label{font-weight:600}
input[type=text],input[type=password],input[type=file]{font:inherit;padding:6px 8px;border:1px solid var(--muted);border-radius:4px;width:100%;max-width:32rem;background:#fff}
button{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.link{background:none;border:none;color:var(--accent);padding:0;text-decoration:underline}
ul.cards{list-style:none;padding:0;display:grid;gap:12px}
ul.cards li{border:1px solid var(--line);border-radius:6px;padding:10px 14px;max-width:none}
ul.cards h2{margin:0 0 4px;font-size:1.1rem}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px}dl.facts dt{font-weight:600}dl.facts dd{margin:0;min-width:0}
code.hash{word-break:break-all}
td.note{min-width:14rem}
figure.plot{margin:12px 0;max-width:100%;min-width:0}figure.plot figcaption{font-weight:600;font-size:.92rem;margin-bottom:4px}
figure.plot .plot-box{overflow-x:auto;max-width:100%}figure.plot svg{display:block}
.plots{display:flex;flex-wrap:wrap;gap:0 24px}
.mark-tie{font-weight:600}
td.mark{min-width:10rem;max-width:15rem}td.when{white-space:nowrap}td.day-time{min-width:6.5rem}.mark-detail{display:block}
td.reason{min-width:10rem;max-width:22rem;overflow-wrap:anywhere}td.file{max-width:14rem;overflow-wrap:anywhere}th.metric{max-width:9rem;white-space:normal;overflow-wrap:normal}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){body{font-size:15px}h1{font-size:1.35rem}dl.facts{grid-template-columns:minmax(0,1fr)}dl.facts dd{margin-bottom:6px}}
`;

export function Layout(props: { title: string; viewer: Viewer | null; csrf: string; refreshSeconds?: number; refreshStopped?: boolean; path?: string; children?: Child }) {
  const v = props.viewer;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {props.refreshSeconds ? <meta http-equiv="refresh" content={String(props.refreshSeconds)} /> : null}
        <title>{`${props.title} · sieve`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/sieve.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to the content</a>
        <header class="site">
          <nav aria-label="site">
            <a class="brand" href="/">sieve challenges</a>
            {v ? (
              <>
                <span><span class="muted">signed in as </span><a href="/me">{v.name}</a></span>
                {v.role === 'organiser' ? <a href="/organiser">organiser page</a> : null}
                <form method="post" action="/signout">
                  <input type="hidden" name="csrf" value={props.csrf} />
                  <button class="link" type="submit">sign out</button>
                </form>
              </>
            ) : (
              <>
                <a href="/register">register</a>
                <a href="/signin">sign in</a>
              </>
            )}
          </nav>
        </header>
        <main id="main">
          {props.refreshSeconds ? <p class="note" role="status">{`This page reloads itself every ${props.refreshSeconds} s until the work is done. `}<a href={`${props.path ?? ''}?refresh=off`}>Stop reloading</a></p> : null}
          {props.refreshStopped ? <p class="note" role="status">{'Reloading stopped: reload the page to see progress, or '}<a href={props.path ?? ''}>reload it automatically again</a>.</p> : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A plot with its caption, and its alternative text for screen readers. */
export function Plot(props: { plot: DrawnPlot }) {
  const p = props.plot;
  return (
    <figure class="plot">
      <figcaption>{p.title}</figcaption>
      {p.svg ? <div class="plot-box" tabindex={0} role="img" aria-label={p.alt}>{raw(p.svg)}</div> : <p class="note">{`The plot could not be drawn: ${p.error ?? 'unknown error'}`}</p>}
    </figure>
  );
}

/** An API error as the page shows it: message, field, examples (all escaped). */
export function ErrorBox(props: { title?: string; id?: string; error: { code?: string; message?: string; where?: string; examples?: string[] } }) {
  const e = props.error;
  return (
    <div class="error" role="alert" id={props.id}>
      <h2>{props.title ?? 'Not done'}</h2>
      <p>{e.message ?? 'the server refused the request'}{e.where ? <span class="muted">{` (${e.where})`}</span> : null}</p>
      {e.examples?.length ? <ul>{e.examples.map((x) => <li><code>{x}</code></li>)}</ul> : null}
    </div>
  );
}

export function Tag(props: { state: string }) {
  return <span class={`tag state-${props.state.replace(/[^a-z]/g, '')}`}>{props.state}</span>;
}
