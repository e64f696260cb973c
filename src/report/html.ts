import { basename } from 'node:path';
import { plotAltText } from './plot-alt.ts';
import type { AuditBundle, AuditReport, AuditResult } from '../analysers/audit.ts';
import type { Finding, PlotSpec, Severity } from '../analysers/types.ts';
import type { PoolSplit } from '../pool/types.ts';
import { writeFileAtomically } from '../util/atomic.ts';
import { SIEVE_VERSION } from '../version.ts';
import { countFlagged, givenLabelOf, labelErrorResult, suggestedLabelOf, topFindings } from './findings.ts';
import { pngDataUri } from './png.ts';
import { renderVegaLiteToSvg } from './plots.ts';
import { oosHeaderText } from './header.ts';
import { STYLE } from './style.ts';

/**
 * The shareable audit report: one self-contained HTML file that opens offline. No script, no
 * stylesheet, font or image is fetched: plots are rendered to inline SVG here, thumbnails are
 * PNG data URIs, styles are inline. Order: a summary (one line per analyser, linked), then one
 * section per analyser with its verdict, figures, plots, the rows it points at (label-error
 * suspects, duplicate clusters) and its tables, so each plot sits next to its verdict. With a
 * subset audit, subset and pool figures sit side by side.
 */

export interface HtmlReportOptions {
  /** Label-error suspects shown (default 24). */
  topLabelErrors?: number;
  /** Duplicate clusters shown (default 8), members per cluster (default 6). */
  topClusters?: number;
  clusterMembers?: number;
  /** Rows shown per extra table (default 50). */
  maxTableRows?: number;
  /** Show only the subset's rows (cards), not the whole pool's, when there is a subset (a server's audit page). */
  subsetRowsOnly?: boolean;
  /** What a cut table says about where its other rows are (default: the DuckDB file of `sieve audit --db`). */
  moreRows?: string;
}

const DEFAULTS: Required<HtmlReportOptions> = {
  topLabelErrors: 24, topClusters: 8, clusterMembers: 6, maxTableRows: 50, subsetRowsOnly: false, moreRows: 'all rows are in the DuckDB table (--db FILE)',
};

export interface HtmlReport {
  html: string;
  /** Plots that failed to render (shown as a note in the report too). */
  warnings: string[];
}

/**
 * What a report shows of one row: its given label and either a thumbnail (pools with pixels)
 * or its text column or its fields. Made from the audited split (rowView); a server stores the
 * views of the rows its audit page shows, so the page renders without the pool.
 */
export interface RowView {
  label: string;
  /** A PNG data URI and its size in pixels. */
  thumb?: { uri: string; width: number; height: number };
  /** The row's text column (cut to 280 characters). */
  text?: string;
  /** Every field otherwise: group columns, numeric values, the category of each one-hot block, vector sizes. */
  fields?: [string, string][];
}

/** Rows by id, for the report's cards. */
export interface RowLookup {
  view(id: string): RowView | undefined;
  /** True when the rows are pictures (more cards fit a screen). */
  pixels: boolean;
}

/**
 * An analyser's result as the sections render it: its findings may be only the top ones (a
 * stored report), and then `counts` holds the totals they were cut from.
 */
export type HtmlResult = AuditResult & { counts?: { total: number; flagged: number }; tableRows?: Record<string, number> };

/** An audit report as the sections render it: row views by id instead of the split, the class counts for the histogram. */
export type HtmlReportInput = Omit<AuditReport, 'train' | 'results'> & { results: HtmlResult[]; rowViews: RowLookup; classCounts: number[] };

export interface HtmlBundle {
  pool: HtmlReportInput;
  subset?: HtmlReportInput;
}

/** Verdict cards list up to this many figures openly; more fold into a <details>. */
const FIGURES_SHOWN = 8;

const SEVERITY_LABEL: Record<Severity, string> = { ok: 'OK', info: 'info', warning: 'warning', problem: 'problem' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    const a = Math.abs(v);
    return a !== 0 && (a < 0.001 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

/** Prefixes every id inside an SVG (and references to them), so several inline SVGs never clash. */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\sid="([^"]+)"/g, (_m, id) => ` id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id) => `url(#${prefix}-${id})`)
    .replace(/(xlink:href|href)="#([^"]+)"/g, (_m, attr, id) => `${attr}="#${prefix}-${id}"`);
}

