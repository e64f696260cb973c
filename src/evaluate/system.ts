/** Where and how fast a score was computed: recorded next to every result, never compared. */
import { availableParallelism, cpus } from 'node:os';
import { machineThreads } from '../../compute/pool.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface SystemFigures {
  fit_seconds: number;
  total_seconds: number;
  /** Peak resident memory of this process so far. */
  peak_rss_mb: number;
  cpu_model: string;
  cores: number;
  node: string;
  duckdb: string;
  platform: string;
  threads?: number;
}

export function systemFigures(fitSeconds: number, totalSeconds: number): SystemFigures {
  return {
    fit_seconds: round3(fitSeconds),
    total_seconds: round3(totalSeconds),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpu_model: cpus()[0]?.model?.trim() ?? 'unknown',
    cores: availableParallelism(),
    // At most this many threads computed (SIEVE_THREADS / --threads); the figures do not depend on it.
    threads: machineThreads(),
    node: process.version,
    duckdb: duckdbPackageVersion(),
    platform: `${process.platform}-${process.arch}`,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

let duckdbVersion: string | undefined;
/**
 * The installed DuckDB package's version, read from its package.json: loading DuckDB (a
 * native library, up to a second) only to name its version would cost a cached evaluation,
 * which reads no Parquet, most of its time.
 */
function duckdbPackageVersion(): string {
  if (duckdbVersion === undefined) {
    try {
      const path = createRequire(import.meta.url).resolve('@duckdb/node-api/package.json');
      duckdbVersion = `@duckdb/node-api ${String((JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown }).version)}`;
    } catch {
      duckdbVersion = 'unknown';
    }
  }
  return duckdbVersion;
}
