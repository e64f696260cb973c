/**
 * Byte-level checks of text inputs before DuckDB parses them, so errors can name the exact
 * byte, line and record: invalid UTF-8, NUL bytes, unterminated quotes, records with the
 * wrong number of fields, JSON nested too deep. The scanners are state machines fed one
 * chunk at a time (`readChunks`), so memory stays bounded whatever the file size; where each
 * record starts is kept as a piecewise-linear line map, not one number per record.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { SieveError } from '../../util/errors.ts';
import type { Progress } from '../../util/progress.ts';

/** Problems of one kind named in an error (the count covers all of them). */
export const MAX_EXAMPLES = 20;
/** Bytes read per chunk. */
const CHUNK_BYTES = 4 << 20;
/** JSON Lines records nested deeper than this are refused (DuckDB's JSON reader recurses). */
export const MAX_JSON_DEPTH = 64;
/** A CSV header longer than this is not a header. */
const MAX_HEADER_BYTES = 16 << 20;

/** Calls `fn` with successive chunks of the file (the buffer is reused: copy what you keep). */
export async function readChunks(path: string, fn: (chunk: Uint8Array, offset: number) => void, progress?: Progress): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(CHUNK_BYTES);
    let offset = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      fn(buf.subarray(0, bytesRead), offset);
      offset += bytesRead;
      progress?.tick(bytesRead);
    }
    return offset;
  } finally {
    await fh.close();
  }
}

/** Reads at most `max` bytes from the start of a file. */
export async function readHead(path: string, max: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(max);
    let n = 0;
    while (n < max) {
      const { bytesRead } = await fh.read(buf, n, max - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/**
 * Streaming UTF-8 validation (RFC 3629: no overlongs, surrogates or > U+10FFFF), also
 * refusing NUL bytes, counting lines as it goes so errors can name them.
 */
class Utf8Check {
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;
  private seqStart = 0;
  private seqLine = 1;
  private tail: number[] = [];
  constructor(private readonly where: string) {}

  /** Checks byte `c` at file offset `at` on line `line`; returns nothing, throws on bad input. */
  byte(c: number, at: number, line: number): void {
    if (this.need > 0) {
      if (c < this.lo || c > this.hi) this.fail(this.seqStart, this.seqLine, [...this.tail, c]);
      this.tail.push(c);
      this.lo = 0x80;
      this.hi = 0xbf;
      this.need--;
      return;
    }
    if (c < 0x80) {
      if (c === 0) this.nul(at, line);
      return;
    }
    this.seqStart = at;
    this.seqLine = line;
    this.tail = [c];
    if (c >= 0xc2 && c <= 0xdf) this.need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      this.need = 2;
      if (c === 0xe0) this.lo = 0xa0;
      else if (c === 0xed) this.hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      this.need = 3;
      if (c === 0xf0) this.lo = 0x90;
      else if (c === 0xf4) this.hi = 0x8f;
    } else this.fail(at, line, [c]);
  }

  end(): void {
    if (this.need > 0) this.fail(this.seqStart, this.seqLine, this.tail);
  }

  private fail(at: number, line: number, bytes: number[]): never {
    // Show the four bytes from the bad one on, as a hex viewer would.
    try {
      const fd = openSync(this.where, 'r');
      const b = Buffer.alloc(4);
      const n = readSync(fd, b, 0, 4, at);
      closeSync(fd);
      if (n > 0) bytes = [...b.subarray(0, n)];
    } catch {
      /* not a file (a buffer checked in memory): the bytes of the sequence will do */
    }
    const hex = bytes.slice(0, 4).map((x) => x.toString(16).padStart(2, '0')).join(' ');
    if (at === 0) assertNotUtf16(Uint8Array.from(bytes), this.where);
    // gzip's magic 1f 8b: the 8b at offset 1 is the first byte UTF-8 refuses.
    if (at === 1 && bytes[0] === 0x8b) assertNotGzip(Uint8Array.of(0x1f, 0x8b), this.where);
    throw new SieveError(`not valid UTF-8: byte offset ${at} (line ${line}) starts the bytes ${hex}`, {
      where: this.where,
      examples: ['save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.csv > out.csv)'],
    });
  }

  private nul(at: number, line: number): never {
    throw new SieveError(`NUL byte at byte offset ${at} (line ${line}): a text file holds no NUL bytes (binary data, or UTF-16?)`, {
      where: this.where,
      examples: [`line ${line}`],
    });
  }
}

/** A UTF-16 byte-order mark (ff fe little-endian, fe ff big-endian) at the start of `head` is an error saying so. */
export function assertNotUtf16(head: Uint8Array, where: string): void {
  if (head.length < 2 || !((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) return;
  const name = basename(where);
  throw new SieveError(
    `the file is UTF-16 (${head[0] === 0xff ? 'little' : 'big'}-endian), not UTF-8: it starts with the UTF-16 byte-order mark ${head[0].toString(16)} ${head[1].toString(16)}`,
    { where, examples: [`save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8 ${name} > utf8-${name}`] },
  );
}

/** A text file that is gzip-compressed (magic 1f 8b) is an error saying so: decoded as text it would read as a bad encoding. */
export function assertNotGzip(head: Uint8Array, where: string): void {
  if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) return;
  const name = basename(where);
  throw new SieveError('the file is gzip-compressed: sieve reads compressed files only in the IDX format; decompress it first', {
    where,
    examples: [/\.gz$/i.test(name) ? `gunzip -k ${name}, then import ${name.replace(/\.gz$/i, '')}` : `gzip -dc ${name} > ${name}.txt, then import ${name}.txt`],
  });
}

/** Checks a whole buffer is UTF-8 without NUL bytes (for small inputs read in one piece). */
export function assertUtf8(b: Uint8Array, where: string): void {
  const check = new Utf8Check(where);
  let line = 1;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    check.byte(c, i, line);
    if (c === 10) line++;
  }
  check.end();
}

/**
 * Record number → source line, stored as breakpoints: from record `rec[k]` on, record r
 * starts on line r + delta[k]. A file without blank lines or multi-line fields has one.
 */
export class LineMap {
  private rec: number[] = [];
  private delta: number[] = [];
  /** Record `r` (0-based) starts on `line`. Records must come in order. */
  add(r: number, line: number): void {
    const d = line - r;
    if (this.delta.length && this.delta[this.delta.length - 1] === d) return;
    this.rec.push(r);
    this.delta.push(d);
  }
  /** The line record `r` (0-based) starts on. */
  line(r: number): number {
    let lo = 0;
    let hi = this.rec.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.rec[mid] <= r) lo = mid;
      else hi = mid - 1;
    }
    return r + (this.delta[lo] ?? 1);
  }
}

