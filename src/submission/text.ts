/**
 * Text submissions (CSV, TXT, and the byte checks JSON shares): refuse binary junk and
 * non-UTF-8 text with the byte offset and line, then split into rows keeping line numbers.
 */
import { firstInvalidUtf8, lineOfByte } from '../util/utf8.ts';
import { SubmissionError, type RawSubmission, type SubmissionFormat } from './types.ts';

const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"
const ARROW_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

/** Names the binary format a file really is, when its magic bytes say so. */
export function sniffBinary(bytes: Uint8Array): 'parquet' | 'arrow' | 'gzip' | 'zip' | null {
  if (startsWith(bytes, PARQUET_MAGIC)) return 'parquet';
  if (startsWith(bytes, ARROW_MAGIC)) return 'arrow';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'zip';
  return null;
}

export { firstInvalidUtf8 } from '../util/utf8.ts';

/**
 * Decodes a text submission strictly: the bytes must be UTF-8 text (a UTF-8 byte-order mark
 * is allowed and removed), with no NUL bytes and not secretly a binary format.
 */
export function decodeText(bytes: Uint8Array, format: SubmissionFormat, where: string): string {
  if (bytes.length === 0) throw new SubmissionError('empty', `the submission file is empty (0 bytes)`, { where });
  const real = sniffBinary(bytes);
  if (real) {
    const hint = real === 'parquet' || real === 'arrow' ? `; name it .${real}` : '; decompress it first';
    throw new SubmissionError('wrong-format', `the file claims to be ${format.toUpperCase()} but is a ${real} file${hint}`, { where });
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new SubmissionError('encoding', `the file is UTF-16 text; save it as UTF-8`, { where });
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    let count = 0;
    for (let i = nul; i < bytes.length; i++) if (bytes[i] === 0) count++;
    throw new SubmissionError('encoding', `binary data in a ${format.toUpperCase()} file: ${count} NUL byte(s)`, {
      where,
      count,
      examples: [`byte ${nul} (line ${lineOfByte(bytes, nul)})`],
    });
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const hex = Array.from(bytes.subarray(bad, bad + 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new SubmissionError('encoding', `the file is not valid UTF-8 text (save it as UTF-8)`, {
      where,
      examples: [`byte ${bad} (line ${lineOfByte(bytes, bad)}): ${hex}`],
    });
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return new TextDecoder('utf-8').decode(bytes.subarray(start));
}

/**
 * Splits text into lines (LF or CRLF) with 1-based numbers. Blank lines at the very end are
 * not rows (editors add them); blank lines anywhere else are kept and fail validation. More
 * lines than `maxRows` are refused before any is looked at.
 */
function splitLines(text: string, where: string, maxRows?: number): { text: string; line: number }[] {
  const raw = text.split('\n');
  let end = raw.length;
  while (end > 0 && raw[end - 1].trim() === '') end--;
  if (maxRows !== undefined && end > maxRows) throw moreRowsThanPool('TXT', where, maxRows, { rows: end });
  const parts = new Array<{ text: string; line: number }>(end);
  for (let i = 0; i < end; i++) {
    const t = raw[i];
    parts[i] = { text: t.endsWith('\r') ? t.slice(0, -1) : t, line: i + 1 };
  }
  return parts;
}

/**
 * A file with more rows than the pool has train rows: no valid submission is that long (each
 * train row at most once), so it is refused as soon as that is known, the rest unread (a 15 MB
 * CSV of 1.3 M lines took seconds to parse only to fail on unknown ids).
 */
export function moreRowsThanPool(what: string, where: string, maxRows: number, found: { rows: number } | { stoppedAt: string }): SubmissionError {
  const held = 'rows' in found ? `${found.rows}` : `more than ${maxRows}`;
  return new SubmissionError('over-budget', `the ${what} file holds ${held} rows; the pool has ${maxRows} train rows, so no valid submission has more; it was not read further`, {
    where,
    examples: ['rows' in found ? `rows in the file: ${found.rows}` : `stopped reading at ${found.stoppedAt}`, `train rows in the pool: ${maxRows}`],
  });
}

/** TXT: one id per line, no header; whitespace around an id is not part of it. */
export function parseTxt(bytes: Uint8Array, where: string, limits: { maxRows?: number } = {}): RawSubmission {
  const lines = splitLines(decodeText(bytes, 'txt', where), where, limits.maxRows);
  if (!lines.length) throw new SubmissionError('empty', 'the submission holds no ids (only blank lines)', { where });
  const ids = lines.map((l) => l.text.trim());
  if (ids.some((s) => s.includes(','))) {
    const i = ids.findIndex((s) => s.includes(','));
    throw new SubmissionError('extra-columns', 'a TXT submission holds one id per line, but a line has commas; name a CSV file .csv', {
      where,
      examples: [`line ${lines[i].line}: ${JSON.stringify(ids[i])}`],
    });
  }
  return {
    format: 'txt',
    columns: ['id'],
    ids,
    labels: null,
    origins: Int32Array.from(lines, (l) => l.line),
    originKind: 'line',
  };
}

/** One CSV record: its fields and the line it starts on. */
interface CsvRecord { fields: string[]; line: number }

/** Whitespace around a field or an id (never a line break, which ends the record): /\s/ without \n. */
const OTHER_BLANK = /\s/;
function isBlankCode(c: number, text: string, i: number): boolean {
  if (c < 0x80) return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;
  return OTHER_BLANK.test(text[i]);
}

/**
 * Stop reading once more than `maxRows` records hold something (a blank line at the very end is
 * not a row): a submission names each train row at most once, so a file with more rows than the
 * pool cannot be valid, and the rest of it need not be read. The header record is not counted.
 */
export interface CsvLimits {
  maxRows?: number;
  /** Records before the rows (a submission's header: 1). */
  headerRecords?: number;
}

/** Thrown by splitCsv when a file holds more rows than CsvLimits.maxRows. */
export class TooManyRows extends Error {
  constructor(readonly maxRows: number, readonly line: number) {
    super(`more than ${maxRows} rows (stopped reading at line ${line})`);
  }
}

const QUOTE = 0x22, COMMA = 0x2c, LF = 0x0a, CR = 0x0d;

/**
 * The delimiter a comma-separated file's header of one field looks separated by (";", a tab
 * or "|"), as words for a hint ("\";\"", "tabs"); undefined when the header is not that.
 */
export function otherDelimiter(header: readonly string[]): string | undefined {
  if (header.length !== 1) return undefined;
  const d = [';', '\t', '|'].find((x) => header[0].includes(x));
  return d === undefined ? undefined : d === '\t' ? 'tabs' : `"${d}"`;
}

/**
 * RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. Whitespace around a
 * field is not part of it (editors and spreadsheets add it): unquoted fields are trimmed, and
 * blanks around a quoted field are skipped while what the quotes hold is kept as written.
 * Fields are cut from the text by position (not built a character at a time): a 15 MB file of
 * 1.3 M lines took 6 s a character at a time.
 */
export function splitCsv(text: string, where: string, limits: CsvLimits = {}): CsvRecord[] {
  const out: CsvRecord[] = [];
  const maxRows = limits.maxRows;
  const header = limits.headerRecords ?? 0;
  let filled = 0; // records past the header that hold something
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let nextLf = 0;
  const n = text.length;
  const endRecord = () => {
    out.push({ fields, line: recordLine });
    if (maxRows !== undefined && out.length > header && !(fields.length === 1 && fields[0] === '') && ++filled > maxRows) {
      throw new TooManyRows(maxRows, recordLine);
    }
    fields = [];
  };
  // One field per pass: skip leading blanks, then a quoted or an unquoted field, then its end
  // (a comma, a line end or the end of the text).
  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === CR && text.charCodeAt(i + 1) === LF) { i++; continue; }
      if (c !== LF && isBlankCode(c, text, i)) { i++; continue; }
      break;
    }
    let field: string;
    if (i < n && text.charCodeAt(i) === QUOTE) {
      i++;
      let acc = '';
      let from = i;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new SubmissionError('syntax', 'a quoted CSV field is never closed', { where, examples: [`line ${recordLine}`] });
        // Line ends inside the quotes (nextLf only moves forward: linear in the text).
        if (nextLf >= 0 && nextLf < i) nextLf = text.indexOf('\n', i);
        while (nextLf >= 0 && nextLf < q) { line++; nextLf = text.indexOf('\n', nextLf + 1); }
        if (text.charCodeAt(q + 1) === QUOTE) { acc += text.slice(from, q + 1); i = q + 2; from = i; continue; }
        acc += text.slice(from, q);
        i = q + 1;
        break;
      }
      field = acc;
      // Blanks after the closing quote; then the field must end.
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === CR && text.charCodeAt(i + 1) === LF) { i++; continue; }
        if (c !== LF && isBlankCode(c, text, i)) { i++; continue; }
        break;
      }
      if (i < n) {
        const c = text.charCodeAt(i);
        if (c === QUOTE) throw new SubmissionError('syntax', 'stray quote inside an unquoted CSV field', { where, examples: [`line ${line}`] });
        if (c !== COMMA && c !== LF) throw new SubmissionError('syntax', 'text after a closing quote in a CSV field', { where, examples: [`line ${line}`] });
      }
      fields.push(field);
      if (i >= n) { endRecord(); break; }
    } else {
      const start = i;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === LF) break;
        if (c === QUOTE) throw new SubmissionError('syntax', 'stray quote inside an unquoted CSV field', { where, examples: [`line ${line}`] });
        i++;
      }
      let e = i;
      while (e > start && isBlankCode(text.charCodeAt(e - 1), text, e - 1)) e--;
      field = text.slice(start, e);
      if (i >= n) {
        // The end of the text: a last record without a line end (nothing at all after a final line end is no record).
        if (field.length || fields.length) { fields.push(field); endRecord(); }
        break;
      }
      fields.push(field);
    }
    const c = text.charCodeAt(i);
    i++;
    if (c === LF) { endRecord(); line++; recordLine = line; }
  }
  // Trailing blank lines are not rows.
  while (out.length && out[out.length - 1].fields.length === 1 && out[out.length - 1].fields[0] === '') out.pop();
  return out;
}

