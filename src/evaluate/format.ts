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