export interface CsvScan {
  /** Column names from the header line (absent when the file has none). */
  header?: string[];
  /** Fields in the first record. */
  fields: number;
  /** Number of data records (blank lines are skipped, as DuckDB does). */
  records: number;
  /** Where each data record (0-based) starts. */
  lines: LineMap;
  bytes: number;
}

/**
 * Splits CSV bytes into records the way DuckDB's strict reader does (RFC 4180 quoting with ""
 * as escape, quotes inside unquoted fields taken literally, blank lines skipped) and checks
 * every record has as many fields as the first. All records with a wrong field count are
 * counted; the first ones are named.
 */
export async function scanCsv(path: string, delimiter: string, hasHeader: boolean, progress?: Progress, skipLines = 0, skipOption = '--skip-lines'): Promise<CsvScan> {
  if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 127)
    throw new SieveError(`delimiter must be one ASCII character, got ${JSON.stringify(delimiter)}`, { where: '--delimiter' });
  const DELIM = delimiter.charCodeAt(0);
  const QUOTE = 34;
  const LF = 10;
  const CR = 13;
  const SPACE = 32;
  const utf8 = new Utf8Check(path);

  let line = 1;
  let recordLine = 1;
  let fields = 1;
  let fieldStart = true;
  let inQuotes = false;
  let quoteLine = 0;
  let pendingQuote = false; // a quote inside quotes at the end of a chunk: escape or close?
  let pendingCR = false;
  let recordEmpty = true;
  let afterQuote = false; // a quoted field closed: only spaces may follow before the delimiter
  const strayLines: number[] = [];
  let strayCount = 0;
  let expected = -1;
  let headerDone = !hasHeader;
  const headerBytes: number[] = [];
  const lines = new LineMap();
  let records = 0;
  // Records by their number of fields (count and first lines of each), so that a file whose
  // first line is the odd one (a title such as adult.test's "|1x3 Cross validator") is told
  // from one with a few broken lines; bounded: at most MAX_FIELD_GROUPS counts are kept.
  const groups = new Map<number, { n: number; lines: number[] }>();
  let ungrouped = 0;
  let bom = 0; // bytes of a UTF-8 byte-order mark still to skip
  let skip = skipLines; // lines still to skip (--skip-lines), read as raw lines as DuckDB's skip does
  let skipCR = false;

  const endRecord = (atEnd = false) => {
    // A blank line is skipped, as DuckDB does, except in a one-column file, where DuckDB
    // reads it as a missing value (but not the end of the file after a final line break).
    if (recordEmpty && (expected !== 1 || atEnd)) return;
    // A blank line read as a record only because the first record has one field: kept apart
    // (group 0), as when most records have more (a title line first) DuckDB skips it.
    if (recordEmpty && headerDone) {
      const g = groups.get(0) ?? { n: 0, lines: [] };
      groups.set(0, g);
      g.n++;
      if (g.lines.length < MAX_EXAMPLES) g.lines.push(recordLine);
      lines.add(records, recordLine);
      records++;
      return;
    }
    if (expected < 0) expected = fields;
    let g = groups.get(fields);
    if (!g && groups.size < MAX_FIELD_GROUPS) groups.set(fields, (g = { n: 0, lines: [] }));
    if (!g) ungrouped++;
    else {
      g.n++;
      if (g.lines.length < MAX_EXAMPLES) g.lines.push(recordLine);
    }
    if (!headerDone) headerDone = true;
    else {
      lines.add(records, recordLine);
      records++;
    }
  };

  const bytes = await readChunks(
    path,
    (b, offset) => {
      let i = 0;
      if (offset === 0 && b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) bom = 3;
      for (; i < b.length; i++) {
        const c = b[i];
        utf8.byte(c, offset + i, line);
        if (bom > 0) {
          bom--;
          continue;
        }
        if (skipCR) {
          skipCR = false;
          if (c === LF) continue; // CRLF ending a skipped line
        }
        if (skip > 0) {
          if (c === LF || c === CR) {
            skip--;
            line++;
            recordLine = line;
            skipCR = c === CR;
          }
          continue;
        }
        if (!headerDone) {
          if (headerBytes.length > MAX_HEADER_BYTES)
            throw new SieveError(`the first line is longer than ${MAX_HEADER_BYTES} bytes: not a CSV header`, { where: path });
          headerBytes.push(c);
        }
        if (pendingCR) {
          pendingCR = false;
          if (c === LF) continue; // CRLF: the record already ended at CR
        }
        if (pendingQuote) {
          pendingQuote = false;
          if (c === QUOTE) continue; // "" inside quotes
          inQuotes = false; // that quote closed the field; handle c normally below
          afterQuote = true;
        }
        if (inQuotes) {
          if (c === QUOTE) pendingQuote = true;
          else if (c === LF) line++;
          continue;
        }
        if (afterQuote && c !== DELIM && c !== LF && c !== CR) {
          if (c === SPACE) continue;
          // DuckDB's strict reader refuses text after a closing quote ("x"y, "a": "b").
          strayCount++;
          if (strayLines.length < MAX_EXAMPLES && strayLines[strayLines.length - 1] !== line) strayLines.push(line);
          afterQuote = false;
        }
        afterQuote = false;
        if (c === LF || c === CR) {
          endRecord();
          if (c === CR) pendingCR = true;
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
        // Spaces before an opening quote do not end the field's start, as in DuckDB (a, "b" reads b).
        if (c === SPACE && fieldStart && DELIM !== SPACE) continue;
        if (c === QUOTE && fieldStart) {
          inQuotes = true;
          quoteLine = line;
        }
        fieldStart = false;
      }
    },
    progress,
  );
  utf8.end();
  if (bytes === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
  if (pendingQuote) inQuotes = false;
  if (inQuotes)
    throw new SieveError(`truncated file: quoted field opened on line ${quoteLine} is never closed`, {
      where: path,
      examples: [`line ${quoteLine}`],
    });
  endRecord(true);
  if (strayCount)
    throw new SieveError(
      `${strayCount} quoted field${strayCount > 1 ? 's are' : ' is'} followed by more text before the next delimiter (write the whole field in quotes, doubling the quotes inside it: "a ""b"" c")`,
      { where: path, count: strayCount, examples: strayLines.map((l) => `line ${l}`) },
    );
  if (expected < 0)
    throw new SieveError(
      `${skipLines ? `after the ${skipLines} line${skipLines > 1 ? 's' : ''} ${skipOption} skips, ` : ''}${hasHeader ? 'file has no header line (only blank lines)' : 'file has no records (only blank lines)'}`,
      { where: path },
    );
  // Blank lines (kept as group 0): part of a one-column file's single column, unless the file
  // has other records of more fields, where they are skipped and judge nothing.
  const blanks = groups.get(0);
  if (blanks) {
    groups.delete(0);
    if (groups.size > 1 || ungrouped) throw fieldCountError(path, groups, ungrouped, expected, hasHeader, skipLines, skipOption);
    const one = groups.get(1);
    if (one) { one.n += blanks.n; one.lines = [...one.lines, ...blanks.lines].sort((a, b) => a - b).slice(0, MAX_EXAMPLES); }
  }
  if (groups.size > 1 || ungrouped) throw fieldCountError(path, groups, ungrouped, expected, hasHeader, skipLines, skipOption);
  if (records === 0) throw new SieveError(hasHeader ? 'file has a header but no data rows' : 'file has no records', { where: path });
  const header = hasHeader ? parseHeader(new TextDecoder().decode(Uint8Array.from(headerBytes)), delimiter, path) : undefined;
  return { header, fields: expected, records, lines, bytes };
}

/** Distinct field counts scanCsv keeps lines of (a file with more is broken throughout). */
const MAX_FIELD_GROUPS = 1000;

/**
 * The error for records whose number of fields differs. When most records agree with the
 * first, the others are the broken ones (as before); when the first record is in the minority,
 * it is the odd one: a title or comment line before the data (UCI adult.test's first line) if
 * only lines before the first good record differ, and `--skip-lines` is named.
 */
function fieldCountError(
  path: string,
  groups: Map<number, { n: number; lines: number[] }>,
  ungrouped: number,
  first: number,
  hasHeader: boolean,
  skipLines: number,
  skipOption: string,
): SieveError {
  let mode = first;
  for (const [f, g] of groups) if (g.n > groups.get(mode)!.n) mode = f;
  const modeN = groups.get(mode)!.n;
  const bad = [...groups].filter(([f]) => f !== mode);
  const badCount = bad.reduce((n, [, g]) => n + g.n, 0) + ungrouped;
  const lines = bad
    .flatMap(([f, g]) => g.lines.map((l) => [l, f] as const))
    .sort((a, b) => a[0] - b[0])
    .slice(0, MAX_EXAMPLES);
  const fieldsWord = (n: number) => `${n} field${n === 1 ? '' : 's'}`;
  const records = `${badCount} record${badCount > 1 ? 's have' : ' has'} the wrong number of fields`;
  if (mode === first)
    return new SieveError(`${records} (broken or truncated lines?)`, {
      where: path,
      count: badCount,
      examples: lines.map(([l, f]) => `line ${l}: ${fieldsWord(f)}, ${hasHeader ? 'header has' : 'the first record has'} ${first}`),
    });
  const firstGood = groups.get(mode)!.lines[0];
  const leading = ungrouped === 0 && lines.length === badCount && lines.every(([l]) => l < firstGood);
  const others = `the other ${modeN.toLocaleString('en')} records have ${mode}`;
  if (leading) {
    const skip = firstGood - 1; // blank lines among them included: --skip-lines counts lines
    const which = badCount === 1 ? `line ${lines[0][0]} has ${fieldsWord(lines[0][1])}` : `lines ${lines[0][0]}–${lines[lines.length - 1][0]} have ${[...new Set(lines.map(([, f]) => f))].sort((a, b) => a - b).join(' or ')} field${lines.every(([, f]) => f === 1) ? '' : 's'}`;
    return new SieveError(`${which}, ${others}: ${badCount === 1 ? 'a title or comment line' : 'title or comment lines'} before the ${hasHeader ? 'header' : 'data'}?`, {
      where: path,
      count: badCount,
      examples: [
        ...lines.map(([l, f]) => `line ${l}: ${fieldsWord(f)}`),
        `skip ${skip === 1 ? 'it' : 'them'} with ${skipOption} ${skip}`,
      ],
    });
  }
  return new SieveError(`${records}: ${others} fields, but the first record (line ${groups.get(first)!.lines[0]}) has ${first} (a title line, or the wrong delimiter?)`, {
    where: path,
    count: badCount,
    examples: lines.map(([l, f]) => `line ${l}: ${fieldsWord(f)}, most records have ${mode}`),
  });
}

/** Parses the header record into column names and checks they are usable. */
export function parseHeader(text: string, delimiter: string, where: string): string[] {
  const names = splitRecord(text, delimiter);
  const trimmed = names.map((s) => s.trim());
  const empty = trimmed.map((s, i) => (s === '' ? i + 1 : 0)).filter((x) => x > 0);
  if (empty.length) throw new SieveError('header has empty column names', { where, examples: empty.map((c) => `column ${c}`) });
  // A set, not indexOf per name: a 20,000-column header would take seconds.
  const seen = new Set<string>();
  const dup = trimmed.filter((s) => seen.size === seen.add(s).size);
  if (dup.length) throw new SieveError('header names a column twice', { where, examples: [...new Set(dup)] });
  return trimmed;
}

/** Splits one CSV record (quotes as DuckDB reads them) into its raw field texts. */
export function splitRecord(text: string, delimiter: string): string[] {
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
    } else if (ch === '"' && /^ *$/.test(cur) && delimiter !== ' ') {
      q = true; // spaces before an opening quote are dropped, as DuckDB does
      cur = '';
    } else if (ch === delimiter) {
      names.push(cur);
      cur = '';
    } else if (ch !== '\r' && ch !== '\n') cur += ch;
  }
  names.push(cur);
  return names;
}

