/**
 * A small labelled table with every column kind the importers know (id, label, numeric,
 * few-valued integers, categorical, text, embedding, group), the cell-level mutations that
 * mean the same thing in every format (NaN/Inf spellings, huge numbers, NULs, duplicate or
 * missing ids, mixed types, deep nesting, …), and writers to CSV/TSV, JSON Lines and ARFF.
 * Binary writers (Parquet, Arrow) are in columnar.ts.
 */
import { between, chance, pick, type Rng } from './random.ts';
import { NONFINITE_SPELLINGS, ODD_NUMBERS } from './bytes.ts';

export type ColumnKind = 'id' | 'label' | 'numeric' | 'integer' | 'categorical' | 'text' | 'embedding' | 'group';

/**
 * A cell. `raw` is written verbatim by text writers (a spelling such as "-Infinity"), and by
 * typed writers as `num` when given, else as a string; `nested` is an array nested that deep.
 */
export type Cell = string | number | boolean | null | number[] | { raw: string; num?: number; bare?: boolean } | { nested: number } | { object: true };

export interface Column {
  name: string;
  kind: ColumnKind;
  values: Cell[];
}

export interface Table {
  columns: Column[];
  n: number;
  classes: string[];
  /** Ids written as JSON numbers (JSON Lines) / integers (Arrow, Parquet). */
  numericIds: boolean;
  /** Duplicate JSON keys to write into one record (JSON Lines). */
  duplicateKey?: { row: number; column: string; value: Cell };
}

export const isRaw = (c: Cell): c is { raw: string; num?: number; bare?: boolean } => c !== null && typeof c === 'object' && 'raw' in c;
export const isNested = (c: Cell): c is { nested: number } => c !== null && typeof c === 'object' && 'nested' in c;

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'red', 'green', 'blue', 'north', 'south', 'x', 'y z', 'Zürich', 'naïve', '東京'];

/** A valid table: 6–40 rows, 2–4 classes each present, id and label plus 1–5 feature kinds. */
export function baseTable(rng: Rng, opts: { kinds?: ColumnKind[]; numericIds?: boolean } = {}): Table {
  const n = between(rng, 6, 40);
  const nClasses = between(rng, 2, 4);
  const classes = chance(rng, 0.3)
    ? Array.from({ length: nClasses }, (_, i) => String(i))
    : ['cat', 'dog', 'bird', 'fish'].slice(0, nClasses);
  const numericIds = opts.numericIds ?? chance(rng, 0.25);
  const idOffset = rng.int(1000);
  const ids: Cell[] = Array.from({ length: n }, (_, i) => (numericIds ? idOffset + i : `r${idOffset + i}`));
  const labels: Cell[] = Array.from({ length: n }, (_, i) => classes[i < nClasses ? i : rng.int(nClasses)]);
  const possible: ColumnKind[] = opts.kinds ?? ['numeric', 'integer', 'categorical', 'text', 'embedding', 'group'];
  const kinds = possible.filter(() => chance(rng, 0.55));
  if (!kinds.some((k) => k !== 'group')) kinds.push(possible.find((k) => k !== 'group') ?? 'numeric');
  const dim = between(rng, 1, 4);
  const cats = WORDS.slice(0, between(rng, 2, 5));
  const columns: Column[] = [
    { name: 'id', kind: 'id', values: ids },
    { name: 'label', kind: 'label', values: labels },
  ];
  for (const kind of kinds) {
    const values: Cell[] = Array.from({ length: n }, (): Cell => {
      switch (kind) {
        case 'numeric':
          return Math.round(rng.normal() * 1000) / 100;
        case 'integer':
          return rng.int(5);
        case 'categorical':
          return pick(rng, cats);
        case 'text':
          return Array.from({ length: between(rng, 1, 12) }, () => pick(rng, WORDS)).join(' ') + ` ${rng.int(1e6)}`;
        case 'embedding':
          return Array.from({ length: dim }, () => Math.round(rng.normal() * 100) / 100);
        case 'group':
          return pick(rng, ['f', 'm', null]);
        default:
          return null;
      }
    });
    columns.push({ name: kind === 'group' ? 'sex' : `${kind.slice(0, 3)}_${columns.length}`, kind, values });
  }
  return { columns, n, classes, numericIds };
}

