/**
 * SQL strategies: one DuckDB SELECT over the tables `pool` (the participant-visible columns
 * of the pool's train split), `findings` (the audit's per-row findings,
 * src/strategy/findings.ts) and `params` (one row: the run's task, budget and seed, so one
 * query fits every challenge it applies to), returning `id` (and `label` for relabel tasks),
 * in the order wanted for ranking tasks.
 *
 * Isolation, in layers (docs/strategies.md, "SQL rules"; the instance, its settings and the
 * lock-down are src/sql/sandbox.ts's, shared with `sieve sql`):
 *  1. a DuckDB instance of its own, in memory, holding only copies of the participant data:
 *     the strategy's database is not the one anything else uses, and holds nothing else;
 *  2. `enable_external_access = false` before the strategy's text is even parsed: no file
 *     (read_csv, read_parquet of the pool's test or truth file, glob, ATTACH, COPY ... TO),
 *     no extension INSTALL / LOAD, no network;
 *  3. `lock_configuration = true`: the query cannot SET any of this back;
 *  4. `memory_limit`, `threads = 1` and no temporary directory (nothing spills to disk);
 *  5. exactly one statement, and it must be a SELECT (checked before it runs);
 *  6. a wall-clock timeout that interrupts the query, and caps on the result's rows and bytes,
 *     checked while the result streams in.
 */
import { DuckDBTypeId, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { appendTable } from '../pool/duckdb.ts';
import { copyParticipantSplit } from '../pool/read.ts';
import { verifyPoolFiles } from '../pool/integrity.ts';
import { SubmissionError } from '../submission/types.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import { firstLine, firstToken, leadingKeyword, lockDown, openSandbox } from '../sql/sandbox.ts';
import { findingsTable } from './findings.ts';
import type { StrategyInput, StrategyOutput, StrategyRunner, StrategySource } from './types.ts';

/** Keywords a strategy's statement may start with (DuckDB's `FROM t` is a SELECT too). */
const SELECT_STARTS = new Set(['SELECT', 'WITH', 'FROM', '(']);

const INTEGER_TYPES = new Set<number>([
  DuckDBTypeId.TINYINT, DuckDBTypeId.SMALLINT, DuckDBTypeId.INTEGER, DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT, DuckDBTypeId.USMALLINT, DuckDBTypeId.UINTEGER, DuckDBTypeId.UBIGINT, DuckDBTypeId.UHUGEINT,
]);

async function loadFindings(conn: DuckDBConnection, input: StrategyInput): Promise<void> {
  const f = await input.findings();
  await appendTable(conn, 'findings', findingsTable(f));
  // Cluster numbers are integers with NULL for rows in no cluster (the table data carries them as DOUBLE).
  await conn.run('ALTER TABLE findings ALTER duplicate_cluster TYPE INTEGER');
}

/** The one-row table `params`: what a code strategy gets as ctx.task, ctx.budget and ctx.seed. */
async function createParams(conn: DuckDBConnection, input: StrategyInput): Promise<void> {
  const int = (v: number, what: string) => {
    if (!Number.isSafeInteger(v)) throw new SieveError(`internal: the strategy's ${what} is ${v}, not an integer`, { where: 'strategy' });
    return `${v}::BIGINT`;
  };
  // The task is one of TASK_NAMES (taskOf checked it); the numbers are integers: literals are safe.
  await conn.run(
    `CREATE TABLE params AS SELECT '${taskOf(input.task).name}'::VARCHAR AS task, ${int(input.budget, 'budget')} AS budget, ${int(input.seed, 'seed')} AS seed`,
  );
}

/** Parses the strategy text: exactly one statement, a SELECT. Returns the prepared statement. */
async function prepareSelect(conn: DuckDBConnection, sql: string, where: string, input: StrategyInput, findingsLoaded: { done: boolean }) {
  if (firstToken(sql) >= sql.length) throw new SieveError('the SQL strategy holds no statement (only comments or blanks)', { where });
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
  for (let attempt = 0; ; attempt++) {
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
      if (!findingsLoaded.done && attempt === 0 && /Table with name findings does not exist/i.test(msg)) {
        await loadFindings(conn, input);
        findingsLoaded.done = true;
        continue;
      }
      // A sandbox refusal (files, settings) exits 3, as the code sandbox's do; a plain SQL error 2.
      throw new SieveError(`the SQL strategy was refused: ${msg}`, { where, examples: sqlHints(msg), ...(/Permission Error/i.test(msg) ? { exitCode: 3 } : {}) });
    }
  }
}

function sqlHints(msg: string): string[] {
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

export const sqlRunner: StrategyRunner = {
  kind: 'sql',
  async run(source: StrategySource, input: StrategyInput): Promise<StrategyOutput> {
    const where = source.path;
    const task = taskOf(input.task);
    const { limits } = input;
    // The train file must be what the manifest says (the same check the evaluator makes).
    await verifyPoolFiles(input.pool, ['train']);
    const { instance, conn } = await openSandbox({ memoryMb: limits.memoryMb });
    try {
      await copyParticipantSplit(conn, input.pool, 'pool');
      await createParams(conn, input);
      await lockDown(conn);
      const findingsLoaded = { done: false };
      const prepared = await prepareSelect(conn, source.text, where, input, findingsLoaded);

      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        conn.interrupt();
      }, limits.timeoutMs);
      const ids: (string | null)[] = [];
      const labels: (string | null)[] = [];
      let bytes = 0;
      const stopped = () => new SieveError(`the SQL strategy ran longer than ${limits.timeoutMs / 1000} s and was stopped`, {
        where,
        // Common causes, not a diagnosis of this query.
        examples: ['common causes: a recursive CTE that never stops, or a join of the pool with itself (it grows with the square of its rows)'],
      });
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
              examples: [`a submission holds at most ${input.budget} ${task.entries} (the budget)`],
            });
          }
          if (bytes > limits.maxOutputBytes) {
            throw new SieveError(`the SQL strategy's result passed ${limits.maxOutputBytes} bytes; stopped`, { where });
          }
        }
        // An interrupted stream can end quietly, without an error: the rows read by then are a
        // part of the output, never the output.
        if (timedOut) throw stopped();
      } catch (err) {
        if (timedOut) throw stopped();
        if (err instanceof SieveError) throw err;
        const msg = firstLine(err);
        if (/Out of Memory/i.test(msg)) {
          throw new SieveError(`the SQL strategy needed more than its ${limits.memoryMb} MB of memory and was stopped`, { where, examples: [msg] });
        }
        throw new SieveError(`the SQL strategy failed: ${msg}`, { where, examples: sqlHints(msg) });
      } finally {
        clearTimeout(timer);
      }
      return task.columns.includes('label') ? { ids, labels } : { ids };
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  },
};
