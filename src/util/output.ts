import { createRequire } from 'node:module';
import type TableModule from 'cli-table3';

// cli-table3 is loaded on the first table, so `--help` and --json output never load it.
const require = createRequire(import.meta.url);
let Table: typeof TableModule | undefined;

/**
 * Width human tables are fitted to: the terminal's columns when stdout is a terminal, else
 * `$COLUMNS` when set, else 120 (pipes, files and CI logs), so a table never needs a wider
 * window than the one it was printed in. `--json` always holds the full values.
 */
export const DEFAULT_TABLE_WIDTH = 120;

export function terminalWidth(): number {
  if (process.stdout.isTTY && process.stdout.columns > 0) return process.stdout.columns;
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env >= 40) return env;
  return DEFAULT_TABLE_WIDTH;
}

export type Cell = string | number | bigint | boolean | null | undefined;

export interface TableOptions {
  /** Widest line allowed, borders included (default: terminalWidth()). */
  width?: number;
  /** Leading columns that are never dropped when even the narrowest layout is too wide (default 1). */
  keep?: number;
  /** Print at most this many rows; a line then says how many were left out and `more` how to see them. */
  maxRows?: number;
  /** How to see what was left out (dropped columns, rows, cut cells), e.g. "--json prints every value". */
  more?: string;
  /** Lines a wrapped cell may take before the rest is cut with "…" (default: no limit). */
  maxCellLines?: number;
}

export interface FittedTable {
  text: string;
  /** Columns left out because even the narrowest layout of the rest was too wide. */
  droppedColumns: string[];
  /** Rows left out by `maxRows`. */
  droppedRows: number;
  /** Whether some cell was cut short (marked with "…"). */
  elided: boolean;
}

/** Narrowest a column is squeezed to before columns are dropped instead ... */
const MIN_COLUMN = 8;
/** ... or its header's longest piece, up to this, so that headers stay readable. */
const MAX_HEADER_FLOOR = 16;
/** Longest word kept whole when columns give way (longer ones may be cut if space is short). */
const MAX_WORD_FLOOR = 32;

/** Display width in characters (code points; the tables hold no wide CJK text). */
function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function cellText(v: Cell): string {
  return v === null || v === undefined ? '' : String(v);
}

function naturalWidth(s: string): number {
  let w = 0;
  for (const line of s.split('\n')) w = Math.max(w, width(line));
  return w;
}

function cut(s: string, w: number): string {
  const chars = [...s];
  return chars.length <= w ? s : chars.slice(0, Math.max(0, w - 1)).join('') + '…';
}

/**
 * Wraps `s` to lines of at most `w` characters: prose at spaces (a word longer than the line
 * is broken), a single token (an id, a hash, a list) cut with "…" since a broken token reads
 * as two values. At most `maxLines` lines; `elided` says whether anything was cut.
 */