export interface CellMutation {
  name: string;
  /** Formats it makes sense for (undefined: all). */
  formats?: readonly string[];
  /** Returns the reason acceptance would be wrong, or null; mutates `t` in place. */
  apply(rng: Rng, t: Table): string | null;
}

const byKind = (t: Table, kinds: ColumnKind[]) => t.columns.filter((c) => kinds.includes(c.kind));

function pickColumn(rng: Rng, t: Table, kinds: ColumnKind[]): Column | undefined {
  const cs = byKind(t, kinds);
  return cs.length ? pick(rng, cs) : undefined;
}

const col = (t: Table, name: string) => t.columns.find((c) => c.name === name)!; // undefined once a mutation removed it
const JSONL = ['jsonl'];
const TEXT_TABULAR = ['csv', 'tsv', 'jsonl', 'arff'];

export const CELL_MUTATIONS: CellMutation[] = [
  {
    name: 'nonfinite',
    apply(rng, t) {
      const c = pickColumn(rng, t, ['numeric', 'integer', 'embedding']);
      if (!c) return null;
      const spelling = pick(rng, NONFINITE_SPELLINGS);
      const num = /n/i.test(spelling) && !/inf/i.test(spelling) ? NaN : spelling.trim().startsWith('-') ? -Infinity : Infinity;
      const cell = { raw: spelling, num, bare: chance(rng, 0.5) };
      const r = rng.int(t.n);
      if (c.kind === 'embedding') {
        const v = c.values[r];
        if (!Array.isArray(v)) return null;
        c.values[r] = { raw: `[${v.map((x, j) => (j === 0 ? spelling : String(x))).join(', ')}]` };
      } else c.values[r] = cell;
      return `${spelling} in numeric column ${c.name}`;
    },
  },
  {
    name: 'odd-number',
    apply(rng, t) {
      const c = pickColumn(rng, t, ['numeric', 'integer']);
      if (!c) return null;
      const k = between(rng, 1, 3);
      for (let j = 0; j < k; j++) {
        const s = pick(rng, ODD_NUMBERS);
        const num = Number(s);
        c.values[rng.int(t.n)] = Number.isFinite(num) ? { raw: s, num } : { raw: s };
      }
      return null;
    },
  },
  {
    name: 'huge-number',
    apply(rng, t) {
      const c = pickColumn(rng, t, ['numeric', 'integer', 'embedding']);
      if (!c) return null;
      const v = pick(rng, [1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, -5e-324, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, 1e300 * 10 ** 8, -0]);
      const r = rng.int(t.n);
      if (c.kind === 'embedding') {
        const e = c.values[r];
        if (!Array.isArray(e) || !e.length) return null;
        e[0] = v;
      }
      else c.values[r] = v;
      return Number.isFinite(v) ? null : `infinite value in ${c.name}`;
    },
  },
  {
    name: 'nul-in-cell',
    apply(rng, t) {
      const c = pick(rng, t.columns);
      const r = rng.int(t.n);
      const v = c.values[r];
      const s = v === null ? '' : typeof v === 'object' ? (isRaw(v) ? v.raw : JSON.stringify(v)) : String(v);
      const at = rng.int(s.length + 1);
      c.values[r] = { raw: s.slice(0, at) + '\u0000' + s.slice(at) };
      return ['numeric', 'integer', 'embedding'].includes(c.kind) ? `NUL byte in numeric column ${c.name}` : null;
    },
  },
  {
    name: 'duplicate-id',
    apply(rng, t) {
      if (!col(t, 'id')) return null; // an earlier mutation removed the id column
      const ids = col(t, 'id').values;
      const a = rng.int(t.n);
      let b = rng.int(t.n);
      if (a === b) b = (a + 1) % t.n;
      ids[b] = ids[a];
      return `id ${String(ids[a])} twice`;
    },
  },
  {
    name: 'missing-id',
    apply(rng, t) {
      col(t, 'id').values[rng.int(t.n)] = pick(rng, [null, '', ' ', { raw: '' }]);
      return 'a missing id';
    },
  },
  {
    name: 'missing-label',
    apply(rng, t) {
      col(t, 'label').values[rng.int(t.n)] = pick(rng, [null, '', '  ']);
      return 'a missing label';
    },
  },
  {
    name: 'single-class',
    apply(_rng, t) {
      const l = col(t, 'label');
      l.values = l.values.map(() => t.classes[0]);
      return 'one class only';
    },
  },
  {
    name: 'whitespace-values',
    apply(rng, t) {
      const c = pick(rng, byKind(t, ['id', 'label', 'categorical', 'group']));
      const r = rng.int(t.n);
      c.values[r] = `${pick(rng, [' ', '  ', '\t', '\u00a0'])}${String(c.values[r] ?? '')}${pick(rng, ['', ' ', '\t'])}`;
      return null;
    },
  },
  {
    name: 'unicode-values',
    apply(rng, t) {
      const c = pick(rng, byKind(t, ['id', 'label', 'categorical', 'text', 'group']));
      const r = rng.int(t.n);
      c.values[r] = pick(rng, ['😀', 'e\u0301', '\u202eevil', '\u200b', 'ﬁ', 'İ', '\ud83d\ude00x', 'Ω', '𝔘𝔫𝔦', 'a\u0000b'.replace('\u0000', '\u0001')]) + String(c.values[r] ?? '');
      return null;
    },
  },
  {
    name: 'quote-values',
    apply(rng, t) {
      const c = pick(rng, byKind(t, ['id', 'label', 'categorical', 'text', 'group']));
      const r = rng.int(t.n);
      c.values[r] = pick(rng, ['a,b', '"quoted"', "it's", 'two\nlines', 'tab\there', 'back\\slash', '""', '"', "'", '%comment', '{x}', '?', 'semi;colon', 'cr\rhere', 'crlf\r\nhere']);
      return null;
    },
  },
  {
    name: 'long-value',
    apply(rng, t) {
      const c = pick(rng, byKind(t, ['id', 'label', 'categorical', 'text', 'group']));
      c.values[rng.int(t.n)] = 'x'.repeat(pick(rng, [1000, 70_000, 300_000]));
      return null;
    },
  },
  {
    name: 'many-categories',
    apply(rng, t) {
      const c = pickColumn(rng, t, ['categorical', 'group']);
      if (!c) return null;
      c.values = c.values.map((_, i) => `v${i}-${rng.int(1e6)}`);
      return null;
    },
  },
  {
    name: 'many-classes',
    apply(_rng, t) {
      const l = col(t, 'label');
      l.values = l.values.map((_, i) => `class-${i}`);
      return null;
    },
  },
  {
    name: 'stray-string-in-numeric',
    apply(rng, t) {
      const c = pickColumn(rng, t, ['numeric', 'integer']);
      if (!c) return null;
      const s = pick(rng, ['n/a', '?', 'NA', 'null', 'None', '-', 'abc', '12abc', '1.2.3', '#DIV/0!', 'true']);
      c.values[rng.int(t.n)] = { raw: s };
      return null;
    },
  },
  {
    name: 'ragged-embedding',
    apply(rng, t) {
      const c = pickColumn(rng, t, ['embedding']);
      if (!c) return null;
      const r = rng.int(t.n);
      const v = c.values[r];
      if (!Array.isArray(v)) return null;
      c.values[r] = chance(rng, 0.5) ? [...v, 1] : v.length > 1 ? v.slice(1) : [];
      return `ragged embedding ${c.name}`;
    },
  },
  {
    name: 'null-embedding-element',
    apply(rng, t) {
      const c = pickColumn(rng, t, ['embedding']);
      if (!c) return null;
      const r = rng.int(t.n);
      const v = c.values[r];
      if (!Array.isArray(v)) return null;
      c.values[r] = { raw: `[${['null', ...v.slice(1).map(String)].join(', ')}]` };
      return `missing value in embedding ${c.name}`;
    },
  },
  {
    name: 'mixed-id-types',
    formats: JSONL,
    apply(rng, t) {
      // 7 and "7": the same text, two JSON types.
      const ids = col(t, 'id').values;
      const a = rng.int(t.n);
      let b = rng.int(t.n);
      if (a === b) b = (a + 1) % t.n;
      const k = 7 + rng.int(1000);
      ids[a] = k;
      ids[b] = String(k);
      return `ids ${k} and "${k}"`;
    },
  },
  {
    name: 'mixed-id-types-distinct',
    formats: JSONL,
    apply(rng, t) {
      const ids = col(t, 'id').values;
      const r = rng.int(t.n);
      ids[r] = typeof ids[r] === 'number' ? `s${String(ids[r])}` : 100000 + rng.int(1000);
      return 'ids of both JSON types';
    },
  },
  {
    name: 'mixed-label-types',
    formats: JSONL,
    apply(rng, t) {
      const l = col(t, 'label');
      const forms: Cell[] = [1, '1', { raw: '1.0', num: 1, bare: true }, true, { raw: '1e0', num: 1, bare: true }];
      for (let i = 0; i < t.n; i++) l.values[i] = i % 2 === 0 ? pick(rng, forms) : '0';
      return 'labels of mixed JSON types';
    },
  },
  {
    name: 'mixed-feature-types',
    formats: JSONL,
    apply(rng, t) {
      const c = pickColumn(rng, t, ['numeric', 'integer', 'categorical', 'embedding']);
      if (!c) return null;
      c.values[rng.int(t.n)] = pick(rng, [true, '12', [1, 2], { object: true as const }, 'word', { raw: '"3"' }]) as Cell;
      return null;
    },
  },
  {
    name: 'deep-nesting',
    formats: JSONL,
    apply(rng, t) {
      const others = t.columns.filter((x) => x.kind !== 'id' && x.kind !== 'label');
      if (!others.length) return null; // an earlier mutation removed them
      const c = pick(rng, others);
      c.values[rng.int(t.n)] = { nested: pick(rng, [100, 5000, 100_000, 200_000]) };
      return null;
    },
  },
  {
    name: 'nested-object',
    formats: JSONL,
    apply(rng, t) {
      const c = pick(rng, t.columns.filter((x) => x.kind !== 'id'));
      c.values[rng.int(t.n)] = { object: true };
      return null;
    },
  },
  {
    name: 'duplicate-key',
    formats: JSONL,
    apply(rng, t) {
      const c = pick(rng, t.columns);
      const r = rng.int(t.n);
      const other = c.values[(r + 1) % t.n];
      t.duplicateKey = { row: r, column: c.name, value: other };
      return `record with key "${c.name}" twice`;
    },
  },
  {
    name: 'wide',
    formats: ['csv', 'tsv', 'jsonl', 'parquet', 'arrow'],
    apply(rng, t) {
      const k = pick(rng, [300, 1000, 5000]);
      const start = t.columns.filter((c) => c.name.startsWith('w')).length;
      for (let j = 0; j < k; j++) t.columns.push({ name: `w${start + j}`, kind: 'numeric', values: Array.from({ length: t.n }, () => rng.int(100)) });
      return null;
    },
  },
  {
    name: 'column-named-weirdly',
    apply(rng, t) {
      const others = t.columns.filter((x) => x.kind !== 'id' && x.kind !== 'label');
      if (!others.length) return null;
      const c = pick(rng, others);
      c.name = pick(rng, ['', ' ', 'a b', 'x"y', "it's", 'é', '😀', 'rowid', 'select', '1col', 'a,b', 'tab\tname', 'id ', ' label', 'ID', 'Label', 'x'.repeat(300)]);
      return null;
    },
  },
  {
    name: 'duplicate-column',
    // DuckDB renames a repeated column when it writes Parquet, so there it proves nothing.
    formats: ['csv', 'tsv', 'jsonl', 'arrow', 'arff'],
    apply(rng, t) {
      const c = pick(rng, t.columns);
      t.columns.push({ ...c, values: [...c.values] });
      return `column ${c.name} twice`;
    },
  },
  {
    name: 'no-id-column',
    apply(_rng, t) {
      t.columns = t.columns.filter((c) => c.kind !== 'id');
      return 'no id column';
    },
  },
  {
    name: 'no-label-column',
    apply(_rng, t) {
      t.columns = t.columns.filter((c) => c.kind !== 'label');
      return 'no label column';
    },
  },
  {
    name: 'no-feature-columns',
    apply(_rng, t) {
      t.columns = t.columns.filter((c) => c.kind === 'id' || c.kind === 'label');
      return 'no feature columns';
    },
  },
  {
    name: 'one-row',
    apply(_rng, t) {
      for (const c of t.columns) c.values = c.values.slice(0, 1);
      t.n = 1;
      return 'one row, so one class';
    },
  },
  {
    name: 'all-null-column',
    apply(rng, t) {
      const others = t.columns.filter((x) => x.kind !== 'id' && x.kind !== 'label');
      if (!others.length) return null;
      const c = pick(rng, others);
      c.values = c.values.map(() => null);
      return null;
    },
  },
];