/** The report's view of row `row` of `split`. */
export function rowView(split: PoolSplit, row: number): RowView {
  const label = split.classNames[split.labels[row]] ?? '?';
  const px = split.pixels;
  if (px && (px.channels === 1 || px.channels === 3 || px.channels === 4)) {
    const size = px.width * px.height * px.channels;
    return { label, thumb: { uri: pngDataUri(px.width, px.height, px.channels, px.data.subarray(row * size, (row + 1) * size)), width: px.width, height: px.height } };
  }
  if (split.text) {
    const [name, values] = Object.entries(split.text)[0] ?? [];
    if (name && values) {
      const t = values[row] ?? '';
      return { label, text: t.length > 280 ? `${t.slice(0, 280)}…` : t };
    }
  }
  return { label, fields: rowFields(split, row) };
}

/** A split's rows by id, each view made once, when first shown. */
export function splitRows(split: PoolSplit): RowLookup {
  let index: Map<string, number> | null = null;
  const views = new Map<number, RowView>();
  return {
    pixels: !!split.pixels,
    view(id) {
      if (!index) {
        index = new Map();
        split.ids.forEach((x, i) => index!.set(x, i));
      }
      const row = index.get(id);
      if (row === undefined) return undefined;
      let v = views.get(row);
      if (!v) views.set(row, (v = rowView(split, row)));
      return v;
    },
  };
}

/** Rows per class of a split, in class order. */
export function classCounts(split: PoolSplit): number[] {
  const counts = new Array<number>(split.classNames.length).fill(0);
  for (let i = 0; i < split.n; i++) counts[split.labels[i]]++;
  return counts;
}

/** A report with its split, as the sections take it. */
export function htmlInput(report: AuditReport): HtmlReportInput {
  const { train, ...rest } = report;
  return { ...rest, rowViews: splitRows(train), classCounts: classCounts(train) };
}

function thumbnail(view: RowView, alt: string): string | null {
  const t = view.thumb;
  if (!t) return null;
  return `<img class="thumb" src="${escapeHtml(t.uri)}" width="${t.width * 3}" height="${t.height * 3}" alt="${escapeHtml(alt)}">`;
}

/**
 * A row for pools without pixels: its text column, else every field — group columns, numeric
 * values, the category set in each one-hot block ("purpose=car" reads as purpose car). Wide
 * vector columns ("emb[0]" … "emb[63]") are summarised by their size.
 */
/** A float32 feature value as stored: the shortest decimal that reads back to the same float32 (47857.1, not 47860 or 47857.1015625). */
export function storedValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(v);
}

function rowFields(split: PoolSplit, row: number): [string, string][] {
  const parts: ([string, string] | string)[] = [];
  for (const [g, vals] of Object.entries(split.groups)) parts.push([g, vals[row] ?? '(missing)']);
  const vectors = new Map<string, number>();
  const oneHot = new Map<string, string | null>();
  for (let j = 0; j < split.d; j++) {
    const name = split.featureNames[j] ?? `x${j}`;
    const v = split.features[row * split.d + j];
    const vec = /^(.*)\[\d+\]$/.exec(name);
    if (vec) { vectors.set(vec[1], (vectors.get(vec[1]) ?? 0) + 1); continue; }
    const eq = name.indexOf('=');
    if (eq > 0) {
      const col = name.slice(0, eq);
      if (!oneHot.has(col)) { oneHot.set(col, null); parts.push(col); }
      if (v === 1) oneHot.set(col, name.slice(eq + 1));
      continue;
    }
    parts.push([name, storedValue(v)]);
  }
  // One-hot columns keep their place in the feature order; a row with none set is missing.
  const out = parts.map((x): [string, string] => (typeof x === 'string' ? [x, oneHot.get(x) ?? '(missing)'] : x));
  for (const [name, dims] of vectors) out.push([name, `${dims} values`]);
  return out;
}

