/**
 * The audit report's style: the whole of it for the self-contained HTML file (src/report/html.ts),
 * and, scoped under one selector, the part a page needs that shows the report's sections inside
 * its own frame (the server's audit page). Import-free, so a page can serve it without loading
 * the report's renderer.
 */
export const STYLE = `
:root{--ok:#2e7d32;--info:#1565c0;--warning:#935700;--problem:#c62828;--muted:#666;--line:#e3e3e3}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:24px;color:#1d1d1d;line-height:1.45}
h1{margin:0 0 4px;font-size:1.7rem}h2{margin:32px 0 12px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{margin:0 0 8px}h4,h3.scope{margin:0 0 6px;font-size:.95rem;color:#333}
.muted{color:var(--muted);font-size:.85rem;margin:4px 0}.meta{color:var(--muted)}
.note{background:#fff8e1;border-left:4px solid var(--warning);padding:6px 10px}
.verdict{border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:6px;padding:12px 14px;background:#fff}
.verdict.sev-ok{border-left-color:var(--ok)}.verdict.sev-info{border-left-color:var(--info)}
.verdict.sev-warning{border-left-color:var(--warning)}.verdict.sev-problem{border-left-color:var(--problem)}
.verdict-text{margin:6px 0}
.badge{display:inline-block;white-space:nowrap;font-size:.75rem;font-weight:600;color:#fff;border-radius:10px;padding:1px 8px;text-transform:uppercase;letter-spacing:.03em}
.badge.sev-ok{background:var(--ok)}.badge.sev-info{background:var(--info)}.badge.sev-warning{background:var(--warning)}.badge.sev-problem{background:var(--problem)}
.side-by-side{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:12px}
table{border-collapse:collapse;font-size:.85rem}td,th{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}table.figures{margin-top:8px;width:100%}
.plot-group{margin-bottom:20px}.plots{display:flex;flex-wrap:wrap;gap:18px}
figure.plot{margin:0;max-width:100%;min-width:0}figure.plot figcaption{font-weight:600;font-size:.9rem;margin-bottom:4px}
figure.plot .plot-box{overflow-x:auto;max-width:100%}figure.plot svg{display:block}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px;width:120px;font-size:.8rem;background:#fafafa;position:relative}
.card.flagged{border-color:#f2b8b5}
.suspects .card{width:124px;padding-top:16px}.card .rank{position:absolute;top:2px;left:8px;color:var(--muted);font-size:.7rem}
img.thumb{display:block;image-rendering:pixelated;width:84px;height:84px;margin:0 auto 6px;background:#000}
.rowtext{margin:0 0 6px;font-size:.75rem;overflow-wrap:anywhere}.rowtext .field{display:inline-block;margin-right:6px}
.suspects .card:has(.rowtext),.clusters .card:has(.rowtext){width:260px}
section.analyser{border-top:1px solid var(--line);margin-top:28px}section.analyser>h2{border:0;margin-bottom:8px}
section.analyser>.plots{margin:14px 0}.tables{margin-top:8px}
table.summary{width:100%}table.summary td{vertical-align:top;overflow-wrap:break-word}table.summary td:last-child{min-width:0}
a{color:var(--info)}
.labels{font-weight:600}.given{color:var(--problem)}.suggested{color:var(--ok)}
.cluster-list{display:flex;flex-wrap:wrap;gap:10px 28px}.cluster{margin-bottom:14px}.skipped{color:var(--muted)}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}.scroll{overflow-x:auto;max-height:420px}.wide{overflow-x:auto;max-width:100%}
footer{margin-top:40px;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line);padding-top:8px}
@media print{figure.plot .plot-box{overflow:visible}figure.plot svg{max-width:100%;height:auto}.scroll,.wide{overflow:visible;max-height:none}}
@media (max-width:40rem){.side-by-side{grid-template-columns:minmax(0,1fr)}body{padding:12px}
table.summary,table.summary tbody,table.summary tr,table.summary td{display:block;width:100%}table.summary tr:first-child{display:none}
table.summary tr{border-bottom:1px solid var(--line);padding:6px 0}table.summary td{border:0;padding:2px 0}
table.summary td[data-label]{display:inline-block;width:auto;margin-right:10px}table.summary td[data-label]::before{content:attr(data-label) " ";color:var(--muted);font-size:.8rem}}
`;

/** The report's style, for a page that shows the sections inside `scope` (rules that style the document itself left out). */
export function reportStyle(scope: string): string {
  const prefix = (selectors: string) => selectors.split(',').map((x) => {
    const t = x.trim();
    return t === ':root' ? scope : `${scope} ${t}`;
  }).join(',');
  const rules = (css: string): string => css.replace(/([^{}]+)\{([^{}]*)\}/g, (_m, sel: string, body: string) => `${prefix(sel)}{${body}}`);
  const docOnly = /^(body|h1|footer|\*)$/;
  const kept = STYLE.replace(/([^{}@]+)\{([^{}]*)\}/g, (m, sel: string) => (sel.split(',').every((x) => docOnly.test(x.trim())) ? '' : m));
  return kept.replace(/(@media[^{]+)\{((?:[^{}]*\{[^{}]*\})*)\s*\}/g, (_m, media: string, inner: string) => `${media}{${rules(inner)}}`)
    .split(/(@media[^{]+\{(?:[^{}]*\{[^{}]*\})*\s*\})/).map((part) => (part.startsWith('@media') ? part : rules(part))).join('');
}

