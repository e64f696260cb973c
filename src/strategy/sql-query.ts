/**
 * The part of a SQL strategy run that happens in the query's own process (src/strategy/
 * sql-child.ts): the one-SELECT check, the query within its caps, the errors it can end in.
 * Small on purpose: the child loads this, DuckDB and the task definitions, not the audit
 * stack the parent (src/strategy/sql.ts) needs for the findings.
 */
import { DuckDBTypeId, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { SubmissionError } from '../submission/types.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import { firstLine, leadingKeyword } from '../sql/sandbox.ts';
import type { StrategyLimits, StrategyOutput } from './types.ts';

/** Keywords a strategy's statement may start with (DuckDB's `FROM t` is a SELECT too). */
const SELECT_STARTS = new Set(['SELECT', 'WITH', 'FROM', '(']);

const INTEGER_TYPES = new Set<number>([
  DuckDBTypeId.TINYINT, DuckDBTypeId.SMALLINT, DuckDBTypeId.INTEGER, DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT, DuckDBTypeId.USMALLINT, DuckDBTypeId.UINTEGER, DuckDBTypeId.UBIGINT, DuckDBTypeId.UHUGEINT,
]);

/** Thrown in the child when the query reaches the table findings, which was not loaded. */
export class MissingFindings extends Error {}

/** Parses the strategy text: exactly one statement, a SELECT. Returns the prepared statement. */
async function prepareSelect(conn: DuckDBConnection, sql: string, where: string, findingsLoaded: boolean, limits: StrategyLimits) {
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (err) {
    throw new SieveError('the SQL strategy does not parse', { where, examples: [firstLine(err)] });
  }
  if (extracted.count === 0) throw new SieveError('the SQL strategy holds no statement', { where });
  if (extracted.count > 1) {
    // DuckDB runs a PIVOT without an IN list as two statements (it first makes an ENUM of the values).
    const pivot = /\b(UN)?PIVOT\b/i.test(sql) && !/;/.test(sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ''));
    throw new SieveError(`the SQL strategy holds ${extracted.count} statements; a strategy is exactly one SELECT`, {
      where,
      examples: [pivot
        ? "DuckDB runs a PIVOT without an IN list as two statements: name its values, e.g. PIVOT pool ON label IN ('a', 'b') USING count(*)"
        : 'remove the other statements (a ";" between two statements makes two)'],
    });
  }
  const keyword = leadingKeyword(sql);
  if (!SELECT_STARTS.has(keyword)) {
    throw new SieveError(`the SQL strategy is ${keyword ? `${/^[AEIOU]/.test(keyword) ? 'an' : 'a'} ${keyword} statement` : 'not a SELECT'}; a strategy is exactly one SELECT`, {
      where,
      examples: ['it may start with SELECT, WITH or FROM'],
    });
  }
  try {
    // conn.prepare reports DuckDB's own message (the extracted statement's prepare does not).
    const prepared = await conn.prepare(sql);
    if (prepared.statementType !== StatementType.SELECT) {
      throw new SieveError('the SQL strategy is not a SELECT; a strategy is exactly one SELECT', { where });
    }
    return prepared;
  } catch (err) {
    if (err instanceof SieveError) throw err;
    const msg = firstLine(err);
    // The findings are computed only for strategies that use them (an audit of the pool).
    if (!findingsLoaded && /Table with name findings does not exist/i.test(msg)) throw new MissingFindings(msg);
    // Constant folding runs functions at prepare time: their memory is the strategy's too.
    if (/Out of Memory|could not allocate|std::bad_alloc/i.test(msg)) throw memoryError(where, limits, msg);
    // A sandbox refusal (files, settings) exits 3, as the code sandbox's do; a plain SQL error 2.
    throw new SieveError(`the SQL strategy was refused: ${msg}`, { where, examples: sqlHints(msg), ...(/Permission Error/i.test(msg) ? { exitCode: 3 } : {}) });
  }
}

export function sqlHints(msg: string): string[] {
  if (/file system operations are disabled|external/i.test(msg)) {
    return ['a strategy sees only the tables pool and findings: no files, no extensions, no network'];
  }
  if (/configuration has been locked|disabled by configuration/i.test(msg)) return ['the configuration of a strategy cannot be changed'];
  if (/Catalog Error/i.test(msg)) return ['tables: pool (the train split\'s participant columns), findings (the audit\'s per-row findings), params (task, budget, seed)'];
  return [];
}

/** Reads an id / label cell as a string exactly as written (integers in decimal). */
function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return String(v);
}

/** What the child runs (sql-child.ts): the strategy's text over the tables of `file`, with these caps. */
export interface SqlChildRequest {
  file: string;
  sql: string;
  where: string;
  task: string;
  budget: number;
  limits: StrategyLimits;
  findingsLoaded: boolean;
}

