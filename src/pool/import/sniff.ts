/**
 * Format sniffing for files whose name does not say (`adult.data`, `x.txt`): magic bytes for
 * the binary formats, then, for text, JSON Lines / ARFF / delimited text; for delimited text
 * the delimiter and whether the first line is a header — from the first 64 KiB only.
 */
import { SieveError } from '../../util/errors.ts';
import { splitRecord } from './text-scan.ts';

import type { ImportFormat } from '../choices.ts';
export type { ImportFormat } from '../choices.ts';

export const SNIFF_BYTES = 64 << 10;
const DELIMITERS = [',', '\t', ';', '|'];
/** Strict number syntax: what a numeric column may hold (no hex, no inf/nan, no 1_000). */
export const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Format from the first bytes, or undefined when they do not tell. */
export function sniffFormat(head: Uint8Array): ImportFormat | undefined {
  const ascii = (s: string, at = 0) => s.split('').every((ch, i) => head[at + i] === ch.charCodeAt(0));
  if (ascii('PAR1')) return 'parquet';
  if (ascii('ARROW1')) return 'arrow';
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes(head[2]) && head[3] >= 1 && head[3] <= 8) return 'idx';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'idx'; // gzip: the one compressed format sieve reads
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '');
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '' && !l.trimStart().startsWith('%'));
  if (first === undefined) return undefined;
  if (/^\s*@relation\b/i.test(first)) return 'arff';
  if (/^\s*\{/.test(first)) return 'jsonl';
  return 'csv';
}

export interface CsvSniff {
  delimiter: string;
  header: boolean;
  /** Why, in words, for the notes the import prints. */
  reason: string;
  /** Fields per line with that delimiter (the commonest count) and the share of sampled lines that have it. */
  fields: number;
  share: number;
}

/**
 * Picks the delimiter that splits the sample lines into the same number (> 1) of fields
 * most consistently, then decides whether line 1 is a header: it is when some column holds
 * numbers in every other sampled line but not in line 1 (as Python's csv.Sniffer), or when no
 * column holds numbers at all and line 1's values never recur below it.
 */
export function sniffCsv(head: Uint8Array, path: string, fullFile: boolean, skipLines = 0): CsvSniff {
  let text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '');
  let lines = text.split(/\r\n|\n|\r/);
  if (!fullFile) lines = lines.slice(0, -1); // the last line may be cut off
  lines = lines.slice(skipLines);
  lines = lines.filter((l) => l.trim() !== '').slice(0, 200);
  if (lines.length === 0) throw new SieveError('cannot tell the delimiter: no complete line in the first 64 KiB', { where: path });
  let best: { d: string; fields: number; share: number } | undefined;
  for (const d of DELIMITERS) {
    const counts = lines.map((l) => splitRecord(l, d).length);
    const mode = modeOf(counts);
    if (mode < 2) continue;
    const share = counts.filter((c) => c === mode).length / counts.length;
    if (!best || share > best.share || (share === best.share && mode > best.fields)) best = { d, fields: mode, share };
  }
  if (!best)
    throw new SieveError('cannot tell the delimiter of this text file', {
      where: path,
      examples: ['pass --delimiter C (and --format csv), or give the file a .csv/.tsv name'],
    });
  const rows = lines.map((l) => splitRecord(l, best!.d).map((v) => v.trim()));
  const header = looksLikeHeader(rows.filter((r) => r.length === best!.fields));
  const shown = best.d === '\t' ? 'tab' : `"${best.d}"`;
  return {
    delimiter: best.d,
    header,
    reason: `sniffed from the first lines: delimiter ${shown}, ${header ? 'a header line' : 'no header line'}`,
    fields: best.fields,
    share: best.share,
  };
}

function modeOf(xs: number[]): number {
  const freq = new Map<number, number>();
  for (const x of xs) freq.set(x, (freq.get(x) ?? 0) + 1);
  let best = 0;
  let bestN = 0;
  for (const [x, n] of freq) if (n > bestN || (n === bestN && x > best)) [best, bestN] = [x, n];
  return best;
}

/** Values that mark a missing field in common files (not numbers, not names). */
const MISSING_MARKS = new Set(['', '?', 'NA', 'N/A', 'NaN', 'null']);

function looksLikeHeader(rows: string[][]): boolean {
  if (rows.length < 2) return false;
  const [first, ...rest] = rows;
  const isNum = (v: string) => NUMBER_RE.test(v);
  let numericCols = 0;
  for (let j = 0; j < first.length; j++) {
    const below = rest.map((r) => r[j]).filter((v) => !MISSING_MARKS.has(v));
    if (below.length && below.every(isNum)) {
      numericCols++;
      if (!isNum(first[j]) && !MISSING_MARKS.has(first[j])) return true;
    }
  }
  if (numericCols > 0) return false; // numbers in line 1 where numbers are below it
  // No numeric column: a header's values are names that do not occur as data.
  return first.every((v, j) => v !== '' && !rest.some((r) => r[j] === v));
}