function rowText(view: RowView): string {
  if (view.text !== undefined) return `<p class="rowtext">${escapeHtml(view.text)}</p>`;
  const fields = (view.fields ?? []).map(([k, v]) => `<span class="field"><b>${escapeHtml(k)}</b> ${escapeHtml(v)}</span>`);
  return `<p class="rowtext">${fields.join(' ')}</p>`;
}

/** Flagged and total rows of a result, whether its findings are all there or only the top ones. */
function countsOf(r: HtmlResult): { total: number; flagged: number } {
  return r.counts ?? { total: r.findings.length, flagged: countFlagged(r.findings) };
}

function severityBadge(s: Severity): string {
  return `<span class="badge sev-${s}">${SEVERITY_LABEL[s]}</span>`;
}

function metaLine(r: HtmlReportInput): string {
  const p = r.pool;
  const bits = [
    `${formatValue(r.rows)} rows audited`,
    `${p.classes.length} classes`,
    `${formatValue(p.features)} feature dimensions`,
    p.groups.length ? `groups: ${p.groups.join(', ')}` : 'no group columns',
    p.testRows !== null ? `test split: ${formatValue(p.testRows)} rows` : 'test split not read',
    oosHeaderText(r, { shareable: true }).line,
  ];
  return bits.map(escapeHtml).join(' · ');
}

/** The header's note when the figures differ from the pool's own audit (a challenge's model that differs). */
function oosNote(r: HtmlReportInput): string {
  const note = oosHeaderText(r).note;
  return note ? `<p class="meta note">Note: ${escapeHtml(note)}</p>` : '';
}

function figuresTable(pool: AuditResult, subset?: AuditResult): string {
  const names = Object.keys(pool.summary.figures);
  if (subset) for (const k of Object.keys(subset.summary.figures)) if (!names.includes(k)) names.push(k);
  if (names.length === 0) return '';
  const head = subset ? '<tr><th>figure</th><th>whole pool</th><th>subset</th></tr>' : '<tr><th>figure</th><th>value</th></tr>';
  const rows = names.map((k) => {
    // Long snake_case names may break after an underscore, so the table fits a phone's width.
    const cells = [`<td>${escapeHtml(k).replace(/_/g, '_<wbr>')}</td>`, `<td class="num">${escapeHtml(formatValue(pool.summary.figures[k]))}</td>`];
    if (subset) cells.push(`<td class="num">${escapeHtml(formatValue(subset.summary.figures[k]))}</td>`);
    return `<tr>${cells.join('')}</tr>`;
  });
  const table = `<div class="wide" tabindex="0"><table class="figures">${head}${rows.join('')}</table></div>`;
  // Long lists of figures fold away so the verdicts stay readable at a glance.
  return names.length > FIGURES_SHOWN
    ? `<details class="figures"><summary>${names.length} figures</summary>${table}</details>`
    : table;
}

/** An analyser's verdict; flagged rows are counted against the scope's rows, not the analyser's findings (duplicates list only the rows in clusters). */
function verdictBlock(label: string | null, r: HtmlResult, scopeRows: number): string {
  const { total, flagged } = countsOf(r);
  return `<div class="verdict-body">${label ? `<h3 class="scope">${escapeHtml(label)}</h3>` : ''}${severityBadge(r.summary.severity)}
<p class="verdict-text">${escapeHtml(r.summary.verdict)}</p>
${total ? `<p class="muted">${formatValue(flagged)} of ${formatValue(scopeRows)} rows flagged</p>` : ''}</div>`;
}