/** Cell mutations that make sense for `format`. */
export function cellMutationsFor(format: string): CellMutation[] {
  return CELL_MUTATIONS.filter((m) => !m.formats || m.formats.includes(format));
}

export { TEXT_TABULAR };

// ---------------------------------------------------------------------------------------
// Text writers.

function nestedJson(depth: number): string {
  return '['.repeat(depth) + '1' + ']'.repeat(depth);
}

/** A cell as CSV text (before quoting). */
function cellText(c: Cell): string {
  if (c === null) return '';
  if (isRaw(c)) return c.raw;
  if (isNested(c)) return nestedJson(c.nested);
  if (Array.isArray(c)) return `[${c.map((x) => (Object.is(x, -0) ? '-0' : String(x))).join(', ')}]`;
  if (typeof c === 'object') return '{"a": 1}';
  return String(c);
}

function csvField(s: string, delim: string, forceQuote: boolean): string {
  const needs = forceQuote || s.includes(delim) || s.includes('"') || s.includes('\n') || s.includes('\r');
  return needs ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(t: Table, delim: string, rng: Rng): string {
  const quoteAll = chance(rng, 0.15);
  const head = t.columns.map((c) => csvField(c.name, delim, quoteAll)).join(delim);
  const rows = Array.from({ length: t.n }, (_, i) => t.columns.map((c) => csvField(cellText(c.values[i]), delim, quoteAll && c.values[i] !== null)).join(delim));
  return [head, ...rows].join('\n') + '\n';
}

/** A cell as a JSON value (raw cells: bare tokens or JSON strings, as they were made). */
function jsonValue(c: Cell): string {
  if (c === null) return 'null';
  if (isRaw(c)) return c.bare ? c.raw : JSON.stringify(c.raw);
  if (isNested(c)) return nestedJson(c.nested);
  if (Array.isArray(c)) return `[${c.map((x) => (Number.isFinite(x) ? (Object.is(x, -0) ? '-0' : String(x)) : String(x))).join(',')}]`;
  if (typeof c === 'object') return '{"a": {"b": [1, 2]}}';
  if (typeof c === 'number') return Number.isFinite(c) ? (Object.is(c, -0) ? '-0' : String(c)) : String(c);
  return JSON.stringify(c);
}

export function toJsonl(t: Table): string {
  const out: string[] = [];
  for (let i = 0; i < t.n; i++) {
    const fields = t.columns.map((c) => `${JSON.stringify(c.name)}: ${jsonValue(c.values[i])}`);
    if (t.duplicateKey?.row === i) fields.push(`${JSON.stringify(t.duplicateKey.column)}: ${jsonValue(t.duplicateKey.value)}`);
    out.push(`{${fields.join(', ')}}`);
  }
  return out.join('\n') + '\n';
}

function arffValue(c: Cell): string {
  if (c === null) return '?';
  const s = cellText(c);
  return /^[A-Za-z0-9_.+-]+$/.test(s) ? s : `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** ARFF: ids and text as string attributes, labels/categories/groups nominal, numbers numeric. Embeddings are left out. */
export function toArff(t: Table, rng: Rng): string {
  const cols = t.columns.filter((c) => c.kind !== 'embedding');
  const lines = [`% generated by the sieve fuzzer`, `@relation fuzz`, ''];
  const kw = chance(rng, 0.2) ? (s: string) => s.toUpperCase() : (s: string) => s;
  for (const c of cols) {
    const name = /^[A-Za-z0-9_]+$/.test(c.name) ? c.name : `'${c.name.replaceAll("'", "\\'")}'`;
    let type: string;
    if (c.kind === 'numeric') type = pick(rng, ['numeric', 'real', 'NUMERIC']);
    else if (c.kind === 'integer') type = pick(rng, ['numeric', 'real', 'integer', 'NUMERIC']);
    else if (c.kind === 'label' || c.kind === 'categorical' || c.kind === 'group') {
      // Only the values present: a label declared with classes that never occur would hide a one-class file.
      const vals = [...new Set(c.values.filter((v) => v !== null).map(cellText))];
      type = `{${vals.map((v) => arffValue(v)).join(', ')}}`;
    } else type = 'string';
    lines.push(`${kw('@attribute')} ${name} ${type}`);
  }
  lines.push('', kw('@data'));
  for (let i = 0; i < t.n; i++) lines.push(cols.map((c) => arffValue(c.values[i])).join(','));
  return lines.join('\n') + '\n';
}
