import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  BOOLEAN,
  DOUBLE,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  VARCHAR,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { AuditBundle, AuditReport } from '../analysers/audit.ts';
import type { ColumnKindName, Finding } from '../analysers/types.ts';
import { withFileAtomically } from '../util/atomic.ts';
import { SieveError } from '../util/errors.ts';
import { countFlagged } from './findings.ts';
import { oosHeaderText } from './header.ts';

/**
 * Audit results as DuckDB tables, so findings can be queried with SQL:
 *
 * - `audit`: one row per scope ('pool', and 'subset' with --subset): pool, rows, model, folds…
 * - `summary`: one row per analyser and scope: severity, verdict, counts, seconds, figures (JSON)
 * - `figures`: the headline figures in long form (scope, analyser, figure, value, text)
 * - `findings_<analyser>`: every per-row finding (scope, id, score, flagged, then the detail
 *   columns, typed from their values)
 * - `<analyser>_<table>`: each extra table an analyser returns (e.g. per-group metrics)
 *
 * Every table starts with a `scope` column, so the pool and subset audits sit side by side in
 * the same tables. All tables are written in one transaction: a failure leaves none behind.
 */

type ColumnKind = 'VARCHAR' | 'DOUBLE' | 'BOOLEAN' | 'INTEGER';
const DUCK_TYPES: Record<ColumnKind, DuckDBType> = { VARCHAR, DOUBLE, BOOLEAN, INTEGER };

interface Column {
  name: string;
  kind: ColumnKind;
  values: DuckDBValue[];
}

interface TableSpec {
  name: string;
  columns: Column[];
}

const CHUNK_ROWS = 2048;

/** Lower-case SQL identifier from an analyser or table name: `label-errors` → `label_errors`. */
export function sqlName(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[a-z_]/.test(s) ? s : `t_${s}`;
}

const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/**
 * The column type that holds every value: numbers → DOUBLE, booleans → BOOLEAN, anything
 * else (or a mix) → VARCHAR. All-null columns are VARCHAR.
 */
function inferKind(values: readonly unknown[]): ColumnKind {
  let numbers = 0, booleans = 0, others = 0;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'number') numbers++;
    else if (typeof v === 'boolean') booleans++;
    else others++;
  }
  if (others === 0 && booleans === 0 && numbers > 0) return 'DOUBLE';
  if (others === 0 && numbers === 0 && booleans > 0) return 'BOOLEAN';
  return 'VARCHAR';
}

function coerce(kind: ColumnKind, v: unknown): DuckDBValue {
  if (v === null || v === undefined) return null;
  if (kind === 'VARCHAR') return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return v as DuckDBValue;
}

const DECLARED_KINDS: Record<ColumnKindName, ColumnKind> = { text: 'VARCHAR', number: 'DOUBLE', boolean: 'BOOLEAN' };

/**
 * Columns of plain row objects, in first-seen key order, typed from their values. Declared
 * columns come after and type the columns whose values are all NULL (or absent), so a query
 * written against a table works whether or not this audit found anything.
 */
function columnsFromRows(rows: readonly Record<string, unknown>[], reserved: Set<string>, declared: Record<string, ColumnKindName> = {}): Column[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (!seen.has(k)) { seen.add(k); keys.push(k); }
  for (const k of Object.keys(declared)) if (!seen.has(k)) { seen.add(k); keys.push(k); }
  const used = new Set(reserved);
  return keys.map((key) => {
    const raw = rows.map((r) => r[key]);
    const inferred = inferKind(raw);
    const kind = declared[key] && raw.every((v) => v === null || v === undefined) ? DECLARED_KINDS[declared[key]] : inferred;
    // A detail key that repeats a fixed column (or another key after lower-casing) gets a prefix.
    let name = sqlName(key);
    while (used.has(name)) name = `detail_${name}`;
    used.add(name);
    return { name, kind, values: raw.map((v) => coerce(kind, v)) };
  });
}

function constant(name: string, kind: ColumnKind, value: DuckDBValue, n: number): Column {
  return { name, kind, values: new Array<DuckDBValue>(n).fill(value) };
}