export function wrapCell(s: string, w: number, maxLines = Infinity): { text: string; elided: boolean } {
  if (naturalWidth(s) <= w) return { text: s, elided: false };
  const lines: string[] = [];
  let elided = false;
  for (const para of s.split('\n')) {
    const words = para.split(' ').filter((x, i, a) => x !== '' || a.length === 1);
    if (words.length === 1) {
      if (width(words[0]) > w) elided = true;
      lines.push(cut(words[0], w));
      continue;
    }
    let line = '';
    for (let word of words) {
      while (width(word) > w) {
        // Fill the current line (or a fresh one) with the head of the word.
        const room = line ? w - width(line) - 1 : w;
        if (room < 2) { lines.push(line); line = ''; continue; }
        const chars = [...word];
        const head = chars.slice(0, room).join('');
        lines.push(line ? `${line} ${head}` : head);
        line = '';
        word = chars.slice(room).join('');
      }
      if (line && width(line) + 1 + width(word) > w) { lines.push(line); line = word; }
      else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  if (lines.length > maxLines) {
    lines.length = maxLines;
    const last = [...lines[maxLines - 1]];
    lines[maxLines - 1] = (last.length >= w ? last.slice(0, w - 1).join('') : last.join('')) + '…';
    elided = true;
  }
  return { text: lines.join('\n'), elided };
}

/** Total line width of a table whose columns hold `w` characters each (1 space padding, borders). */
function tableWidth(w: number[]): number {
  return w.reduce((s, x) => s + x + 3, 1);
}

/**
 * Column widths that fit `max`: every column keeps its natural width if it fits; else the
 * widest columns give way first (water-filling: a common cap on the wide ones, narrow ones
 * untouched), never below their floor.
 */
function fitWidths(natural: number[], floor: number[], max: number): number[] {
  if (tableWidth(natural) <= max) return natural;
  const room = max - tableWidth(natural.map(() => 0));
  // Largest cap c with sum(max(floor, min(natural, c))) <= room.
  let lo = 0, hi = Math.max(...natural);
  const used = (c: number) => natural.reduce((s, w, j) => s + Math.max(floor[j], Math.min(w, c)), 0);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (used(mid) <= room) lo = mid;
    else hi = mid - 1;
  }
  return grow(natural.map((w, j) => Math.max(floor[j], Math.min(w, lo))), natural, max);
}

/**
 * Widens columns towards `want` with whatever room `max` leaves: first the columns the room
 * makes whole (nearest first), then one character each, left to right.
 */
function grow(widths: number[], want: number[], max: number): number[] {
  const out = [...widths];
  let spare = max - tableWidth(out);
  const short = out.map((_, j) => j).filter((j) => out[j] < want[j]).sort((a, b) => want[a] - out[a] - (want[b] - out[b]) || a - b);
  for (const j of short) if (want[j] - out[j] <= spare) { spare -= want[j] - out[j]; out[j] = want[j]; }
  for (let j = 0; j < out.length && spare > 0; j++) if (out[j] < want[j]) { out[j]++; spare--; }
  return out;
}

/** A header's pieces: words, and within words the parts after "_" or before "[" ("worst_group_accuracy[sex]"). */
function headerParts(h: string): string[][] {
  return h.split(/\s+/).filter(Boolean).map((w) => w.split(/(?<=_)|(?=\[)/));
}

/** Wraps a header to `w`: at spaces, else after "_" or before "[", and cuts only what still does not fit. */
function wrapHeader(h: string, w: number): string {
  if (naturalWidth(h) <= w) return h;
  const lines: string[] = [];
  let line = '';
  for (const word of headerParts(h)) {
    word.forEach((part, i) => {
      const sep = i === 0 && line ? ' ' : '';
      if (line && width(line) + sep.length + width(part) > w) { lines.push(line); line = part; }
      else line += sep + part;
    });
  }
  lines.push(line);
  return lines.map((l) => cut(l, w)).join('\n');
}

/** Values up to this long are kept on one line while there is room (a figure, a date, "0.77 ± 0.01"). */
const ATOM_WIDTH = 20;

/**
 * Lays out a table no wider than `opts.width`: headers wrapped first, then cells wrapped or
 * cut, trailing columns dropped only when even the narrowest layout cannot fit. Each column
 * keeps, in order of preference while the total fits: short values whole, then every word
 * whole, then at least MIN_COLUMN characters; the widest columns give way first.
 */
export function fitTable(head: string[], rows: Cell[][], opts: TableOptions = {}): FittedTable {
  const max = opts.width ?? terminalWidth();
  const keep = Math.max(1, opts.keep ?? 1);
  const shownRows = opts.maxRows !== undefined && rows.length > opts.maxRows ? rows.slice(0, opts.maxRows) : rows;
  const body = shownRows.map((r) => head.map((_, j) => cellText(r[j])));
  const column = (j: number) => body.map((r) => r[j]);
  const longestWord = (s: string) => Math.max(0, ...s.split(/\s+/).map(width));
  // A short header is kept whole like a short value; a long one may wrap.
  const headerPart = head.map((h) => (naturalWidth(h) <= ATOM_WIDTH ? naturalWidth(h) : Math.max(0, ...headerParts(h).flat().map(width))));
  const full = head.map((h, j) => Math.max(naturalWidth(h), ...column(j).map(naturalWidth)));
  // Too wide: headers wrap before any value does ("accuracy (max)" over "mean ± std").
  const natural = tableWidth(full) <= max ? full : head.map((_, j) => Math.max(headerPart[j], ...column(j).map(naturalWidth)));
  const cap = (j: number, w: number) => Math.min(natural[j], w);
  const tiers = [
    head.map((_, j) => cap(j, Math.max(headerPart[j], ...column(j).map((c) => (naturalWidth(c) <= ATOM_WIDTH ? naturalWidth(c) : longestWord(c)))))),
    head.map((_, j) => cap(j, Math.max(headerPart[j], Math.min(MAX_WORD_FLOOR, Math.max(0, ...column(j).map(longestWord)))))),
    head.map((_, j) => cap(j, Math.max(MIN_COLUMN, Math.min(headerPart[j], MAX_HEADER_FLOOR)))),
  ];
  const hard = tiers[2];
  let cols = head.length;
  while (cols > keep && tableWidth(hard.slice(0, cols)) > max) cols--;
  // Give way column by column, widest first: short values whole, then words whole, then the hard floor.
  const floor = tiers[0].slice(0, cols);
  for (let tier = 1; tier < tiers.length && tableWidth(floor) > max; tier++) {
    const order = floor.map((_, j) => j).sort((a, b) => floor[b] - floor[a] || a - b);
    for (const j of order) {
      if (tableWidth(floor) <= max) break;
      floor[j] = Math.min(floor[j], tiers[tier][j]);
    }
  }
  // Room left after the values fit goes to the headers that wrapped.
  const widths = grow(fitWidths(natural.slice(0, cols), floor, max), full.slice(0, cols), max);
  let elided = false;
  const fit = (s: string, j: number) => {
    // The leading `keep` columns name the row: a long name wraps like a header, at "_" and
    // before "[" ("worst_group_" over "accuracy[sex]"), instead of being cut to a prefix that
    // several rows share.
    if (j < keep && naturalWidth(s) > widths[j]) {
      const text = wrapHeader(s, widths[j]);
      elided ||= text.replace(/\n/g, '').length < s.replace(/\s+/g, '').length;
      return text;
    }
    const r = wrapCell(s, widths[j], opts.maxCellLines);
    elided ||= r.elided;
    return r.text;
  };
  // Headers are never counted as cut values: the full names are in --json.
  Table ??= require('cli-table3') as typeof TableModule;
  const t = new Table({
    head: head.slice(0, cols).map((h, j) => wrapHeader(h, widths[j])),
    colWidths: widths.map((w) => w + 2),
    style: { head: [], border: [] },
  });
  for (const r of body) t.push(r.slice(0, cols).map(fit));
  return { text: t.toString(), droppedColumns: head.slice(cols), droppedRows: rows.length - shownRows.length, elided };
}

/**
 * Prints rows as a terminal table (human output) fitted to the terminal width (fitTable),
 * then one line saying what was left out, if anything, and how to see it.
 */
export function printTable(head: string[], rows: Cell[][], opts: TableOptions = {}): void {
  const f = fitTable(head, rows, opts);
  console.log(f.text);
  const left: string[] = [];
  if (f.droppedRows) left.push(`${f.droppedRows.toLocaleString('en-US')} more row${f.droppedRows === 1 ? '' : 's'}`);
  if (f.droppedColumns.length) left.push(`${f.droppedColumns.length} more column${f.droppedColumns.length === 1 ? '' : 's'} (${f.droppedColumns.join(', ')})`);
  if (f.elided) left.push('cells cut with …');
  if (left.length) console.log(wrapCell(`(${left.join('; ')}: ${opts.more ?? '--json prints every value'})`, opts.width ?? terminalWidth()).text);
}

/**
 * Prints prose wrapped at spaces to the terminal width (terminalWidth()). With `indent`, the
 * first `indent` characters are a label ("subset      ") and the text wraps beside it.
 */
export function printWrapped(text: string, indent = 0): void {
  const w = terminalWidth();
  if (!indent || naturalWidth(text) <= w) return console.log(wrapCell(text, w).text);
  const lines = wrapCell(text.slice(indent), w - indent).text.split('\n');
  console.log(lines.map((l, i) => (i === 0 ? text.slice(0, indent) : ' '.repeat(indent)) + l).join('\n'));
}

/** Prints a value as pretty JSON on stdout (machine output for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Rounds for display only; stored figures keep full precision. */
export function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}
