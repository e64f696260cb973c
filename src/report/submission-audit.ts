/**
 * The audit of a submission's rows as a challenge server stores and shows it: what
 * `sieve audit CHALLENGE --subset FILE --json` prints (the subset's report with its top
 * findings, the whole pool's report for comparison without its rows), a short summary for the
 * submission's API answer (each analyser's severity, verdict, flagged and audited rows and
 * figures, intervals included, next to the whole pool's), and the views of the rows the audit
 * page's cards show (thumbnails or fields), so the page renders from the stored document alone
 * through the same HTML sections as `sieve audit --html` (src/report/html.ts).
 *
 * Only participant data is in it: the audit of a challenge reads the pool's train split and
 * the challenge's public model spec, never the test split, the truth or the variants
 * (src/audit/target.ts readAuditSplits without organiser).
 */
import type { AuditBundle } from '../analysers/audit.ts';
import { classCounts, shownClusters, shownSuspects, splitRows, type HtmlBundle, type HtmlReportOptions, type RowLookup, type RowView } from './html.ts';
import { auditToJson, htmlInputFromJson, type AuditJson } from './json.ts';
import { SIEVE_VERSION } from '../version.ts';

export const SUBMISSION_AUDIT_FORMAT = 'sieve-submission-audit/1';

/** Findings of the subset's report kept per analyser (flagged first, most suspicious first). */
export const STORED_FINDINGS = 50;
/** Rows kept per extra table. */
export const STORED_TABLE_ROWS = 50;

/** What the audit page shows (the subset's rows only: the whole pool is there for comparison). */
export const AUDIT_PAGE_OPTIONS: HtmlReportOptions = {
  subsetRowsOnly: true,
  maxTableRows: STORED_TABLE_ROWS,
  moreRows: 'every row is in `sieve audit CHALLENGE --subset FILE --db audit.duckdb`',
};

export interface AuditSummaryEntry {
  name: string;
  title: string;
  severity: string;
  verdict: string;
  /** Rows with a finding of this analyser, and how many of them it flags (0 and 0 for analysers that judge the rows as a whole). */
  rows: number;
  flagged: number;
  figures: Record<string, number | string | null>;
  /** The same analyser on the whole pool. */
  pool: { severity: string; verdict: string; rows: number; flagged: number } | null;
}

export interface AuditSummary {
  /** Rows audited (the submission's), and the pool's train rows. */
  rows: number;
  pool_rows: number;
  oos_model: string;
  analysers: AuditSummaryEntry[];
  skipped: { name: string; reason: string }[];
  test_note?: string;
}

export interface SubmissionAudit {
  format: typeof SUBMISSION_AUDIT_FORMAT;
  tool: { name: 'datasieve'; version: string };
  /** Wall seconds of the audit in the job, and whether the pool's part came from the cache. */
  seconds: number;
  pool_cached: boolean;
  summary: AuditSummary;
  /** `sieve audit --json`'s two reports: the subset's (top findings) and the whole pool's (no rows). */
  report: { pool: AuditJson; subset: AuditJson };
  /** Rows per class, in the pool's class order: the pool's and the subset's. */
  class_counts: { pool: number[]; subset: number[] };
  /** Views of the rows the page's cards show, by id. */
  rows: Record<string, RowView>;
  pixels: boolean;
}

function summaryOf(subset: AuditJson, pool: AuditJson): AuditSummary {
  const byName = new Map(pool.analysers.map((a) => [a.name, a]));
  return {
    rows: subset.rows,
    pool_rows: pool.rows,
    oos_model: subset.oos_model.text,
    analysers: subset.analysers.map((a) => {
      const p = byName.get(a.name);
      return {
        name: a.name, title: a.title, severity: a.severity, verdict: a.verdict, rows: a.findings.total, flagged: a.findings.flagged, figures: a.figures,
        pool: p ? { severity: p.severity, verdict: p.verdict, rows: p.findings.total, flagged: p.findings.flagged } : null,
      };
    }),
    skipped: subset.skipped.map((s) => ({ name: s.name, reason: s.reason })),
    ...(subset.test_note ? { test_note: subset.test_note } : {}),
  };
}

/** The stored audit of a bundle with a subset (runAuditService with `subset`). */
export function submissionAudit(bundle: AuditBundle, opts: { seconds: number; poolCached: boolean }): SubmissionAudit {
  const sub = bundle.subset;
  if (!sub) throw new Error('submissionAudit needs the audit of a subset');
  // Where the pool lies on the machine that audited it is no one else's business.
  const { path: _path, ...poolInfo } = sub.pool;
  const subset = { ...auditToJson(sub, { maxFindings: STORED_FINDINGS, maxTableRows: STORED_TABLE_ROWS }), pool: poolInfo };
  const pool = { ...auditToJson(bundle.pool, { maxFindings: 0, maxTableRows: STORED_TABLE_ROWS }), pool: poolInfo };
  // The rows the page will show: chosen from the stored (cut) findings, exactly as the page chooses them.
  const cut = htmlInputFromJson(subset, splitRows(sub.train), classCounts(sub.train));
  const ids = new Set<string>(shownSuspects(cut, cut.rowViews.pixels).map((f) => f.id));
  const members = AUDIT_PAGE_OPTIONS.clusterMembers ?? 6;
  for (const r of cut.results) {
    if (!/dup/.test(r.name)) continue;
    for (const c of shownClusters(cut, r.name, (id) => cut.rowViews.view(id)?.label)) for (const f of c.members.slice(0, members)) ids.add(f.id);
  }
  const rows: Record<string, RowView> = {};
  for (const id of [...ids].sort()) {
    const v = cut.rowViews.view(id);
    if (v) rows[id] = v;
  }
  return {
    format: SUBMISSION_AUDIT_FORMAT,
    tool: { name: 'datasieve', version: SIEVE_VERSION },
    seconds: opts.seconds,
    pool_cached: opts.poolCached,
    summary: summaryOf(subset, pool),
    report: { pool, subset },
    class_counts: { pool: classCounts(bundle.pool.train), subset: classCounts(sub.train) },
    rows,
    pixels: !!sub.train.pixels,
  };
}

/** A stored audit as the HTML sections take it (the audit page). */
export function storedAuditHtml(a: SubmissionAudit): HtmlBundle {
  const views: RowLookup = { pixels: a.pixels, view: (id) => (Object.hasOwn(a.rows, id) ? a.rows[id] : undefined) };
  const none: RowLookup = { pixels: a.pixels, view: () => undefined };
  return {
    pool: htmlInputFromJson(a.report.pool, none, a.class_counts.pool),
    subset: htmlInputFromJson(a.report.subset, views, a.class_counts.subset),
  };
}