/** The summary at the top: one line per analyser (severity, verdict, link to its section), skipped analysers, notes. */
function summarySection(bundle: HtmlBundle, classPlot: string): string {
  const subsetBy = new Map((bundle.subset?.results ?? []).map((r) => [r.name, r]));
  const rows = bundle.pool.results.map((r) => {
    const s = subsetBy.get(r.name);
    return `<tr><td><a href="#analyser-${escapeHtml(r.name)}">${escapeHtml(r.title)}</a></td><td${s ? ' data-label="whole pool"' : ''}>${severityBadge(r.summary.severity)}</td>${s ? `<td data-label="subset">${severityBadge(s.summary.severity)}</td>` : ''}<td>${escapeHtml(r.summary.verdict)}</td></tr>`;
  });
  const head = `<tr><th>analyser</th><th>${bundle.subset ? 'whole pool' : 'severity'}</th>${bundle.subset ? '<th>subset</th>' : ''}<th>verdict${bundle.subset ? ' (whole pool)' : ''}</th></tr>`;
  const skipped = [...bundle.pool.skipped, ...(bundle.subset?.skipped ?? [])]
    .filter((s, i, all) => all.findIndex((x) => x.name === s.name) === i)
    .map((s) => `<li><b>${escapeHtml(s.title)}</b>: not run, ${escapeHtml(s.reason)}</li>`);
  const notes = [bundle.pool.testNote, bundle.subset?.testNote].filter((x): x is string => !!x);
  return `<section id="summary"><h2>Summary</h2>
${notes.length ? `<p class="note">${escapeHtml(notes[0])}</p>` : ''}
<div class="wide" tabindex="0"><table class="summary">${head}${rows.join('')}</table></div>
${skipped.length ? `<ul class="skipped">${skipped.join('')}</ul>` : ''}${classPlot}</section>`;
}

/**
 * One analyser: its verdict (pool and subset side by side), headline figures, plots, then what
 * the analyser points at (label-error suspects, duplicate clusters) and its tables, so every
 * plot sits next to the verdict it supports.
 */
async function analyserSection(bundle: HtmlBundle, r: HtmlResult, renderer: PlotRenderer, opts: Required<HtmlReportOptions>): Promise<string> {
  const s = bundle.subset?.results.find((x) => x.name === r.name);
  const bodies = s
    ? `<div class="side-by-side">${verdictBlock('Whole pool', r, bundle.pool.rows)}${verdictBlock('Subset', s, bundle.subset!.rows)}</div>`
    : verdictBlock(null, r, bundle.pool.rows);
  const figures: string[] = [];
  for (const plot of r.plots) {
    const pool = await renderer.render(plot, r.name);
    // Pair the subset's plot with the same title (analysers may emit fewer plots on a subset).
    const sp = s?.plots.find((p) => p.title === plot.title);
    const subset = sp ? await renderer.render(sp, `${r.name} (subset)`) : null;
    figures.push(subset ? `<div class="side-by-side">${labelled('Whole pool', pool)}${labelled('Subset', subset)}</div>` : pool);
  }
  const sub = bundle.subset;
  let rows = '';
  const poolRows = !opts.subsetRowsOnly || !sub;
  if (labelErrorResult(bundle.pool.results)?.name === r.name) {
    rows = [poolRows ? labelErrorsSection(bundle.pool, opts.topLabelErrors, sub ? 'Most likely label errors: whole pool' : 'Most likely label errors') : '',
      sub ? labelErrorsSection(sub, opts.topLabelErrors, 'Most likely label errors: subset') : ''].join('');
  } else if (/dup/.test(r.name)) {
    rows = [poolRows ? duplicatesSection(bundle.pool, r.name, opts.topClusters, opts.clusterMembers, sub ? 'Largest duplicate clusters: whole pool' : 'Largest duplicate clusters') : '',
      sub ? duplicatesSection(sub, r.name, opts.topClusters, opts.clusterMembers, 'Largest duplicate clusters: subset') : ''].join('');
  }
  const tables = extraTables(bundle, r.name, opts.maxTableRows, opts.moreRows);
  return `<section class="analyser sev-${r.summary.severity}" id="analyser-${escapeHtml(r.name)}">
<h2>${escapeHtml(r.title)}</h2>
<article class="verdict sev-${r.summary.severity}">${bodies}${figuresTable(r, s)}</article>
${figures.length ? `<div class="plots">${figures.join('')}</div>` : ''}${rows}${tables}</section>`;
}

/** A class histogram of the audited rows, for reports where no analyser drew one. */
export function classHistogramSpec(classNames: readonly string[], counts: readonly number[]): PlotSpec {
  return {
    title: 'Rows per class',
    vegaLite: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 360,
      height: 220,
      data: { values: classNames.map((c, i) => ({ class: c, rows: counts[i] })) },
      mark: { type: 'bar', color: '#4c78a8' },
      encoding: {
        x: { field: 'class', type: 'nominal', sort: null, axis: { labelAngle: -40 } },
        y: { field: 'rows', type: 'quantitative' },
        tooltip: [{ field: 'class' }, { field: 'rows' }],
      },
    },
  };
}

