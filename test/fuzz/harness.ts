/**
 * The parent side of the fuzz harness: runs a family's cases in one child process
 * (runner.ts), in process there, with a watchdog here that bounds each case's time and the
 * child's memory, and survives the child dying (segfault, abort, out of heap). A case that
 * ends any way but a clean accept or a SieveError is a failure, reported with its seed and
 * the command that replays it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAILURES, type CaseResult, type Family } from './cases.ts';
import type { RunRequest } from './runner.ts';
import { formatOfSeed } from './formats.ts';

export interface FuzzSettings {
  family: Family;
  seeds: number[];
  /** Per case; the first case of a child also gets the start-up allowance. */
  timeoutMs: number;
  /** Resident memory of the child, checked every 50 ms. */
  memLimitMb: number;
  runKnown: boolean;
  /** The test file that replays a seed. */
  testFile: string;
}

const int = (v: string | undefined, fallback: number) => (v !== undefined && v.trim() !== '' && Number.isFinite(Number(v)) ? Math.trunc(Number(v)) : fallback);

/** Settings from the environment: SIEVE_FUZZ_SEED (first seed), SIEVE_FUZZ_CASES, SIEVE_FUZZ_TIMEOUT_MS, SIEVE_FUZZ_MEM_MB, SIEVE_FUZZ_KNOWN=run. */
export function fuzzSettings(family: Family, defaultCases: number, testFile: string): FuzzSettings {
  const first = int(process.env.SIEVE_FUZZ_SEED, 1);
  const n = int(process.env.SIEVE_FUZZ_CASES, defaultCases);
  return {
    family,
    seeds: Array.from({ length: Math.max(0, n) }, (_, i) => first + i),
    timeoutMs: int(process.env.SIEVE_FUZZ_TIMEOUT_MS, 60_000),
    memLimitMb: int(process.env.SIEVE_FUZZ_MEM_MB, 1536),
    runKnown: process.env.SIEVE_FUZZ_KNOWN === 'run',
    testFile,
  };
}

const RUNNER = fileURLToPath(new URL('./runner.mjs', import.meta.url));
const STARTUP_MS = 30_000;

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0; // not Linux, or the process is gone
  }
}

/** Runs every seed; returns one result per seed, in seed order. */
export async function runFuzz(s: FuzzSettings): Promise<CaseResult[]> {
  const root = mkdtempSync(join(tmpdir(), 'sieve-fuzz-'));
  for (const d of ['tmp', 'cwd', 'cases', 'gen']) mkdirSync(join(root, d));
  const results: CaseResult[] = [];
  try {
    let todo = s.seeds.slice();
    while (todo.length) {
      const done = await runChild(s, root, todo);
      results.push(...done);
      todo = todo.slice(done.length);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

/** One child over `seeds`; stops at the first case that kills it or runs over its bounds. */
function runChild(s: FuzzSettings, root: string, seeds: number[]): Promise<CaseResult[]> {
  return new Promise((resolve) => {
    const out: CaseResult[] = [];
    const child: ChildProcess = fork(RUNNER, [], {
      cwd: join(root, 'cwd'),
      env: { ...process.env, TMPDIR: join(root, 'tmp'), SIEVE_FUZZ_ROOT: root, SIEVE_WORKSPACE: join(root, 'cwd', '.sieve') },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [`--max-old-space-size=${s.memLimitMb}`],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let finished = false;
    let timer: NodeJS.Timeout;
    // What the child said about the case it is running (lost only if it dies at once).
    let started: Pick<CaseResult, 'seed' | 'format' | 'mutations'> | undefined;
    const fail = (outcome: CaseResult['outcome'], detail: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(watch);
      const seed = seeds[out.length];
      if (out.length < seeds.length) {
        const known = started?.seed === seed ? started : { seed, format: formatOfSeed(s.family, seed), mutations: [] };
        out.push({ ...known, outcome, detail });
      }
      child.kill('SIGKILL');
    };
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => fail('timeout', `no answer within ${ms} ms`), ms);
    };
    const watch = setInterval(() => {
      const mb = rssMb(child.pid!);
      if (mb > s.memLimitMb) fail('memory', `resident memory reached ${Math.round(mb)} MB (limit ${s.memLimitMb} MB)`);
    }, 50);
    child.on('message', (m: { type: string; result?: CaseResult; case?: Pick<CaseResult, 'seed' | 'format' | 'mutations'> }) => {
      if (m.type === 'start') started = m.case;
      else if (m.type === 'result' && m.result) {
        out.push(m.result);
        arm(s.timeoutMs);
        // The bound is on one case: memory earlier cases left resident (allocator arenas,
        // DuckDB's caches) counted against the next (CI: a wide Parquet case at 1,546 MB after
        // 210 cases in one child, which passes replayed alone). Past half the bound, the child
        // is retired between cases and the rest run in a fresh one.
        if (out.length < seeds.length && rssMb(child.pid!) > s.memLimitMb / 2) {
          finished = true;
          clearTimeout(timer);
          clearInterval(watch);
          child.kill('SIGKILL');
        }
      } else if (m.type === 'finished') {
        finished = true;
        clearTimeout(timer);
        clearInterval(watch);
      }
    });
    child.on('exit', (code, signal) => {
      if (!finished) fail('died', `child exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-12).join('\n')}`);
      clearTimeout(timer);
      clearInterval(watch);
      resolve(out);
    });
    arm(s.timeoutMs + STARTUP_MS);
    const req: RunRequest = { family: s.family, seeds, runKnown: s.runKnown };
    child.send(req);
  });
}

export const isFailure = (r: CaseResult) => FAILURES.includes(r.outcome);

export function replayCommand(s: Pick<FuzzSettings, 'testFile'>, seed: number): string {
  return `SIEVE_FUZZ_SEED=${seed} SIEVE_FUZZ_CASES=1 npx vitest run ${s.testFile}`;
}

export function describeFailure(s: Pick<FuzzSettings, 'testFile'>, r: CaseResult): string {
  return `seed ${r.seed} [${r.format}; ${r.mutations.join(', ') || '?'}] ${r.outcome}: ${r.detail ?? ''}\n  replay: ${replayCommand(s, r.seed)}`;
}

/** Counts per format: cases, accepted, rejected, known (skipped), failed, and seconds spent in the calls. */
export interface FormatSummary { cases: number; accepted: number; rejected: number; known: number; failed: number; seconds: number }
export function summarise(results: CaseResult[]): Record<string, FormatSummary> {
  const out: Record<string, FormatSummary> = {};
  for (const r of results) {
    const s = (out[r.format] ??= { cases: 0, accepted: 0, rejected: 0, known: 0, failed: 0, seconds: 0 });
    s.cases++;
    s.seconds = Math.round((s.seconds + (r.ms ?? 0) / 1000) * 10) / 10;
    if (r.outcome === 'accepted') s.accepted++;
    else if (r.outcome === 'rejected') s.rejected++;
    else if (r.outcome === 'known') s.known++;
    else s.failed++;
  }
  return out;
}
