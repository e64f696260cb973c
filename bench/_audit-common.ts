/**
 * What bench/audit-million.ts and bench/audit-fashion.ts share: `sieve audit` run as a user
 * runs it (a fresh process through bin/sieve.mjs, its peak RSS taken by bench/_peak-rss.mjs),
 * the reference (bench/_audit_reference.py: cleanlab 2.9.0's Datalab pieces and scikit-learn on
 * the same rows, skipped cleanly when Python, scikit-learn or cleanlab is missing), and the
 * table of seconds per analyser.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import type { PoolSplit } from '../src/pool/types.ts';

export const here = import.meta.dirname;
export const BIN = resolve(here, '..', 'bin', 'sieve.mjs');
const PRELOAD = resolve(here, '_peak-rss.mjs');
const PYTHON = '/usr/bin/python3';
const CLEANLAB = process.env.CLEANLAB_PATH ?? resolve(here, '..', '..', 'shared', 'reference', 'cleanlab-2.9.0');

export const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
export const flag = (name: string): boolean => process.argv.includes(`--${name}`);
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

export interface AuditRunResult {
  wall: number;
  /** Peak RSS of the audit process, MiB. */
  rssMiB: number;
  /** The --json report. */
  json: any;
  htmlBytes: number | null;
  dbBytes: number | null;
}

/** `sieve audit TARGET ARGS --json` in a fresh process; HTML and DuckDB outputs into `dir` when asked. */
export function runSieveAudit(target: string, args: string[], dir: string, outputs: { html?: boolean; db?: boolean } = {}): AuditRunResult {
  mkdirSync(dir, { recursive: true });
  const rssFile = join(dir, 'rss.txt');
  const html = join(dir, 'report.html'), db = join(dir, 'audit.duckdb');
  for (const f of [rssFile, html, db]) rmSync(f, { force: true });
  const extra = [...(outputs.html ? ['--html', html] : []), ...(outputs.db ? ['--db', db] : [])];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', PRELOAD, BIN, 'audit', target, ...args, ...extra, '--json', '--top', '0'], {
    encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, SIEVE_BENCH_RSS_FILE: rssFile },
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`sieve audit ${target} exited ${r.status}:\n${r.stderr}`);
  return {
    wall,
    rssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024,
    json: JSON.parse(r.stdout),
    htmlBytes: outputs.html ? statSync(html).size : null,
    dbBytes: outputs.db ? statSync(db).size : null,
  };
}

/** Seconds per analyser of an audit's --json report, and the out-of-sample model's share. */
export function analyserSeconds(json: any): { name: string; seconds: number; severity: string }[] {
  return (json.pool.analysers as any[]).map((a) => ({ name: a.name, seconds: a.seconds, severity: a.severity }));
}

/** Why the reference cannot run, or null. */
export function pythonReason(): string | null {
  if (flag('no-python')) return 'skipped (--no-python)';
  if (!existsSync(PYTHON)) return `skipped: ${PYTHON} not found`;
  if (!existsSync(join(CLEANLAB, 'cleanlab'))) return `skipped: cleanlab 2.9.0 not found at ${CLEANLAB} (set CLEANLAB_PATH)`;
  const r = spawnSync(PYTHON, ['-c', 'import sklearn, cleanlab.filter, cleanlab.outlier'], { env: { ...process.env, PYTHONPATH: CLEANLAB }, encoding: 'utf8' });
  if (r.status !== 0) return `skipped: python3-sklearn or cleanlab's dependencies missing (${(r.stderr || '').trim().split('\n').pop()})`;
  return null;
}

/** Writes a split's features and labels as raw little-endian files for the reference. */
export function writeRawSplit(split: PoolSplit, dir: string): { features: string; labels: string } {
  mkdirSync(dir, { recursive: true });
  const features = join(dir, 'features.f32'), labels = join(dir, 'labels.i32');
  writeFileSync(features, new Uint8Array(split.features.buffer, split.features.byteOffset, split.features.byteLength));
  writeFileSync(labels, new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength));
  return { features, labels };
}

/** One reference run (wall seconds of the whole process, and the script's own figures). */
export function runReference(raw: { features: string; labels: string }, n: number, d: number, k: number): { wall: number; json: any } {
  const t0 = performance.now();
  const r = spawnSync(PYTHON, [join(here, '_audit_reference.py'), raw.features, raw.labels, String(n), String(d), String(k)], {
    encoding: 'utf8', env: { ...process.env, PYTHONPATH: CLEANLAB, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' },
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`reference exited ${r.status}:\n${r.stderr}`);
  return { wall, json: JSON.parse(r.stdout.trim().split('\n').pop()!) };
}

/** A fixed-width table (the benchmarks print to a pipe as often as to a terminal). */
export function table(head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  for (const [i, r] of cells.entries()) {
    console.log(r.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  '));
    if (i === 0) console.log(w.map((x) => '-'.repeat(x)).join('  '));
  }
}
