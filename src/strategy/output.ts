/**
 * A strategy's output as a submission file: CSV with the header `id` (or `id,label`), one
 * entry per line in output order, fields quoted per RFC 4180 only when they must be, `\n`
 * line ends. The output's sha256 is the sha256 of these bytes, so `sieve strategy run --out`
 * writes exactly the file whose hash the result record names, and `sieve evaluate` of that
 * file scores the same rows.
 */
import { sha256Hex } from '../submission/parse.ts';
import type { StrategyOutput } from './types.ts';

function csvField(s: string | null): string {
  if (s === null) return '';
  // Quote what a CSV reader would otherwise split or trim: commas, quotes, line breaks, edge blanks.
  return /[",\r\n]|^\s|\s$/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s;
}

export function outputCsv(out: StrategyOutput): string {
  const withLabels = out.labels !== undefined;
  const lines = [withLabels ? 'id,label' : 'id'];
  for (let i = 0; i < out.ids.length; i++) {
    lines.push(withLabels ? `${csvField(out.ids[i])},${csvField(out.labels![i] ?? null)}` : csvField(out.ids[i]));
  }
  return lines.join('\n') + '\n';
}

export function outputSha256(out: StrategyOutput): string {
  return sha256Hex(new TextEncoder().encode(outputCsv(out)));
}
