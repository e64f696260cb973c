/**
 * Byte-level checks of text inputs before DuckDB parses them, so errors can name the exact
 * byte, line and record: invalid UTF-8, unterminated quotes, records with the wrong number
 * of fields. One pass over a Uint8Array, no strings built except for the header.
 */
import { SieveError } from '../../util/errors.ts';

const MAX_EXAMPLES = 5;

/** Offset of the first byte that breaks UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= n) return i; // sequence runs past the end of the file
    const b1 = b[i + 1];
    if (b1 === undefined || b1 < lo || b1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const bk = b[i + k];
      if (bk === undefined || bk < 0x80 || bk > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** 1-based line number of byte `offset`. */
export function lineAt(b: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < b.length; i++) if (b[i] === 10) line++;
  return line;
}

/** Throws a SieveError naming the byte offset and line of the first invalid UTF-8 byte. */
export function assertUtf8(b: Uint8Array, where: string): void {
  // A UTF-8 byte-order mark is valid UTF-8; other BOMs (UTF-16) fail below on their 0xFF/0xFE.
  const bad = firstInvalidUtf8(b);
  if (bad < 0) return;
  const hex = Array.from(b.subarray(bad, Math.min(b.length, bad + 4)), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new SieveError(`not valid UTF-8: byte offset ${bad} (line ${lineAt(b, bad)}) starts the bytes ${hex}`, {
    where,
    examples: ['save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.csv > out.csv)'],
  });
}

export interface CsvScan {
  header: string[];
  /** Number of data records (blank lines are skipped, as DuckDB does). */
  records: number;
  /** 1-based source line where each data record starts (records may span lines in quotes). */
  lineOfRecord: Int32Array;
}

/**
 * Splits a CSV byte buffer into records the way DuckDB's strict reader does (RFC 4180
 * quoting with "" as escape, quotes inside unquoted fields taken literally, blank lines
 * skipped) and checks every record has as many fields as the header.
 */
export function scanCsv(b: Uint8Array, delimiter: string, where: string): CsvScan {
  if (b.length === 0) throw new SieveError('file is empty (0 bytes)', { where });
  assertUtf8(b, where);
  if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 127)
    throw new SieveError(`delimiter must be one ASCII character, got ${JSON.stringify(delimiter)}`, { where: '--delimiter' });
  const DELIM = delimiter.charCodeAt(0);
  const QUOTE = 34;
  const LF = 10;
  const CR = 13;
  const start = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;

  let line = 1;
  let recordLine = 1;
  let fields = 1;
  let fieldStart = true;
  let inQuotes = false;
  let quoteLine = 0;
  let recordEmpty = true;
  let expected = -1;
  let headerEnd = -1;
  const lines: number[] = [];
  const bad: string[] = [];
  let badCount = 0;

  const endRecord = (i: number) => {
    if (recordEmpty) return; // blank line
    if (expected < 0) {
      expected = fields;
      headerEnd = i;
    } else {
      if (fields !== expected) {
        badCount++;
        if (bad.length < MAX_EXAMPLES) bad.push(`line ${recordLine}: ${fields} field${fields > 1 ? 's' : ''}, header has ${expected}`);
      }
      lines.push(recordLine);
    }
  };

  for (let i = start; i < b.length; i++) {
    const c = b[i];
    if (inQuotes) {
      if (c === QUOTE) {
        if (b[i + 1] === QUOTE) i++;
        else inQuotes = false;
      } else if (c === LF) line++;
      continue;
    }
    if (c === LF || c === CR) {
      endRecord(i);
      if (c === CR && b[i + 1] === LF) i++;
      line++;
      recordLine = line;
      fields = 1;
      fieldStart = true;
      recordEmpty = true;
      continue;
    }
    recordEmpty = false;
    if (c === DELIM) {
      fields++;
      fieldStart = true;
      continue;
    }
    if (c === QUOTE && fieldStart) {
      inQuotes = true;
      quoteLine = line;
    }
    fieldStart = false;
  }
  if (inQuotes)
    throw new SieveError(`truncated file: quoted field opened on line ${quoteLine} is never closed`, {
      where,
      examples: [`line ${quoteLine}`],
    });
  endRecord(b.length);
  if (expected < 0) throw new SieveError('file has no header line (only blank lines)', { where });
  if (badCount)
    throw new SieveError(`${badCount} record${badCount > 1 ? 's have' : ' has'} the wrong number of fields (broken or truncated lines?)`, {
      where,
      count: badCount,
      examples: bad,
    });
  if (lines.length === 0) throw new SieveError('file has a header but no data rows', { where });
  const header = parseHeader(new TextDecoder().decode(b.subarray(start, headerEnd)), delimiter, where);
  return { header, records: lines.length, lineOfRecord: Int32Array.from(lines) };
}

/** Parses the header record into column names and checks they are usable. */
function parseHeader(text: string, delimiter: string, where: string): string[] {
  const names: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cur += '"';
          i++;
        } else q = false;
      } else cur += ch;
    } else if (ch === '"' && cur === '') q = true;
    else if (ch === delimiter) {
      names.push(cur);
      cur = '';
    } else if (ch !== '\r' && ch !== '\n') cur += ch;
  }
  names.push(cur);
  const trimmed = names.map((s) => s.trim());
  const empty = trimmed.map((s, i) => (s === '' ? i + 1 : 0)).filter((x) => x > 0);
  if (empty.length) throw new SieveError('header has empty column names', { where, examples: empty.map((c) => `column ${c}`) });
  const dup = trimmed.filter((s, i) => trimmed.indexOf(s) !== i);
  if (dup.length) throw new SieveError('header names a column twice', { where, examples: [...new Set(dup)] });
  return trimmed;
}