/** CSV with a header row naming the columns (`id`, or `id,label` for relabel). */
export function parseCsv(bytes: Uint8Array, where: string, limits: { maxRows?: number } = {}): RawSubmission {
  let records: CsvRecord[];
  try {
    records = splitCsv(decodeText(bytes, 'csv', where), where, { maxRows: limits.maxRows, headerRecords: 1 });
  } catch (err) {
    if (err instanceof TooManyRows) throw moreRowsThanPool('CSV', where, err.maxRows, { stoppedAt: `line ${err.line}` });
    throw err;
  }
  if (!records.length) throw new SubmissionError('empty', 'the CSV holds no header and no rows', { where });
  const header = records[0].fields.map((h) => h.trim());
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) {
    throw new SubmissionError('extra-columns', `the CSV header names column "${dup}" twice`, { where, examples: ['line 1'] });
  }
  const rows = records.slice(1);
  if (!rows.length) throw new SubmissionError('empty', 'the CSV has a header but no rows', { where, examples: [`header: ${header.join(',')}`] });
  const ragged = rows.filter((r) => r.fields.length !== header.length);
  if (ragged.length) {
    throw new SubmissionError('syntax', `${ragged.length} CSV row(s) do not have the header's ${header.length} field(s)`, {
      where,
      count: ragged.length,
      examples: ragged.slice(0, 5).map((r) => `line ${r.line}: ${r.fields.length} field(s)`),
    });
  }
  const idCol = header.indexOf('id');
  const labelCol = header.indexOf('label');
  return {
    format: 'csv',
    columns: header,
    ids: idCol >= 0 ? rows.map((r) => r.fields[idCol]) : [],
    labels: labelCol >= 0 ? rows.map((r) => r.fields[labelCol]) : null,
    origins: Int32Array.from(rows, (r) => r.line),
    originKind: 'line',
  };
}