class PlotRenderer {
  private count = 0;
  readonly warnings: string[] = [];
  async render(plot: PlotSpec, where: string): Promise<string> {
    const prefix = `p${++this.count}`;
    try {
      const svg = await renderVegaLiteToSvg(plot.vegaLite);
      // Drawn size, scrolling in its own box where the column is narrower: scaled down to a
      // phone's width, a plot's text would be 4 to 6 px tall.
      // role=img with the data in words: a screen reader gets the values, not the SVG's ticks.
      return `<figure class="plot"><figcaption>${escapeHtml(plot.title)}</figcaption><div class="plot-box" tabindex="0" role="img" aria-label="${escapeHtml(plotAltText(plot))}">${scopeSvgIds(svg, prefix)}</div></figure>`;
    } catch (err) {
      const msg = `${where}: plot "${plot.title}" could not be rendered: ${(err as Error).message}`;
      this.warnings.push(msg);
      return `<figure class="plot failed"><figcaption>${escapeHtml(plot.title)}</figcaption><p class="note">${escapeHtml(msg)}</p></figure>`;
    }
  }
}

function labelled(label: string, html: string): string {
  return `<div><h3 class="scope">${escapeHtml(label)}</h3>${html}</div>`;
}

function suspectCard(f: Finding, rows: RowLookup, rank: number): string {
  const view = rows.view(f.id);
  const given = givenLabelOf(f) ?? view?.label ?? null;
  const suggested = suggestedLabelOf(f);
  const thumb = view === undefined ? null : thumbnail(view, `row ${f.id}, labelled ${given ?? '?'}`);
  const labels = `<div class="labels"><span class="given" title="given label">${escapeHtml(given ?? '?')}</span>${suggested ? ` → <span class="suggested" title="suggested label">${escapeHtml(suggested)}</span>` : ''}</div>
<div class="muted">id ${escapeHtml(f.id)} · score ${escapeHtml(formatValue(f.score))}</div>`;
  // A picture above its labels; a tabular row's labels above its (many) fields.
  const body = view === undefined ? `<p class="note">row not in the audited split</p>${labels}`
    : thumb ? `${thumb}${labels}` : `${labels}${rowText(view)}`;
  return `<div class="card${f.flagged ? ' flagged' : ''}">
<div class="rank">#${rank}</div>${body}</div>`;
}

/** Scores within this of the top score count as tied with it in the cards' note. */
const TIED_SCORE = 1e-4;

/** The label-error suspects a report's cards show, most likely first. */
export function shownSuspects(report: Pick<HtmlReportInput, 'results'>, pixels: boolean, limit = DEFAULTS.topLabelErrors): Finding[] {
  const r = labelErrorResult(report.results);
  // Cards of tabular rows show every field, so fewer of them fit a screen.
  return r ? topFindings(r.findings, pixels ? limit : Math.min(limit, 12)).filter((f) => f.flagged) : [];
}

function labelErrorsSection(report: HtmlReportInput, limit: number, heading: string): string {
  const r = labelErrorResult(report.results);
  if (!r) return '';
  const top = shownSuspects(report, report.rowViews.pixels, limit);
  const body = top.length
    ? `<div class="cards">${top.map((f, i) => suspectCard(f, report.rowViews, i + 1)).join('\n')}</div>`
    : '<p>No row was flagged as a likely label error.</p>';
  const { flagged } = countsOf(r);
  // Many flagged rows at the top score (the model gives the given label about 0 and no
  // neighbour shares it): the cards' order among them is noise, said so.
  const topScore = top.length ? top[0].score : NaN;
  const atTop = Number.isFinite(topScore) ? r.findings.filter((f) => f.flagged && Math.abs(f.score - topScore) <= TIED_SCORE).length : 0;
  const tie = atTop > 1 && atTop >= Math.min(top.length, 5)
    ? ` ${formatValue(atTop)} flagged rows share the top score (within ${TIED_SCORE}): their order among themselves says nothing.`
    : '';
  return `<div class="suspects"><h3>${escapeHtml(heading)}</h3>
<p class="muted">The ${top.length} most likely of ${formatValue(flagged)} flagged rows, highest score first: given label → suggested label.${tie}</p>${body}</div>`;
}

