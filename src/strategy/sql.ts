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
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { appendTable } from '../pool/duckdb.ts';
import { copyParticipantSplit } from '../pool/read.ts';
import { verifyPoolFiles } from '../pool/integrity.ts';
import { SubmissionError } from '../submission/types.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import { firstToken } from '../sql/sandbox.ts';
import { trackTemp } from '../util/temps.ts';
import { findProgram } from './sandbox/layers.ts';
import { findingsTable } from './findings.ts';
import { memoryError, stoppedError, type SqlChildReply, type SqlChildRequest } from './sql-query.ts';
import type { StrategyInput, StrategyOutput, StrategyRunner, StrategySource } from './types.ts';

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
    const kill = () => {
      try { child.kill('SIGKILL'); } catch { /* gone */ }
    };
    const timer = setTimeout(() => { killed = true; kill(); }, req.limits.timeoutMs + KILL_GRACE_MS);
    // This process exiting normally takes the query with it (its watchdog covers a SIGKILL).
    const onExit = () => kill();
    process.once('exit', onExit);
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => chunks.push(b));
    // Drained, so that it closes with the child (the 'close' event waits for every pipe).
    (child.stdio[4] as NodeJS.ReadableStream).resume();
    child.stderr!.on('data', (b: Buffer) => { if (stderr.length < 16_384) stderr += b.toString('utf8'); });
    child.on('error', (err) => { clearTimeout(timer); process.removeListener('exit', onExit); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', onExit);
      const stopped = stoppedError(req.where, req.limits);
      if (killed) return resolve({ ok: false, error: { message: stopped.message, where: req.where, examples: stopped.examples } });
      // A whole reply is the answer (the child ends itself with SIGKILL once it is written).
      const text = Buffer.concat(chunks).toString('utf8');
      if (text) {
        try { return resolve(JSON.parse(text) as SqlChildReply); } catch { /* cut short: fall through */ }
      }
      if (signal === 'SIGXCPU' || signal === 'SIGKILL') {
        const why = signal === 'SIGXCPU' ? 'its CPU-time limit' : "its CPU-time hard limit or the system's out-of-memory killer";
        return resolve({ ok: false, error: { message: `${stopped.message} (${why})`, where: req.where, examples: stopped.examples } });
      }
      // Allocation failures outside DuckDB's own accounting (under RLIMIT_DATA) end the process.
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
      // The findings are computed only for strategies that name them (an audit of the pool);
      // one the text does not name but the query reaches is loaded on the child's request.
      const findingsNamed = namesFindings(source.text);
      await writeTables(file, async (conn) => {
        await copyParticipantSplit(conn, input.pool, 'pool');
        await createParams(conn, input);
        if (findingsNamed) await loadFindings(conn, input);
      });
      const req: SqlChildRequest = { file, sql: source.text, where, task: task.name, budget: input.budget, limits, findingsLoaded: findingsNamed };
      let reply = await runChild(req);
      if (!reply.ok && reply.missingFindings) {
        await writeTables(file, (conn) => loadFindings(conn, input));
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

/** Opens the strategy's DuckDB file (written by the parent only, before the child reads it) for `write`. */
async function writeTables(file: string, write: (conn: DuckDBConnection) => Promise<void>): Promise<void> {
  const db = await DuckDBInstance.create(file, { threads: '1', temp_directory: '', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const conn = await db.connect();
  try {
    await write(conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Whether the text names the table findings outside comments and string literals. */
function namesFindings(sql: string): boolean {
  return /\bfindings\b/i.test(sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ' '));
}
