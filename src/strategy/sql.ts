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
import { spawn } from 'node:child_process';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, DuckDBTypeId, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { appendTable } from '../pool/duckdb.ts';
import { copyParticipantSplit } from '../pool/read.ts';
import { verifyPoolFiles } from '../pool/integrity.ts';
import { SubmissionError } from '../submission/types.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import { firstLine, firstToken, leadingKeyword } from '../sql/sandbox.ts';
import { trackTemp } from '../util/temps.ts';
import { findProgram } from './sandbox/layers.ts';
import { findingsTable } from './findings.ts';
import type { StrategyInput, StrategyLimits, StrategyOutput, StrategyRunner, StrategySource } from './types.ts';

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
/** Thrown in the child when the query reaches the table findings, which was not loaded. */
export class MissingFindings extends Error {}

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

function stoppedError(where: string, limits: StrategyLimits): SieveError {
  return new SieveError(`the SQL strategy ran longer than ${limits.timeoutMs / 1000} s and was stopped`, {
    where,
    // Common causes, not a diagnosis of this query.
    examples: ['common causes: a recursive CTE that never stops, a join of the pool with itself (it grows with the square of its rows), or a function of a huge value'],
  });
}

function memoryError(where: string, limits: StrategyLimits, detail?: string): SieveError {
  return new SieveError(`the SQL strategy needed more than its ${limits.memoryMb} MB of memory and was stopped`, { where, ...(detail ? { examples: [detail] } : {}) });
}

/**
 * The child's data limit (RLIMIT_DATA: private writable memory, what DuckDB and V8 actually
 * commit) above the strategy's memory: Node with DuckDB loaded commits about 150 MB, and
 * DuckDB's allocator commits beyond what its memory_limit counts (a recursive CTE at its 1 GB
 * limit failed to allocate under 1.5 GB). Not RLIMIT_AS: WebAssembly reserves address space
 * by the gigabyte (tsx's lexer failed to start under 16 GB).
 */
const BASE_DATA_MB = 1024;
/** How long past the strategy's limit the parent waits for the child's own interrupt before killing it. */
const KILL_GRACE_MS = 2_000;

/** The child's module: sql-child.js beside the compiled sources, sql-child.ts beside the sources (run through tsx). */
function childModule(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  return { path: self.replace(/sql\.(ts|js)$/, ts ? 'sql-child.ts' : 'sql-child.js'), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/**
 * Runs the child on the tables in `file`. A scalar function on a huge value (levenshtein of
 * two 300,000-character strings, len(range(50000000))) runs inside one DuckDB call: neither
 * the interrupt nor memory_limit reaches it (an adversary's tryout ran one 187 s past a 60 s
 * limit, another to 19 GB past a 1 GB one). So the query runs in a process of its own, under
 * RLIMIT_DATA and RLIMIT_CPU (prlimit, where util-linux has it) and a wall clock the parent
 * keeps, and is killed at the limit: the strategy's failure, charged like any other.
 */
async function runChild(req: SqlChildRequest): Promise<SqlChildReply> {
  const { path, execArgv } = childModule();
  const node = [process.execPath, ...execArgv, path];
  const prlimit = findProgram('prlimit');
  const cpu = Math.ceil(req.limits.timeoutMs / 1000) + 1;
  const argv = prlimit ? [prlimit, `--cpu=${cpu}:${cpu + 1}`, `--data=${(req.limits.memoryMb + BASE_DATA_MB) * 1024 * 1024}`, '--', ...node] : node;
  return new Promise((resolve, reject) => {
    // fd 4: a pipe the parent never writes; the child exits when it closes (the parent died).
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, SIEVE_SQL_CHILD: '1' } });
    const chunks: Buffer[] = [];
    let stderr = '';
    let killed = false;
    // prlimit execs Node in its own process: the query's process is the child itself.
    const killGroup = () => {
      try { child.kill('SIGKILL'); } catch { /* gone */ }
    };
    const timer = setTimeout(() => { killed = true; killGroup(); }, req.limits.timeoutMs + KILL_GRACE_MS);
    // The parent's end: when this process dies, so does the query.
    const onExit = () => killGroup();
    process.once('exit', onExit);
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => chunks.push(b));
    // Drained, so that it closes with the child (the 'close' event waits for every pipe).
    (child.stdio[4] as NodeJS.ReadableStream).resume();
    child.stderr!.on('data', (b: Buffer) => { if (stderr.length < 16_384) stderr += b.toString('utf8'); });
    child.on('error', (err) => { clearTimeout(timer); process.removeListener('exit', onExit); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', onExit);
      if (killed) return resolve({ ok: false, error: { message: stoppedError(req.where, req.limits).message, where: req.where, examples: stoppedError(req.where, req.limits).examples } });
      // A whole reply is the answer (the child ends itself with SIGKILL once it is written).
      const text = Buffer.concat(chunks).toString('utf8');
      if (text) {
        try { return resolve(JSON.parse(text) as SqlChildReply); } catch { /* cut short: fall through */ }
      }
      if (signal === 'SIGXCPU' || signal === 'SIGKILL') {
        const e = stoppedError(req.where, req.limits);
        return resolve({ ok: false, error: { message: `${e.message} (its CPU-time limit)`, where: req.where, examples: e.examples } });
      }
      // Allocation failures outside DuckDB's own accounting (under RLIMIT_AS) end the process.
      if (/out of memory|bad_alloc|Allocation failed|could not allocate/i.test(stderr)) {
        const e = memoryError(req.where, req.limits);
        return resolve({ ok: false, error: { message: e.message, where: req.where } });
      }
      reject(new Error(`internal: the SQL strategy's process ended (${signal ?? `exit ${code}`}) without an answer: ${stderr.split('\n').filter(Boolean).slice(-3).join(' / ')}`));
    });
    child.stdin!.end(JSON.stringify(req));
  });
}

