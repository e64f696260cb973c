import type { AuditBundle, AuditReport, AuditResult } from '../analysers/audit.ts';
import type { Finding } from '../analysers/types.ts';
import { countFlagged, topFindings } from './findings.ts';
import { SIEVE_VERSION } from '../version.ts';
import { oosHeaderJson } from './header.ts';
import type { HtmlReportInput, HtmlResult, RowLookup } from './html.ts';

/**
 * The machine-readable audit report (`--json`): every summary, figure, plot spec and extra
 * table, and the top findings of each analyser. Per-row findings of a large pool are cut to
 * the top `maxFindings` (flagged first, most suspicious first) and the report says so; the
 * full tables are what `--db FILE` is for.
 */

export interface JsonReportOptions {
  /** Findings kept per analyser (default 50). */
  maxFindings?: number;
  /** Rows kept per extra table (default 1,000). */
  maxTableRows?: number;
  /** Where the HTML report / DuckDB file went, when they were written. */
  outputs?: { html?: string; db?: string; keep?: unknown };
}

export function auditToJson(report: AuditReport, opts: JsonReportOptions = {}) {
  const maxFindings = opts.maxFindings ?? 50;
  const maxTableRows = opts.maxTableRows ?? 1000;
  return {
    format: report.format,
    scope: report.scope,
    pool: report.pool,
    rows: report.rows,
    ...(report.subset ? { subset: report.subset } : {}),
    model: report.model,
    oos_model: oosHeaderJson(report),
    folds: report.folds,
    repeats: report.repeats ?? 1,
    seed: report.seed,
    ...(report.predictions ? { predictions: report.predictions } : {}),
    ...(report.testNote ? { test_note: report.testNote } : {}),
    seconds: report.seconds,
    analysers: report.results.map((r) => analyserToJson(r, maxFindings, maxTableRows)),
    skipped: report.skipped,
  };
}

function analyserToJson(r: AuditResult, maxFindings: number, maxTableRows: number) {
  const shown = topFindings(r.findings, maxFindings);
  const flagged = countFlagged(r.findings);
  const truncated = shown.length < r.findings.length;
  return {
    name: r.name,
    title: r.title,
    severity: r.summary.severity,
    verdict: r.summary.verdict,
    figures: r.summary.figures,
    seconds: r.seconds,
    findings: {
      total: r.findings.length,
      flagged,
      shown: shown.length,
      truncated,
      ...(truncated
        ? { note: `showing the top ${shown.length} of ${r.findings.length} rows (flagged first, highest score first); write every row with --db FILE` }
        : {}),
      rows: shown.map(findingToJson),
    },
    tables: r.tables.map((t) => ({
      name: t.name,
      total_rows: t.rows.length,
      truncated: t.rows.length > maxTableRows,
      rows: t.rows.slice(0, maxTableRows),
    })),
    plots: r.plots.map((p) => ({ title: p.title, vega_lite: p.vegaLite })),
  };
}

function findingToJson(f: Finding) {
  return { id: f.id, score: Number.isFinite(f.score) ? f.score : null, flagged: f.flagged, detail: f.detail };
}

/** The whole `sieve audit --json` document: the pool audit and, with --subset, the subset's. */
export function bundleToJson(bundle: AuditBundle, opts: JsonReportOptions = {}) {
  return {
    tool: { name: 'datasieve', version: SIEVE_VERSION },
    pool: auditToJson(bundle.pool, opts),
    ...(bundle.subset ? { subset: auditToJson(bundle.subset, opts) } : {}),
    ...(opts.outputs ? { outputs: opts.outputs } : {}),
  };
}

/** One audit as `auditToJson` writes it. */
export type AuditJson = ReturnType<typeof auditToJson>;

/**
 * An audit read back from its JSON form (a server's stored audit) as the HTML sections take it:
 * the findings it kept (with the totals they were cut from), the tables' rows it kept (with
 * their totals), the plots, and the rows' views given by the caller.
 */
export function htmlInputFromJson(j: AuditJson, rowViews: RowLookup, classCounts: number[]): HtmlReportInput {
  const o = j.oos_model;
  return {
    format: j.format,
    scope: j.scope,
    pool: j.pool,
    rows: j.rows,
    ...(j.subset ? { subset: j.subset } : {}),
    model: j.model,
    ...(o.source !== undefined && o.source !== 'predictions'
      ? { oosModel: { source: o.source, ...(o.challenge ? { challenge: o.challenge } : {}), model: o.model ?? '', features: o.features ?? '', dims: o.dims ?? 0, groupFeatures: o.group_features ?? [], ...(o.note ? { note: o.note } : {}) } }
      : {}),
    oosAccuracy: o.accuracy,
    folds: j.folds,
    ...(j.repeats > 1 ? { repeats: j.repeats } : {}),
    seed: j.seed,
    ...(j.predictions ? { predictions: j.predictions } : {}),
    ...(j.test_note ? { testNote: j.test_note } : {}),
    seconds: j.seconds,
    skipped: j.skipped,
    results: j.analysers.map((a): HtmlResult => ({
      name: a.name,
      title: a.title,
      summary: { verdict: a.verdict, severity: a.severity, figures: a.figures },
      findings: a.findings.rows.map((f) => ({ id: f.id, score: f.score ?? Number.NaN, flagged: f.flagged, detail: f.detail })),
      tables: a.tables.map((t) => ({ name: t.name, rows: t.rows })),
      plots: a.plots.map((p) => ({ title: p.title, vegaLite: p.vega_lite })),
      seconds: a.seconds,
      counts: { total: a.findings.total, flagged: a.findings.flagged },
      tableRows: Object.fromEntries(a.tables.map((t) => [t.name, t.total_rows])),
    })),
    rowViews,
    classCounts,
  };
}
