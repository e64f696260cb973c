import type { Finding } from '../analysers/types.ts';
import type { AuditResult } from '../analysers/audit.ts';

/**
 * Choosing which findings a report shows when it cannot show them all: flagged rows first,
 * then the most suspicious by score. Higher `score` means more suspicious (the contract in
 * src/analysers/types.ts); ties keep the analyser's own order, so the pick is deterministic.
 */
export function topFindings(findings: readonly Finding[], limit: number): Finding[] {
  const order = new Int32Array(findings.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const sorted = Array.from(order).sort((a, b) => {
    const fa = findings[a], fb = findings[b];
    if (fa.flagged !== fb.flagged) return fa.flagged ? -1 : 1;
    const sa = Number.isFinite(fa.score) ? fa.score : -Infinity;
    const sb = Number.isFinite(fb.score) ? fb.score : -Infinity;
    if (sa !== sb) return sb - sa;
    return a - b;
  });
  return sorted.slice(0, Math.max(0, limit)).map((i) => findings[i]);
}

export function countFlagged(findings: readonly Finding[]): number {
  let n = 0;
  for (const f of findings) if (f.flagged) n++;
  return n;
}

/** Detail keys that name the given and the suggested label, in the order they are tried. */
const GIVEN_KEYS = ['given_label', 'given', 'label'];
const SUGGESTED_KEYS = ['suggested_label', 'suggested', 'predicted_label', 'predicted'];

export function detailString(f: Finding, keys: readonly string[]): string | null {
  for (const k of keys) {
    const v = f.detail[k];
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return null;
}

export const givenLabelOf = (f: Finding): string | null => detailString(f, GIVEN_KEYS);
export const suggestedLabelOf = (f: Finding): string | null => detailString(f, SUGGESTED_KEYS);

/**
 * The result whose findings are per-row label-error suspicions: the `label-errors` analyser,
 * else the first whose name starts with `label-errors` (e.g. the kNN variant when it runs alone).
 */
export function labelErrorResult(results: readonly AuditResult[]): AuditResult | undefined {
  return results.find((r) => r.name === 'label-errors') ?? results.find((r) => r.name.startsWith('label-errors'));
}