const CLUSTER_KEYS = ['cluster', 'cluster_id'];

function clusterOf(f: Finding): string | null {
  for (const k of CLUSTER_KEYS) {
    const v = f.detail[k];
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return null;
}

/**
 * The duplicate clusters a report's cards show: conflicting labels first (they need a
 * decision), then the largest; each with the ids of its members. A cluster's size is the
 * analyser's own count when its findings were cut to the top ones.
 */
export function shownClusters(report: Pick<HtmlReportInput, 'results'>, analyser: string, labelOf: (id: string) => string | undefined, topClusters = DEFAULTS.topClusters): { key: string; size: number; conflict: boolean; members: Finding[] }[] {
  const clusters = new Map<string, Finding[]>();
  for (const r of report.results) {
    if (r.name !== analyser) continue;
    // Every member of a cluster, flagged or not: analysers flag the redundant copies, and the
    // row they copy belongs in the picture too.
    for (const f of r.findings) {
      const c = clusterOf(f);
      if (c === null) continue;
      const key = `${r.name}:${c}`;
      if (!clusters.has(key)) clusters.set(key, []);
      clusters.get(key)!.push(f);
    }
  }
  const cut = report.results.some((r) => r.name === analyser && (r as HtmlResult).counts !== undefined);
  return [...clusters.entries()]
    .map(([key, fs]) => {
      const unique = [...new Map(fs.map((f) => [f.id, f])).values()];
      const counted = Number(unique[0]?.detail.cluster_size);
      const size = cut && Number.isInteger(counted) ? Math.max(counted, unique.length) : unique.length;
      return { key, size, members: unique, conflict: new Set(unique.map((f) => labelOf(f.id) ?? '?')).size > 1 };
    })
    .filter((c) => c.size > 1)
    .sort((a, b) => Number(b.conflict) - Number(a.conflict) || b.size - a.size || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, topClusters);
}

function duplicatesSection(report: HtmlReportInput, analyser: string, topClusters: number, members: number, heading: string): string {
  const rows = report.rowViews;
  const ranked = shownClusters(report, analyser, (id) => rows.view(id)?.label, topClusters);
  if (ranked.length === 0) return '';
  const blocks = ranked.map(({ key, size, members: fs, conflict: conflicting }) => {
    const shown = fs.slice(0, members).map((f) => {
      const view = rows.view(f.id);
      const visual = view === undefined ? '' : thumbnail(view, `row ${f.id}`) ?? rowText(view);
      return `<div class="card">${visual}<div class="labels"><span class="label">${escapeHtml(view?.label ?? '?')}</span></div><div class="muted">id ${escapeHtml(f.id)}</div></div>`;
    });
    const conflict = conflicting ? ' <span class="badge sev-problem">labels conflict</span>' : '';
    return `<div class="cluster"><h4>Cluster ${escapeHtml(key.split(':').slice(1).join(':'))}: ${size} rows${conflict}</h4><div class="cards">${shown.join('')}</div></div>`;
  });
  return `<div class="clusters"><h3>${escapeHtml(heading)}</h3><div class="cluster-list">${blocks.join('\n')}</div></div>`;
}

/** One analyser's extra tables (pool, then subset), folded away. */
function extraTables(bundle: HtmlBundle, analyser: string, maxRows: number, moreRows: string): string {
  const blocks: string[] = [];
  for (const report of [bundle.pool, ...(bundle.subset ? [bundle.subset] : [])]) {
    for (const r of report.results) {
      if (r.name !== analyser) continue;
      for (const t of r.tables) {
        if (t.rows.length === 0) continue;
        const total = r.tableRows?.[t.name] ?? t.rows.length;
        const cols: string[] = [];
        for (const row of t.rows) for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
        const body = t.rows.slice(0, maxRows).map((row) =>
          `<tr>${cols.map((c) => `<td${typeof row[c] === 'number' ? ' class="num"' : ''}>${escapeHtml(formatValue(row[c]))}</td>`).join('')}</tr>`);
        const shown = Math.min(maxRows, t.rows.length);
        const more = total > shown ? `<p class="muted">First ${formatValue(shown)} of ${formatValue(total)} rows; ${escapeHtml(moreRows)}.</p>` : '';
        const scope = bundle.subset ? ` (${report.scope === 'subset' ? 'subset' : 'whole pool'})` : '';
        blocks.push(`<details><summary>${escapeHtml(`Table ${t.name}${scope}: ${formatValue(total)} rows`)}</summary><div class="scroll" tabindex="0"><table class="data"><tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>${body.join('')}</table></div>${more}</details>`);
      }
    }
  }
  return blocks.length ? `<div class="tables">${blocks.join('\n')}</div>` : '';
}


/** The report's parts, for a document of its own (renderHtmlReport) or a page of the server's. */
export interface HtmlSections {
  title: string;
  /** The report's heading block: what was audited, the out-of-sample model, the subset. */
  header: string;
  /** The summary and one section per analyser. */
  body: string;
  warnings: string[];
}

/** The report's sections, from reports with rows by id (a split's, htmlInput; or a server's stored views). */
export async function renderHtmlSections(bundle: HtmlBundle, opts: HtmlReportOptions = {}): Promise<HtmlSections> {
  const renderer = new PlotRenderer();
  const pool = bundle.pool;
  const title = pool.pool.challenge ? `${pool.pool.name} (challenge ${pool.pool.challenge})` : pool.pool.name;
  const full: Required<HtmlReportOptions> = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  const subsetLine = bundle.subset
    ? `<p class="meta">Subset: ${escapeHtml(basename(bundle.subset.subset?.file ?? ''))}, ${escapeHtml(formatValue(bundle.subset.rows))} of ${escapeHtml(formatValue(pool.rows))} rows · ${metaLine(bundle.subset)}</p>`
    : '';
  let classPlot = '';
  if (!pool.results.some((r) => r.name === 'class-imbalance' && r.plots.length > 0)) {
    const p = await renderer.render(classHistogramSpec(pool.pool.classes, pool.classCounts), 'class histogram');
    const sp = bundle.subset ? await renderer.render(classHistogramSpec(bundle.subset.pool.classes, bundle.subset.classCounts), 'class histogram') : null;
    classPlot = `<div class="plots">${sp ? `<div class="side-by-side">${labelled('Whole pool', p)}${labelled('Subset', sp)}</div>` : p}</div>`;
  }
  const sections: string[] = [];
  for (const r of pool.results) sections.push(await analyserSection(bundle, r, renderer, full));
  return {
    title,
    header: `<p class="meta">${metaLine(pool)}</p>${oosNote(pool)}${subsetLine}`,
    body: `${summarySection(bundle, classPlot)}\n${sections.join('\n')}`,
    warnings: renderer.warnings,
  };
}

/** Renders the audit bundle as one self-contained HTML document. */
export async function renderHtmlReport(bundle: AuditBundle, opts: HtmlReportOptions = {}): Promise<HtmlReport> {
  const pool = bundle.pool;
  const s = await renderHtmlSections({ pool: htmlInput(pool), ...(bundle.subset ? { subset: htmlInput(bundle.subset) } : {}) }, opts);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>sieve audit: ${escapeHtml(s.title)}</title>
<style>${STYLE}</style></head>
<body>
<header><h1>Audit of ${escapeHtml(s.title)}</h1>
${s.header}</header>
${s.body}
<footer>Made by sieve ${escapeHtml(SIEVE_VERSION)} (datasieve). Every finding is also available as DuckDB tables: run the same <code>sieve audit</code> with <code>--db audit.duckdb</code>.</footer>
</body></html>
`;
  return { html, warnings: s.warnings };
}

/** Renders and writes the report atomically (temp file + rename). */
export async function writeHtmlReport(path: string, bundle: AuditBundle, opts: HtmlReportOptions = {}): Promise<HtmlReport> {
  const report = await renderHtmlReport(bundle, opts);
  await writeFileAtomically(path, report.html, { option: '--html' });
  return report;
}