function findingsTable(scope: string, name: string, findings: readonly Finding[], declared?: Record<string, ColumnKindName>): TableSpec {
  const n = findings.length;
  const fixed: Column[] = [
    constant('scope', 'VARCHAR', scope, n),
    { name: 'id', kind: 'VARCHAR', values: findings.map((f) => f.id) },
    { name: 'score', kind: 'DOUBLE', values: findings.map((f) => f.score) },
    { name: 'flagged', kind: 'BOOLEAN', values: findings.map((f) => f.flagged) },
  ];
  const detail = columnsFromRows(findings.map((f) => f.detail), new Set(fixed.map((c) => c.name)), declared);
  return { name: `findings_${sqlName(name)}`, columns: [...fixed, ...detail] };
}

function rowsTable(name: string, scope: string, rows: readonly Record<string, unknown>[], declared?: Record<string, ColumnKindName>): TableSpec {
  const columns = [constant('scope', 'VARCHAR', scope, rows.length), ...columnsFromRows(rows, new Set(['scope']), declared)];
  return { name, columns };
}

/** Every table of one audit, before merging scopes. */
function auditTables(report: AuditReport): TableSpec[] {
  const scope = report.scope;
  const tables: TableSpec[] = [];
  tables.push(rowsTable('audit', scope, [{
    pool: report.pool.name,
    challenge: report.pool.challenge ?? null,
    pool_content_hash: report.pool.contentHash ?? null,
    rows: report.rows,
    pool_train_rows: report.pool.trainRows,
    pool_test_rows: report.pool.testRows,
    subset_file: report.subset?.file ?? null,
    model: JSON.stringify(report.model),
    oos_model: oosHeaderText(report).line,
    oos_accuracy: report.oosAccuracy ?? null,
    folds: report.folds,
    seed: report.seed,
    predictions_file: report.predictions?.file ?? null,
    predictions_sha256: report.predictions?.sha256 ?? null,
    test_note: report.testNote ?? null,
    seconds: report.seconds,
  }]));
  tables.push(rowsTable('summary', scope, [
    ...report.results.map((r) => ({
      analyser: r.name,
      title: r.title,
      status: 'ran',
      severity: r.summary.severity,
      verdict: r.summary.verdict,
      findings: r.findings.length,
      flagged: countFlagged(r.findings),
      seconds: r.seconds,
      figures: JSON.stringify(r.summary.figures),
    })),
    ...report.skipped.map((s) => ({
      analyser: s.name, title: s.title, status: 'skipped', severity: null, verdict: s.reason,
      findings: null, flagged: null, seconds: null, figures: null,
    })),
  ]));
  const figureRows: Record<string, unknown>[] = [];
  for (const r of report.results) {
    for (const [figure, v] of Object.entries(r.summary.figures)) {
      figureRows.push({
        analyser: r.name,
        figure,
        value: typeof v === 'number' ? v : null,
        text: typeof v === 'string' ? v : null,
      });
    }
  }
  const figures = rowsTable('figures', scope, figureRows);
  // Keep the long-form figures table typed even when every figure is text, or there are none.
  for (const c of figures.columns) if (c.name === 'value') c.kind = 'DOUBLE';
  if (figureRows.length === 0) {
    figures.columns.push(
      { name: 'analyser', kind: 'VARCHAR', values: [] },
      { name: 'figure', kind: 'VARCHAR', values: [] },
      { name: 'value', kind: 'DOUBLE', values: [] },
      { name: 'text', kind: 'VARCHAR', values: [] },
    );
  }
  tables.push(figures);
  for (const r of report.results) {
    tables.push(findingsTable(scope, r.name, r.findings, r.findingColumns));
    const prefix = sqlName(r.name);
    for (const t of r.tables) {
      const base = sqlName(t.name);
      tables.push(rowsTable(base.startsWith(`${prefix}_`) ? base : `${prefix}_${base}`, scope, t.rows, t.columns));
    }
  }
  return tables;
}

/**
 * Stacks the pool and subset versions of each table. A column missing from one scope is NULL
 * there; a column typed differently in the two scopes falls back to VARCHAR.
 */