export interface JsonlScan {
  /** Number of non-blank lines (one record each). */
  records: number;
  lines: LineMap;
  bytes: number;
}

/**
 * JSON Lines: UTF-8, no NUL bytes, and nesting depth (brackets outside strings) at most
 * MAX_JSON_DEPTH, so a hostile file cannot send DuckDB's reader into deep recursion.
 * Records where each non-blank line starts.
 */
export async function scanJsonl(path: string, progress?: Progress): Promise<JsonlScan> {
  const utf8 = new Utf8Check(path);
  let line = 1;
  let blank = true;
  let records = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  const lines = new LineMap();
  const bytes = await readChunks(
    path,
    (b, offset) => {
      for (let i = 0; i < b.length; i++) {
        const c = b[i];
        utf8.byte(c, offset + i, line);
        if (c === 10) {
          if (!blank) {
            lines.add(records, line);
            records++;
          }
          line++;
          blank = true;
          // A newline ends the record: strings and brackets do not carry over (DuckDB agrees).
          depth = 0;
          inString = false;
          escaped = false;
          continue;
        }
        if (c !== 13 && c !== 32 && c !== 9) blank = false;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92) escaped = true;
          else if (c === 34) inString = false;
          continue;
        }
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) {
          if (++depth > MAX_JSON_DEPTH)
            throw new SieveError(`JSON nested more than ${MAX_JSON_DEPTH} levels deep on line ${line}`, {
              where: path,
              examples: [`line ${line}`, 'a record holds an id, a label and flat feature values or lists of numbers'],
            });
        } else if (c === 125 || c === 93) depth = Math.max(0, depth - 1);
      }
    },
    progress,
  );
  utf8.end();
  if (!blank) {
    lines.add(records, line);
    records++;
  }
  if (bytes === 0) throw new SieveError('file is empty (0 bytes)', { where: path });
  if (records === 0) throw new SieveError('file has no records (only blank lines)', { where: path });
  return { records, lines, bytes };
}

