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
 * not rows (editors add them); blank lines anywhere else are kept and fail validation.
 */
function splitLines(text: string): { text: string; line: number }[] {
  const parts = text.split('\n').map((t, i) => ({ text: t.endsWith('\r') ? t.slice(0, -1) : t, line: i + 1 }));
  while (parts.length && parts[parts.length - 1].text.trim() === '') parts.pop();
  return parts;
}

/** TXT: one id per line, no header; whitespace around an id is not part of it. */
export function parseTxt(bytes: Uint8Array, where: string): RawSubmission {
  const lines = splitLines(decodeText(bytes, 'txt', where));
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

/** Whitespace around a field or an id (never a line break, which ends the record). */
const isBlank = (ch: string) => ch !== '\n' && /\s/.test(ch);

/**
 * RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. Whitespace around a
 * field is not part of it (editors and spreadsheets add it): unquoted fields are trimmed, and
 * blanks around a quoted field are skipped while what the quotes hold is kept as written.
 */
export function splitCsv(text: string, where: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false; // inside quotes
  let wasQuoted = false; // current field started with a quote
  const n = text.length;
  const endField = () => {
    if (!wasQuoted) {
      let e = field.length;
      while (e > 0 && isBlank(field[e - 1])) e--;
      field = field.slice(0, e);
    }
    fields.push(field); field = ''; wasQuoted = false;
  };
  const endRecord = () => { endField(); out.push({ fields, line: recordLine }); fields = []; };
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      if (ch === '\n') line++;
      field += ch; i++; continue;
    }
    if (ch === '"') {
      if (field.length === 0 && !wasQuoted) { quoted = true; wasQuoted = true; i++; continue; }
      throw new SubmissionError('syntax', 'stray quote inside an unquoted CSV field', { where, examples: [`line ${line}`] });
    }
    if (ch === ',') { endField(); i++; continue; }
    if (ch === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (ch === '\n') { endRecord(); line++; recordLine = line; i++; continue; }
    if (isBlank(ch) && (field.length === 0 || wasQuoted)) { i++; continue; } // blanks before a field or after its closing quote
    if (wasQuoted) {
      throw new SubmissionError('syntax', 'text after a closing quote in a CSV field', { where, examples: [`line ${line}`] });
    }
    field += ch; i++;
  }
  if (quoted) throw new SubmissionError('syntax', 'a quoted CSV field is never closed', { where, examples: [`line ${recordLine}`] });
  if (field.length || fields.length || wasQuoted) endRecord();
  // Trailing blank lines are not rows.
  while (out.length && out[out.length - 1].fields.length === 1 && out[out.length - 1].fields[0] === '' ) out.pop();
  return out;
}

/** CSV with a header row naming the columns (`id`, or `id,label` for relabel). */
export function parseCsv(bytes: Uint8Array, where: string): RawSubmission {
  const records = splitCsv(decodeText(bytes, 'csv', where), where);
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
