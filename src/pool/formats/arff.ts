/**
 * ARFF (Weka's Attribute-Relation File Format): a header of `@relation` and `@attribute`
 * declarations, then `@data` rows of comma-separated values. Values may be quoted ('…' or
 * "…", with backslash escapes), `?` is a missing value, and `%` starts a comment outside
 * quotes. Dense rows and sparse rows (`{index value, …}`) are both read. Columns come out
 * typed: numeric attributes as a Float64Array with a missing mask, nominal/string/date
 * attributes as string arrays with null for missing.
 */
import { SieveError } from '../../util/errors.ts';

export type ArffAttribute =
  | { name: string; type: 'numeric'; declared: 'numeric' | 'real' | 'integer' }
  | { name: string; type: 'nominal'; values: string[] }
  | { name: string; type: 'string' }
  | { name: string; type: 'date'; format: string | null };

export type ArffColumn =
  | { name: string; type: 'numeric'; values: Float64Array; missing: Uint8Array }
  | { name: string; type: 'nominal'; categories: string[]; values: (string | null)[] }
  | { name: string; type: 'string' | 'date'; values: (string | null)[] };

export interface ArffData {
  relation: string;
  attributes: ArffAttribute[];
  /** One column per attribute, in declaration order. */
  columns: ArffColumn[];
  rows: number;
  /** 1-based line number in the source of each data row (for error messages downstream). */
  lineOfRow: Int32Array;
}

/** A token of a header or data line: its text and whether it was quoted. */
interface Token {
  text: string;
  quoted: boolean;
}

/**
 * Parses ARFF text. `source` names the file in errors; every error gives the line number.
 */
export function parseArff(text: string, source = 'ARFF input'): ArffData {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\n|\r/);
  const fail = (lineNo: number, msg: string, extra: { examples?: string[] } = {}): never => {
    throw new SieveError(msg, { where: `${source}, line ${lineNo}`, ...extra });
  };

  let relation: string | null = null;
  const attributes: ArffAttribute[] = [];
  const seen = new Set<string>();
  let i = 0;

  // Header: everything up to @data.
  let dataLine = -1;
  for (; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('%')) continue;
    if (trimmed[0] !== '@') {
      fail(lineNo, `expected an @relation, @attribute or @data declaration, found "${clip(trimmed)}"`);
    }
    const keyword = /^@(\w+)/.exec(trimmed)![1].toLowerCase();
    const rest = trimmed.slice(keyword.length + 1).trim();
    if (keyword === 'relation') {
      if (relation !== null) fail(lineNo, 'second @relation declaration');
      const toks = tokenize(rest, lineNo, fail);
      if (toks.length === 0) fail(lineNo, '@relation without a name');
      relation = toks[0].text;
    } else if (keyword === 'attribute') {
      if (relation === null) fail(lineNo, '@attribute before @relation');
      const attr = parseAttribute(rest, lineNo, fail);
      if (seen.has(attr.name)) fail(lineNo, `duplicate attribute name "${attr.name}"`);
      seen.add(attr.name);
      attributes.push(attr);
    } else if (keyword === 'data') {
      if (rest !== '' && !rest.startsWith('%')) fail(lineNo, `unexpected text after @data: "${clip(rest)}"`);
      dataLine = i;
      i++;
      break;
    } else if (keyword === 'end') {
      fail(lineNo, 'relational attributes (@end) are not supported');
    } else {
      fail(lineNo, `unknown declaration @${keyword}`);
    }
  }
  if (relation === null) throw new SieveError('no @relation declaration: not an ARFF file', { where: source });
  if (dataLine < 0) throw new SieveError('no @data section', { where: source });
  if (attributes.length === 0) throw new SieveError('no @attribute declarations', { where: source });

  // Data: one row per non-blank, non-comment line.
  const nAttr = attributes.length;
  const cells: (string | null)[][] = attributes.map(() => []);
  const lineOfRow: number[] = [];
  const nominalSets = attributes.map((a) => (a.type === 'nominal' ? new Set(a.values) : null));
  for (; i < lines.length; i++) {
    const lineNo = i + 1;
    const trimmed = lines[i].trim();
    if (trimmed === '' || trimmed.startsWith('%')) continue;
    let row: (string | null)[];
    if (trimmed.startsWith('{')) {
      row = parseSparseRow(trimmed, lineNo, attributes, fail);
    } else {
      const toks = tokenize(trimmed, lineNo, fail);
      if (toks.length > 0 && !toks[toks.length - 1].quoted && toks[toks.length - 1].text.startsWith('{')) {
        fail(lineNo, 'instance weights ({w} after the values) are not supported');
      }
      if (toks.length !== nAttr) {
        fail(lineNo, `expected ${nAttr} values (one per @attribute), found ${toks.length}`);
      }
      row = toks.map((t) => (!t.quoted && t.text === '?' ? null : t.text));
    }
    for (let a = 0; a < nAttr; a++) {
      const v = row[a];
      const attr = attributes[a];
      if (v !== null && attr.type === 'nominal' && !nominalSets[a]!.has(v)) {
        fail(lineNo, `value "${clip(v)}" of nominal attribute "${attr.name}" is not one of its declared values`, {
          examples: attr.values.slice(0, 10),
        });
      }
      cells[a].push(v);
    }
    lineOfRow.push(lineNo);
  }

  const rows = lineOfRow.length;
  const columns: ArffColumn[] = attributes.map((attr, a) => {
    const col = cells[a];
    if (attr.type === 'numeric') {
      const values = new Float64Array(rows);
      const missing = new Uint8Array(rows);
      for (let r = 0; r < rows; r++) {
        const v = col[r];
        if (v === null) { missing[r] = 1; values[r] = NaN; continue; }
        const x = parseNumber(v);
        if (x === null) fail(lineOfRow[r], `value "${clip(v)}" of numeric attribute "${attr.name}" is not a number`);
        if (attr.declared === 'integer' && !Number.isInteger(x)) {
          fail(lineOfRow[r], `value "${clip(v)}" of integer attribute "${attr.name}" is not an integer`);
        }
        values[r] = x!;
      }
      return { name: attr.name, type: 'numeric', values, missing };
    }
    if (attr.type === 'nominal') return { name: attr.name, type: 'nominal', categories: attr.values, values: col };
    return { name: attr.name, type: attr.type, values: col };
  });
  return { relation, attributes, columns, rows, lineOfRow: Int32Array.from(lineOfRow) };
}