/** The child's answer on fd 3: the output, or the error to throw (as thrown there). */
export type SqlChildReply =
  | { ok: true; ids: (string | null)[]; labels?: (string | null)[] }
  | { ok: false; missingFindings?: true; error: { message: string; where?: string; examples?: string[]; exitCode?: number; submission?: string } };

/**
 * Runs the strategy's SELECT on `conn` (locked down, its tables loaded) within the caps, in
 * the child process: the wall-clock limit interrupts the query where DuckDB checks for it
 * (between operators and chunks); the parent kills the process where it does not.
 */
export async function runLockedSelect(conn: DuckDBConnection, req: SqlChildRequest): Promise<StrategyOutput> {
  const { where, limits } = req;
  const task = taskOf(req.task);
  const prepared = await prepareSelect(conn, req.sql, where, req.findingsLoaded, limits);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.interrupt();
  }, limits.timeoutMs);
  const ids: (string | null)[] = [];
  const labels: (string | null)[] = [];
  let bytes = 0;
  try {
    const result = await prepared.stream();
    const names = result.columnNames();
    const types = result.columnTypes();
    const expected = task.columns as readonly string[];
    const missing = expected.filter((c) => !names.includes(c));
    if (missing.length) {
      throw new SubmissionError('missing-columns', `the SQL strategy returns no column ${missing.join(', ')}: a ${task.name} strategy returns ${expected.join(', ')}`, {
        where,
        examples: [`columns returned: ${names.join(', ') || '(none)'}`],
      });
    }
    const extra = names.filter((c) => !expected.includes(c));
    if (extra.length) {
      throw new SubmissionError('extra-columns', `the SQL strategy returns column(s) ${extra.join(', ')}: a ${task.name} strategy returns only ${expected.join(', ')}`, {
        where,
        examples: ['select only what the submission holds: SELECT id FROM ... ORDER BY ...'],
      });
    }
    for (const c of expected) {
      const t = types[names.indexOf(c)];
      if (t.typeId !== DuckDBTypeId.VARCHAR && !INTEGER_TYPES.has(t.typeId)) {
        throw new SubmissionError('syntax', `the SQL strategy's column "${c}" has type ${t.toString()}; use VARCHAR or an integer type`, { where });
      }
    }
    const idCol = names.indexOf('id');
    const labelCol = names.indexOf('label');
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const idVec = chunk.getColumnVector(idCol);
      const labelVec = labelCol >= 0 ? chunk.getColumnVector(labelCol) : null;
      for (let i = 0; i < chunk.rowCount; i++) {
        const id = cellText(idVec.getItem(i));
        ids.push(id);
        bytes += (id?.length ?? 0) + 1;
        if (labelVec) {
          const l = cellText(labelVec.getItem(i));
          labels.push(l);
          bytes += (l?.length ?? 0) + 1;
        }
      }
      if (ids.length > limits.maxRows) {
        throw new SieveError(`the SQL strategy returned more than ${limits.maxRows} rows; stopped`, {
          where,
          examples: [`a submission holds at most ${req.budget} ${task.entries} (the budget)`],
        });
      }
      if (bytes > limits.maxOutputBytes) {
        throw new SieveError(`the SQL strategy's result passed ${limits.maxOutputBytes} bytes; stopped`, { where });
      }
    }
    // An interrupted stream can end quietly, without an error: the rows read by then are a
    // part of the output, never the output.
    if (timedOut) throw stoppedError(where, limits);
  } catch (err) {
    if (timedOut) throw stoppedError(where, limits);
    if (err instanceof SieveError) throw err;
    const msg = firstLine(err);
    if (/Out of Memory|could not allocate|std::bad_alloc/i.test(msg)) throw memoryError(where, limits, msg);
    throw new SieveError(`the SQL strategy failed: ${msg}`, { where, examples: sqlHints(msg) });
  } finally {
    clearTimeout(timer);
  }
  return task.columns.includes('label') ? { ids, labels } : { ids };
}

export function stoppedError(where: string, limits: StrategyLimits): SieveError {
  return new SieveError(`the SQL strategy ran longer than ${limits.timeoutMs / 1000} s and was stopped`, {
    where,
    // Common causes, not a diagnosis of this query.
    examples: ['common causes: a recursive CTE that never stops, a join of the pool with itself (it grows with the square of its rows), or a function of a huge value'],
  });
}

export function memoryError(where: string, limits: StrategyLimits, detail?: string): SieveError {
  return new SieveError(`the SQL strategy needed more than its ${limits.memoryMb} MB of memory and was stopped`, { where, ...(detail ? { examples: [detail] } : {}) });
}

