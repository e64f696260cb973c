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
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '');
  // The lines to skip are physical lines (a preamble); after them, records, not lines: a
  // quoted field may hold line breaks (split by the same quoting rule as splitRecord, for
  // each candidate delimiter).
  let body = text;
  for (let s = 0; s < skipLines; s++) {
    const m = /\r\n|\n|\r/.exec(body);
    body = m ? body.slice(m.index + m[0].length) : '';
  }
  const recordsFor = (d: string) => {
    let records = splitRecords(body, d);
    if (!fullFile) records = records.slice(0, -1); // the last record may be cut off
    return records.filter((l) => l.trim() !== '').slice(0, 200);
  };
  if (DELIMITERS.every((d) => recordsFor(d).length === 0)) throw new SieveError('cannot tell the delimiter: no complete line in the first 64 KiB', { where: path });
  let best: { d: string; fields: number; share: number; lines: string[] } | undefined;
  for (const d of DELIMITERS) {
    const lines = recordsFor(d);
    if (lines.length === 0) continue;
    const counts = lines.map((l) => splitRecord(l, d).length);
    const mode = modeOf(counts);
    if (mode < 2) continue;
    const share = counts.filter((c) => c === mode).length / counts.length;
    if (!best || share > best.share || (share === best.share && mode > best.fields)) best = { d, fields: mode, share, lines };
  }
  if (!best)
    throw new SieveError('cannot tell the delimiter of this text file', {
      where: path,
      examples: ['pass --delimiter C (and --format csv), or give the file a .csv/.tsv name'],
    });
  const rows = best.lines.map((l) => splitRecord(l, best!.d).map((v) => v.trim()));
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

/**
 * Splits text into CSV records at line breaks outside quoted fields, quotes read as
 * splitRecord reads them (a field is quoted when its first non-space character is ", and ""
 * inside it is a quote), so a stray " inside an unquoted value does not swallow the rest.
 */
export function splitRecords(text: string, delimiter: string): string[] {
  const out: string[] = [];
  let start = 0, inQuotes = false, fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') i++;
        else inQuotes = false;
      }
    } else if (ch === '"' && fieldStart && delimiter !== ' ') inQuotes = true;
    else if (ch === delimiter) fieldStart = true;
    else if (ch === '\n' || ch === '\r') {
      out.push(text.slice(start, i));
      if (ch === '\r' && text[i + 1] === '\n') i++;
      start = i + 1;
      fieldStart = true;
    } else if (ch !== ' ') fieldStart = false;
  }
  out.push(text.slice(start));
  return out;
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
