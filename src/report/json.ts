import type { AuditBundle, AuditReport, AuditResult } from '../analysers/audit.ts';
import type { Finding } from '../analysers/types.ts';
import { countFlagged, topFindings } from './findings.ts';
import { SIEVE_VERSION } from '../version.ts';
import { oosHeaderJson } from './header.ts';

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
