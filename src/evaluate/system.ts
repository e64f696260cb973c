/** Where and how fast a score was computed: recorded next to every result, never compared. */
import { availableParallelism, cpus } from 'node:os';
import { version as duckdbVersion } from '@duckdb/node-api';

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
}

export function systemFigures(fitSeconds: number, totalSeconds: number): SystemFigures {
  return {
    fit_seconds: round3(fitSeconds),
    total_seconds: round3(totalSeconds),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpu_model: cpus()[0]?.model?.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    duckdb: duckdbVersion(),
    platform: `${process.platform}-${process.arch}`,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
