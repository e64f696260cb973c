/**
 * ARFF (Weka's Attribute-Relation File Format): a header of `@relation` and `@attribute`
 * declarations, then `@data` rows of comma-separated values. Values may be quoted ('…' or
 * "…", with backslash escapes), `?` is a missing value, and `%` starts a comment outside
 * quotes. Dense rows and sparse rows (`{index value, …}`) are both read. Columns come out
 * typed: numeric attributes as a Float64Array with a missing mask, nominal/string/date
 * attributes as string arrays with null for missing. `ArffReader` reads one line at a time
 * (the streaming importer); `parseArff` reads a whole text with it.
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

/** A data row: numbers for numeric attributes, strings otherwise, null for missing (`?`). */
export type ArffRow = (string | number | null)[];

/**
 * ARFF read one line at a time, so a file of any size is parsed in bounded memory: header
 * lines until `@data` build the attribute list, then each data line gives one row, checked
 * against the attributes (value count, declared nominal values, numbers, integers). Every
 * error is a SieveError naming `source` and the line.
 */
export class ArffReader {
  relation: string | null = null;
  readonly attributes: ArffAttribute[] = [];
  /** True once the `@data` line has been read. */
  inData = false;
  private readonly seen = new Set<string>();
  private nominalSets: (Set<string> | null)[] = [];

  constructor(readonly source = 'ARFF input') {}

  private fail(lineNo: number, msg: string, extra: { examples?: string[] } = {}): never {
    throw new SieveError(msg, { where: `${this.source}, line ${lineNo}`, ...extra });
  }

  /** Reads line `lineNo` (1-based, without its line break); returns its row when it is a data row. */
  line(raw: string, lineNo: number): ArffRow | null {
    if (lineNo === 1 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('%')) return null;
    if (this.inData) return this.row(trimmed, lineNo);
    this.header(trimmed, lineNo);
    return null;
  }

  private header(trimmed: string, lineNo: number): void {
    const fail = this.fail.bind(this);
    if (trimmed[0] !== '@') fail(lineNo, `expected an @relation, @attribute or @data declaration, found "${clip(trimmed)}"`);
    const keyword = (/^@(\w+)/.exec(trimmed)?.[1] ?? '').toLowerCase();
    const rest = trimmed.slice(keyword.length + 1).trim();
    if (keyword === 'relation') {
      if (this.relation !== null) fail(lineNo, 'second @relation declaration');
      const toks = tokenize(rest, lineNo, fail);
      if (toks.length === 0) fail(lineNo, '@relation without a name');
      this.relation = toks[0].text;
    } else if (keyword === 'attribute') {
      if (this.relation === null) fail(lineNo, '@attribute before @relation');
      const attr = parseAttribute(rest, lineNo, fail);
      if (this.seen.has(attr.name)) fail(lineNo, `duplicate attribute name "${attr.name}"`);
      this.seen.add(attr.name);
      this.attributes.push(attr);
    } else if (keyword === 'data') {
      if (rest !== '' && !rest.startsWith('%')) fail(lineNo, `unexpected text after @data: "${clip(rest)}"`);
      this.headerDone();
      this.inData = true;
      this.nominalSets = this.attributes.map((a) => (a.type === 'nominal' ? new Set(a.values) : null));
    } else if (keyword === 'end') {
      fail(lineNo, 'relational attributes (@end) are not supported');
    } else {
      fail(lineNo, `unknown declaration @${keyword}`);
    }
  }

  private headerDone(): void {
    if (this.relation === null) throw new SieveError('no @relation declaration: not an ARFF file', { where: this.source });
    if (this.attributes.length === 0) throw new SieveError('no @attribute declarations', { where: this.source });
  }

  /** Checks the file had a complete header (call at the end of the input). */
  finish(): void {
    this.headerDone();
    if (!this.inData) throw new SieveError('no @data section', { where: this.source });
  }

  private row(trimmed: string, lineNo: number): ArffRow {
    const fail = this.fail.bind(this);
    const attributes = this.attributes;
    const nAttr = attributes.length;
    let cells: (string | null)[];
    if (trimmed.startsWith('{')) {
      cells = parseSparseRow(trimmed, lineNo, attributes, fail);
    } else {
      const toks = tokenize(trimmed, lineNo, fail);
      if (toks.length > 0 && !toks[toks.length - 1].quoted && toks[toks.length - 1].text.startsWith('{')) {
        fail(lineNo, 'instance weights ({w} after the values) are not supported');
      }
      if (toks.length !== nAttr) {
        fail(lineNo, `expected ${nAttr} values (one per @attribute), found ${toks.length}`);
      }
      cells = toks.map((t) => (!t.quoted && t.text === '?' ? null : t.text));
    }
    const row: ArffRow = new Array(nAttr);
    for (let a = 0; a < nAttr; a++) {
      const v = cells[a];
      const attr = attributes[a];
      if (v === null) row[a] = null;
      else if (attr.type === 'numeric') {
        const x = parseNumber(v);
        if (x === null) fail(lineNo, `value "${clip(v)}" of numeric attribute "${attr.name}" is not a number`);
        if (attr.declared === 'integer' && !Number.isInteger(x)) {
          fail(lineNo, `value "${clip(v)}" of integer attribute "${attr.name}" is not an integer`);
        }
        row[a] = x;
      } else {
        if (attr.type === 'nominal' && !this.nominalSets[a]!.has(v)) {
          fail(lineNo, `value "${clip(v)}" of nominal attribute "${attr.name}" is not one of its declared values`, {
            examples: attr.values.slice(0, 10),
          });
        }
        row[a] = v;
      }
    }
    return row;
  }
}

/** Splits text into lines at \r\n, \n or \r, as ARFF (and `ArffReader`) count them. */
export function arffLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/**
 * Parses ARFF text held in memory (the built-in pool recipe, tests); `sieve pool import`
 * streams the file through the same `ArffReader`. `source` names the file in errors; every
 * error gives the line number.
 */
export function parseArff(text: string, source = 'ARFF input'): ArffData {
  const reader = new ArffReader(source);
  const rows: ArffRow[] = [];
  const lineOfRow: number[] = [];
  arffLines(text).forEach((line, i) => {
    const row = reader.line(line, i + 1);
    if (row) {
      rows.push(row);
      lineOfRow.push(i + 1);
    }
  });
  reader.finish();
  const n = rows.length;
  const columns: ArffColumn[] = reader.attributes.map((attr, a) => {
    if (attr.type === 'numeric') {
      const values = new Float64Array(n);
      const missing = new Uint8Array(n);
      for (let r = 0; r < n; r++) {
        const v = rows[r][a];
        if (v === null) { missing[r] = 1; values[r] = NaN; } else values[r] = v as number;
      }
      return { name: attr.name, type: 'numeric', values, missing };
    }
    const values = rows.map((row) => row[a] as string | null);
    if (attr.type === 'nominal') return { name: attr.name, type: 'nominal', categories: attr.values, values };
    return { name: attr.name, type: attr.type, values };
  });
  return { relation: reader.relation!, attributes: reader.attributes, columns, rows: n, lineOfRow: Int32Array.from(lineOfRow) };
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