export const sqlRunner: StrategyRunner = {
  kind: 'sql',
  async run(source: StrategySource, input: StrategyInput): Promise<StrategyOutput> {
    const where = source.path;
    const task = taskOf(input.task);
    const { limits } = input;
    // The train file must be what the manifest says (the same check the evaluator makes).
    await verifyPoolFiles(input.pool, ['train']);
    if (firstToken(source.text) >= source.text.length) throw new SieveError('the SQL strategy holds no statement (only comments or blanks)', { where });
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'sieve-sql-')));
    const untrack = trackTemp(dir);
    try {
      // The participant data in a DuckDB file of its own, which the child opens read-only.
      const file = join(dir, 'strategy.duckdb');
      const db = await DuckDBInstance.create(file, { threads: '1', temp_directory: '', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
      const conn = await db.connect();
      try {
        await copyParticipantSplit(conn, input.pool, 'pool');
        await createParams(conn, input);
        // The findings are computed only for strategies that name them (an audit of the pool);
        // one the text does not name but the query reaches is loaded on the child's request.
        if (namesFindings(source.text)) await loadFindings(conn, input);
      } finally {
        conn.closeSync();
        db.closeSync();
      }
      const req: SqlChildRequest = { file, sql: source.text, where, task: task.name, budget: input.budget, limits, findingsLoaded: namesFindings(source.text) };
      let reply = await runChild(req);
      if (!reply.ok && reply.missingFindings) {
        const again = await DuckDBInstance.create(file, { threads: '1', temp_directory: '' });
        const c2 = await again.connect();
        try { await loadFindings(c2, input); } finally { c2.closeSync(); again.closeSync(); }
        reply = await runChild({ ...req, findingsLoaded: true });
      }
      if (!reply.ok) {
        const e = reply.error;
        const opts = { where: e.where ?? where, ...(e.examples ? { examples: e.examples } : {}), ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}) };
        if (e.submission) throw new SubmissionError(e.submission as ConstructorParameters<typeof SubmissionError>[0], e.message, opts);
        throw new SieveError(e.message, opts);
      }
      return task.columns.includes('label') ? { ids: reply.ids, labels: reply.labels ?? [] } : { ids: reply.ids };
    } finally {
      await rm(dir, { recursive: true, force: true });
      untrack();
    }
  },
};

/** Whether the text names the table findings outside comments and string literals. */
function namesFindings(sql: string): boolean {
  return /\bfindings\b/i.test(sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ' '));
}