function parseAttribute(
  rest: string,
  lineNo: number,
  fail: (line: number, msg: string) => never,
): ArffAttribute {
  // Name: a quoted string or a bare word; then the type.
  const nameTok = readToken(rest, 0, lineNo, fail, /[\s{]/);
  if (!nameTok || nameTok.token.text === '') fail(lineNo, '@attribute without a name');
  const name = nameTok!.token.text;
  const typeText = rest.slice(nameTok!.end).trim();
  if (typeText === '') fail(lineNo, `@attribute "${name}" has no type`);
  if (typeText.startsWith('{')) {
    const close = findClosingBrace(typeText, lineNo, fail);
    const after = typeText.slice(close + 1).trim();
    if (after !== '' && !after.startsWith('%')) fail(lineNo, `unexpected text after the value list of "${name}"`);
    const values = tokenize(typeText.slice(1, close), lineNo, fail).map((t) => t.text);
    if (values.length === 0) fail(lineNo, `nominal attribute "${name}" declares no values`);
    const dup = values.find((v, k) => values.indexOf(v) !== k);
    if (dup !== undefined) fail(lineNo, `nominal attribute "${name}" declares value "${dup}" twice`);
    return { name, type: 'nominal', values };
  }
  const typeToks = tokenize(typeText, lineNo, fail);
  const kw = typeToks[0].text.toLowerCase();
  if (kw === 'numeric' || kw === 'real' || kw === 'integer') {
    if (typeToks.length > 1) fail(lineNo, `unexpected text after type ${kw} of "${name}"`);
    return { name, type: 'numeric', declared: kw };
  }
  if (kw === 'string') return { name, type: 'string' };
  if (kw === 'date') return { name, type: 'date', format: typeToks[1]?.text ?? null };
  if (kw === 'relational') fail(lineNo, `relational attribute "${name}" is not supported`);
  return fail(lineNo, `unknown type "${clip(typeToks[0].text)}" for attribute "${name}" (expected numeric, real, integer, string, date or {…})`);
}

/** Sparse row `{3 x, 7 'y z'}`: attributes not listed are 0 (numeric) or the first declared value (nominal). */
function parseSparseRow(
  trimmed: string,
  lineNo: number,
  attributes: ArffAttribute[],
  fail: (line: number, msg: string) => never,
): (string | null)[] {
  const close = findClosingBrace(trimmed, lineNo, fail);
  const after = trimmed.slice(close + 1).trim();
  if (after !== '' && !after.startsWith('%')) {
    fail(lineNo, after.startsWith(',') ? 'instance weights ({w} after the values) are not supported' : 'unexpected text after a sparse row');
  }
  const row: (string | null)[] = attributes.map((a) =>
    a.type === 'numeric' ? '0' : a.type === 'nominal' ? a.values[0] : '',
  );
  const body = trimmed.slice(1, close);
  let pos = 0;
  while (pos < body.length) {
    while (pos < body.length && /[\s,]/.test(body[pos])) pos++;
    if (pos >= body.length) break;
    const m = /^(\d+)[ \t]+/.exec(body.slice(pos));
    if (!m) fail(lineNo, `sparse entry "${clip(body.slice(pos))}" is not "index value"`);
    const idx = Number(m![1]);
    if (idx >= attributes.length) fail(lineNo, `sparse index ${idx} is out of range (0..${attributes.length - 1})`);
    const tok = readToken(body, pos + m![0].length, lineNo, fail, /,/)!;
    const text = tok.token.quoted ? tok.token.text : tok.token.text.trim();
    if (!tok.token.quoted && text === '') fail(lineNo, `sparse entry ${idx} has no value`);
    row[idx] = !tok.token.quoted && text === '?' ? null : text;
    pos = tok.end;
    while (pos < body.length && (body[pos] === ' ' || body[pos] === '\t')) pos++;
    if (pos < body.length && body[pos] !== ',') fail(lineNo, `unexpected text in sparse row: "${clip(body.slice(pos))}"`);
  }
  return row;
}

/**
 * Splits a line into comma-separated tokens, honouring quotes and stopping at a `%` comment.
 * Sparse entries contain a space between index and value, so a token keeps inner spaces of
 * unquoted text (trimmed at both ends).
 */
function tokenize(line: string, lineNo: number, fail: (line: number, msg: string) => never): Token[] {
  const out: Token[] = [];
  let pos = 0;
  const n = line.length;
  while (pos < n) {
    while (pos < n && (line[pos] === ' ' || line[pos] === '\t')) pos++;
    if (pos >= n || line[pos] === '%') break;
    const q = line[pos];
    if (q === "'" || q === '"') {
      const tok = readToken(line, pos, lineNo, fail, /,/);
      out.push(tok!.token);
      pos = tok!.end;
      while (pos < n && (line[pos] === ' ' || line[pos] === '\t')) pos++;
      if (pos < n && line[pos] !== ',' && line[pos] !== '%') {
        fail(lineNo, `unexpected text after a quoted value at column ${pos + 1}: "${clip(line.slice(pos))}"`);
      }
    } else {
      let end = pos;
      while (end < n && line[end] !== ',' && line[end] !== '%') end++;
      const text = line.slice(pos, end).trim();
      if (text === '') fail(lineNo, `empty value at column ${pos + 1} (use ? for a missing value)`);
      out.push({ text, quoted: false });
      pos = end;
    }
    if (pos < n && line[pos] === ',') {
      pos++;
      // A trailing comma means a missing last value, which ARFF spells `?`.
      if (line.slice(pos).trim() === '' || line.slice(pos).trim().startsWith('%')) {
        fail(lineNo, 'line ends with a comma (use ? for a missing value)');
      }
    }
  }
  return out;
}

/** Reads one token at `pos`: quoted (with escapes) or bare up to a char matching `stop`. */
function readToken(
  s: string,
  pos: number,
  lineNo: number,
  fail: (line: number, msg: string) => never,
  stop: RegExp,
): { token: Token; end: number } | null {
  while (pos < s.length && (s[pos] === ' ' || s[pos] === '\t')) pos++;
  if (pos >= s.length) return null;
  const q = s[pos];
  if (q === "'" || q === '"') {
    let text = '';
    let j = pos + 1;
    for (; j < s.length; j++) {
      const c = s[j];
      if (c === '\\' && j + 1 < s.length) {
        const e = s[++j];
        text += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
      } else if (c === q) break;
      else text += c;
    }
    if (j >= s.length) fail(lineNo, `unterminated quoted value starting at column ${pos + 1}`);
    return { token: { text, quoted: true }, end: j + 1 };
  }
  let j = pos;
  while (j < s.length && !stop.test(s[j])) j++;
  return { token: { text: s.slice(pos, j), quoted: false }, end: j };
}

/** Index of the `}` closing the `{` at position 0, skipping quoted text. */
function findClosingBrace(s: string, lineNo: number, fail: (line: number, msg: string) => never): number {
  let q: string | null = null;
  for (let j = 1; j < s.length; j++) {
    const c = s[j];
    if (q) {
      if (c === '\\') j++;
      else if (c === q) q = null;
    } else if (c === "'" || c === '"') q = c;
    else if (c === '}') return j;
  }
  return fail(lineNo, 'missing closing } in value list');
}

/** Strict decimal number (no hex, no empty string, no trailing junk); null when not a number. */
function parseNumber(s: string): number | null {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    if (/^[+-]?(inf(inity)?)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
    if (/^nan$/i.test(s)) return NaN;
    return null;
  }
  return Number(s);
}

function clip(s: string, max = 60): string {
  return s.length > max ? s.slice(0, max) + '…' : s;
}
