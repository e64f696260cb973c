/**
 * Human-readable forms of metric summaries: "0.8123 ± 0.0021" and "[0.8050, 0.8190]", and the
 * list of metric names a challenge reports (families expanded to every class / group).
 */
import type { MetricSummary } from '../../evaluator/aggregate.ts';
import { splitMetricName } from '../challenge/schema.ts';
import { fmt } from '../util/output.ts';

export function meanStd(m: MetricSummary | undefined, digits = 4): string {
  if (!m || m.mean === null || !Number.isFinite(m.mean)) return 'n/a';
  return `${fmt(m.mean, digits)} ± ${fmt(m.std ?? NaN, digits)}`;
}

/** The mean alone ("0.8123"), for secondary leaderboard columns; std and intervals are in --json. */
export function meanOnly(m: MetricSummary | undefined, digits = 4): string {
  if (!m || m.mean === null || !Number.isFinite(m.mean)) return 'n/a';
  return fmt(m.mean, digits);
}

export function ci(m: MetricSummary | undefined, digits = 4): string {
  if (!m || !m.ci95 || m.ci95[0] === null || !Number.isFinite(m.ci95[0])) return 'n/a';
  return `[${fmt(m.ci95[0], digits)}, ${fmt(m.ci95[1], digits)}]`;
}

/**
 * Metric names to show, in order: the primary first, then each `report` entry; a family
 * expands to every metric of that family present in `available` (e.g. f1 → f1[Coat], ...).
 */
export function reportedMetricNames(primary: string, report: readonly string[], available: readonly string[]): string[] {
  const out: string[] = [];
  const add = (n: string) => { if (!out.includes(n) && available.includes(n)) out.push(n); };
  add(primary);
  for (const r of report) {
    if (available.includes(r)) { add(r); continue; }
    const { family, arg } = splitMetricName(r);
    if (arg !== undefined) continue;
    for (const name of available) if (splitMetricName(name).family === family) add(name);
  }
  return out;
}

/** Per-class and per-group-value metrics: too many for a leaderboard column. */
function isPerItem(name: string): boolean {
  const { family, arg } = splitMetricName(name);
  return arg !== undefined && ['precision', 'recall', 'f1', 'group_accuracy'].includes(family);
}

/** Up to `max` reported metrics (after the primary) that fit a leaderboard column. */
export function leaderboardColumns(primary: string, report: readonly string[], available: readonly string[], max = 3): string[] {
  return reportedMetricNames(primary, report, available)
    .filter((n) => n !== primary && !isPerItem(n))
    .slice(0, max);
}

/** Leaderboard order: in-budget entries by primary mean (direction-aware), over-budget last. */
export function leaderboardOrder<T extends { over_budget: boolean; primary: { mean: number | null; direction: 'max' | 'min' } }>(rows: T[]): T[] {
  const key = (r: T) => (r.primary.mean === null ? -Infinity : r.primary.direction === 'max' ? r.primary.mean : -r.primary.mean);
  return [...rows].sort((a, b) => Number(a.over_budget) - Number(b.over_budget) || key(b) - key(a));
}

/**
 * Ranking records: the headline figure under each scoring rule, side by side, with what it
 * aims at (docs/challenges.md "Scoring rules"). Null for other tasks or when neither figure is there.
 */
export function scoringRulesLines(record: { challenge: { rules?: string }; metrics: Record<string, MetricSummary>; ranking?: { step: number } }): string[] {
  const m = record.metrics;
  if (!record.ranking || !m.fraction_to_95) return [];
  const rules = record.challenge.rules ?? 'sieve';
  const mark = (r: string) => (r === rules ? ' (this challenge ranks by it)' : '');
  const lines = [
    `sieve rule  auc ${meanStd(m.auc)}, fraction_to_95 ${meanStd(m.fraction_to_95)}: ` +
      `unrounded accuracy, target 95% of the clean-pool accuracy${mark('sieve')}`,
  ];
  const dp = m.dataperf_fraction_fixes;
  if (dp && dp.mean !== null && Number.isFinite(dp.mean)) {
    lines.push(
      `DataPerf    fraction_fixes ${meanStd(dp)}: accuracy rounded to 2 decimals, target 95% of the last point, ` +
        `first 0-based fix index reaching it / pool rows, lower is better${mark('dataperf')}`,
    );
  } else {
    lines.push(`DataPerf    fraction_fixes n/a: the official rule refits after every fix (ranking.step 1; this challenge uses ${record.ranking.step})`);
  }
  return lines;
}