/** A text line longer than this is refused (a file without line breaks is not line-oriented text). */
export const MAX_LINE_CHARS = 64 << 20;

/**
 * Reads a UTF-8 text file line by line (\r\n, \n or \r end a line), checking the encoding and
 * NUL bytes as it goes, and hands the lines of each chunk to `onLines` with the 1-based number
 * of the first. Memory holds one chunk and one partial line, whatever the file size.
 */
export async function readTextLines(
  path: string,
  onLines: (lines: string[], firstLine: number) => void | Promise<void>,
  progress?: Progress,
  chunkBytes = CHUNK_BYTES,
): Promise<number> {
  const utf8 = new Utf8Check(path);
  const decoder = new TextDecoder('utf-8');
  const fh = await open(path, 'r');
  let carry = '';
  let next = 1; // number of the next line to hand out
  let byteLine = 1;
  let offset = 0;
  const emit = async (text: string, final: boolean) => {
    // A \r at the end of a chunk may be the first half of \r\n: keep it for the next chunk.
    const cr = !final && text.endsWith('\r');
    const parts = (cr ? text.slice(0, -1) : text).split(/\r\n|\n|\r/);
    carry = final ? '' : parts.pop()! + (cr ? '\r' : '');
    if (carry.length > MAX_LINE_CHARS)
      throw new SieveError(`line ${next + parts.length} is longer than ${MAX_LINE_CHARS} characters: not line-oriented text`, { where: path });
    if (final && parts.length && parts[parts.length - 1] === '') parts.pop(); // the file's last line break
    if (parts.length) await onLines(parts, next);
    next += parts.length;
  };
  try {
    const buf = new Uint8Array(chunkBytes);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        utf8.byte(c, offset + i, byteLine);
        if (c === 10) byteLine++;
      }
      offset += bytesRead;
      await emit(carry + decoder.decode(chunk, { stream: true }), false);
      progress?.tick(bytesRead);
    }
    utf8.end();
    await emit(carry + decoder.decode(), true);
    return offset;
  } finally {
    await fh.close();
  }
}