function mergeScopes(parts: TableSpec[][]): TableSpec[] {
  const byName = new Map<string, TableSpec[]>();
  for (const part of parts) {
    const names = new Set<string>();
    for (const t of part) {
      if (names.has(t.name)) throw new Error(`two tables of one audit are both named ${t.name}; table names must be unique`);
      names.add(t.name);
      if (!byName.has(t.name)) byName.set(t.name, []);
      byName.get(t.name)!.push(t);
    }
  }
  const merged: TableSpec[] = [];
  for (const [name, specs] of byName) {
    if (specs.length === 1) { merged.push(specs[0]); continue; }
    const order: string[] = [];
    const kinds = new Map<string, ColumnKind>();
    for (const s of specs) {
      for (const c of s.columns) {
        if (!kinds.has(c.name)) { order.push(c.name); kinds.set(c.name, c.kind); }
        else if (kinds.get(c.name) !== c.kind && c.values.some((v) => v !== null)) kinds.set(c.name, 'VARCHAR');
      }
    }
    const columns: Column[] = order.map((col) => {
      const kind = kinds.get(col)!;
      const values: DuckDBValue[] = [];
      for (const s of specs) {
        const c = s.columns.find((x) => x.name === col);
        const n = s.columns[0]?.values.length ?? 0;
        if (!c) for (let i = 0; i < n; i++) values.push(null);
        else for (const v of c.values) values.push(kind === c.kind ? v : coerce(kind, v));
      }
      return { name: col, kind, values };
    });
    merged.push({ name, columns });
  }
  return merged;
}

async function createAndFill(conn: DuckDBConnection, t: TableSpec): Promise<void> {
  const cols = t.columns.map((c) => `${quoteIdent(c.name)} ${c.kind}`).join(', ');
  await conn.run(`CREATE OR REPLACE TABLE ${quoteIdent(t.name)} (${cols})`);
  const n = t.columns[0]?.values.length ?? 0;
  if (n === 0) return;
  const appender = await conn.createAppender(t.name);
  try {
    const types = t.columns.map((c) => DUCK_TYPES[c.kind]);
    // Whole data chunks, never row by row: filling vectors is ~200× faster than appendValue.
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const end = Math.min(n, start + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create(types, end - start);
      t.columns.forEach((c, i) => chunk.setColumnValues(i, c.values.slice(start, end)));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** The tables an audit bundle turns into, in creation order (exported for tests and docs). */
export function auditTableNames(bundle: AuditBundle): string[] {
  return mergeScopes([auditTables(bundle.pool), ...(bundle.subset ? [auditTables(bundle.subset)] : [])]).map((t) => t.name);
}

/**
 * Writes the audit tables into `conn` in one transaction (existing tables of the same names
 * are replaced). Returns the table names with their row counts.
 */
export async function writeAuditTables(conn: DuckDBConnection, bundle: AuditBundle): Promise<{ name: string; rows: number }[]> {
  const tables = mergeScopes([auditTables(bundle.pool), ...(bundle.subset ? [auditTables(bundle.subset)] : [])]);
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const t of tables) await createAndFill(conn, t);
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return tables.map((t) => ({ name: t.name, rows: t.columns[0]?.values.length ?? 0 }));
}

/**
 * Writes the audit tables to a DuckDB database file: built under a temporary name next to it,
 * checkpointed and closed, then renamed over `path`, so a reader never sees half a database
 * and a failure leaves the previous file (if any) untouched.
 */
export async function writeAuditDb(path: string, bundle: AuditBundle): Promise<{ name: string; rows: number }[]> {
  const target = resolve(path);
  if (target.endsWith('.wal')) {
    throw new SieveError('the database file name must not end in .wal (DuckDB uses that for its log)', { where: '--db' });
  }
  return withFileAtomically(
    target,
    async (tmp) => {
      let instance: DuckDBInstance | null = null;
      let conn: DuckDBConnection | null = null;
      try {
        instance = await DuckDBInstance.create(tmp);
        conn = await instance.connect();
        const tables = await writeAuditTables(conn, bundle);
        await conn.run('CHECKPOINT');
        conn.closeSync(); conn = null;
        instance.closeSync(); instance = null;
        await rm(`${target}.wal`, { force: true });
        return tables;
      } finally {
        conn?.closeSync();
        instance?.closeSync();
      }
    },
    { option: '--db', companions: ['.wal'] },
  );
}
