/**
 * Submission cases: a valid selection, relabel or ranking submission against a small made-up
 * pool, written as CSV, TXT, JSON, Parquet or Arrow, then mutated (unknown, duplicate,
 * missing or mistyped ids and labels, budgets, duplicate JSON keys, deep nesting, odd column
 * types, …) and damaged at the byte level.
 */
import { Bool, Dictionary, Field, Float64, Int32, Int64, List, Table as ArrowTable, Utf8, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import type { Task } from '../../src/challenge/schema.ts';
import { byteMutation, pickByteMutation } from './bytes.ts';
import type { FuzzCase, SubmissionCall } from './cases.ts';
import { formatOfSeed } from './formats.ts';
import type { GenContext } from './import-cases.ts';
import { ACCEPT, EITHER, afterBytes, reject, type Expect } from './oracle.ts';
import { between, chance, pick, utf8, weighted, type Rng } from './random.ts';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** An id or label as it will be written: text, a JSON number/bool, a bare JSON token, or null. */
type Val = string | number | boolean | null | { bare: string };

interface Sub {
  task: Task;
  columns: string[];
  rows: Val[][];
  /** JSON: an array of ids, {"ids": [...]}, or an array of objects. */
  jsonShape: 'array' | 'ids' | 'objects';
  /** JSON: a key written twice in row `row` (or in the top object when row = -1). */
  duplicateKey?: { row: number; key: string; value: Val };
  /** Parquet/Arrow: the id column's type. */
  idType?: 'text' | 'int' | 'double' | 'bool' | 'blob' | 'list' | 'dict' | 'int64';
}

const CLASS_SETS = [['a', 'b', 'c'], ['0', '1', '2', '3'], ['T-shirt/top', 'Trouser', 'Pull over'], ['yes', 'no']];

function makePool(rng: Rng): { ids: string[]; classes: string[]; numeric: boolean } {
  const n = between(rng, 30, 200);
  const numeric = chance(rng, 0.3);
  const style = pick(rng, ['r', 'img-', 'x_']);
  const off = rng.int(100);
  const ids = Array.from({ length: n }, (_, i) => (numeric ? String(off + i) : style === 'img-' ? `img-${String(off + i).padStart(5, '0')}` : `${style}${off + i}`));
  return { ids, classes: pick(rng, CLASS_SETS), numeric };
}

const asText = (v: Val): string | null => (v === null ? null : typeof v === 'object' ? v.bare : String(v));

const SUB_MUTATIONS = [
  'unknown-id', 'duplicate-id', 'over-budget', 'missing-id', 'unknown-label', 'missing-label', 'whitespace-id', 'case-id', 'numeric-forms',
  'unicode-id', 'nul-in-id', 'long-id', 'extra-column', 'duplicate-column', 'missing-column', 'header-case', 'no-header', 'header-only',
  'blank-line-middle', 'comma-in-txt', 'json-float-id', 'json-bool-id', 'json-nested-id', 'json-object-id', 'json-deep', 'json-duplicate-key',
  'json-huge-int', 'json-number-forms', 'json-nan', 'json-mixed-array', 'json-extra-top-key', 'typed-id-odd', 'typed-id-int', 'no-rows',
  'wrong-format-option', 'empty-file',
] as const;
type SubMutation = (typeof SUB_MUTATIONS)[number];

const APPLIES: Partial<Record<SubMutation, readonly string[]>> = {
  'header-case': ['csv'], 'no-header': ['csv'], 'header-only': ['csv'], 'blank-line-middle': ['csv', 'txt'], 'comma-in-txt': ['txt'],
  'json-float-id': ['json'], 'json-bool-id': ['json'], 'json-nested-id': ['json'], 'json-object-id': ['json'], 'json-deep': ['json'],
  'json-duplicate-key': ['json'], 'json-huge-int': ['json'], 'json-number-forms': ['json'], 'json-nan': ['json'], 'json-mixed-array': ['json'],
  'json-extra-top-key': ['json'], 'numeric-forms': ['csv', 'txt', 'json'], 'typed-id-odd': ['parquet', 'arrow'], 'typed-id-int': ['parquet', 'arrow'], 'no-rows': ['parquet', 'arrow'],
  'extra-column': ['csv', 'json', 'parquet', 'arrow'], 'duplicate-column': ['csv', 'parquet', 'arrow'], 'missing-column': ['csv', 'json', 'parquet', 'arrow'],
};

// ---------------------------------------------------------------------------------------
// Writers.

function csvField(s: string, quoteAll: boolean): string {
  return quoteAll || /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function toCsvText(s: Sub, rng: Rng, header: boolean): string {
  const q = chance(rng, 0.1);
  const lines = header ? [s.columns.map((c) => csvField(c, q)).join(',')] : [];
  for (const r of s.rows) lines.push(r.map((v) => (v === null ? '' : csvField(asText(v)!, q))).join(','));
  return lines.join('\n') + '\n';
}

function jsonVal(v: Val): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return v.bare;
  return JSON.stringify(v);
}

function toJsonText(s: Sub, rng: Rng): string {
  const sp = chance(rng, 0.5) ? ' ' : '';
  const nl = chance(rng, 0.3) ? '\n' : '';
  if (s.jsonShape === 'objects') {
    const items = s.rows.map((r, i) => {
      const kv = s.columns.map((c, j) => `${JSON.stringify(c)}:${sp}${jsonVal(r[j])}`);
      if (s.duplicateKey?.row === i) kv.push(`${JSON.stringify(s.duplicateKey.key)}:${sp}${jsonVal(s.duplicateKey.value)}`);
      return `{${kv.join(`,${sp}`)}}`;
    });
    return `[${nl}${items.join(`,${nl}`)}${nl}]`;
  }
  const arr = `[${s.rows.map((r) => jsonVal(r[0])).join(`,${sp}`)}]`;
  if (s.jsonShape === 'array') return arr;
  const dup = s.duplicateKey?.row === -1 ? `,${sp}${JSON.stringify(s.duplicateKey.key)}:${sp}${jsonVal(s.duplicateKey.value)}` : '';
  return `{"ids":${sp}${arr}${dup}}`;
}

function arrowVec(rng: Rng, s: Sub, j: number): Vector {
  const vals = s.rows.map((r) => r[j]);
  const text = vals.map(asText);
  const isId = s.columns[j] === 'id';
  const t = isId ? s.idType ?? 'text' : 'text';
  switch (t) {
    case 'int':
      return vectorFromArray(text.map((x) => (x === null ? null : Number(x) | 0)), new Int32());
    case 'int64':
      return vectorFromArray(text.map((x) => (x === null || !/^-?\d+$/.test(x) ? null : BigInt(x))), new Int64());
    case 'double':
      return vectorFromArray(text.map((x) => (x === null ? null : Number(x) + 0.5)), new Float64());
    case 'bool':
      return vectorFromArray(text.map((x) => x !== null && x.length % 2 === 0), new Bool());
    case 'list':
      return vectorFromArray(text.map((x) => (x === null ? null : [x.length])), new List(new Field('item', new Int32(), true)));
    case 'dict':
      return vectorFromArray(text, new Dictionary(new Utf8(), new Int32()));
    default:
      return vectorFromArray(text, chance(rng, 0.2) ? new Dictionary(new Utf8(), new Int32()) : new Utf8());
  }
}

function toArrowBytes(s: Sub, rng: Rng): Uint8Array {
  const cols: Record<string, Vector> = {};
  s.columns.forEach((c, j) => (cols[c in cols ? `${c}_` : c] = arrowVec(rng, s, j)));
  return tableToIPC(new ArrowTable(cols), chance(rng, 0.3) ? 'stream' : 'file');
}

const sqlStr = (x: string) => `'${x.replaceAll("'", "''").replaceAll('\u0000', "' || chr(0) || '")}'`;

async function toParquetBytes(ctx: GenContext, s: Sub, rng: Rng, name: string): Promise<Uint8Array> {
  const cell = (v: Val, isId: boolean): string => {
    const x = asText(v);
    const t = isId ? s.idType ?? 'text' : 'text';
    if (x === null) return `NULL::${t === 'int' || t === 'int64' ? 'BIGINT' : t === 'double' ? 'DOUBLE' : t === 'bool' ? 'BOOLEAN' : t === 'blob' ? 'BLOB' : t === 'list' ? 'INTEGER[]' : 'VARCHAR'}`;
    switch (t) {
      case 'int':
      case 'int64':
        return /^-?\d{1,18}$/.test(x) ? `${x}::BIGINT` : 'NULL::BIGINT';
      case 'double':
        return `${Number.isFinite(Number(x)) ? Number(x) + 0.5 : 0}::DOUBLE`;
      case 'bool':
        return x.length % 2 ? 'true' : 'false';
      case 'blob':
        return `${sqlStr(x.replace(/[^\x20-\x7e]/g, '?').replaceAll('\\', '/'))}::BLOB`;
      case 'list':
        return `[${x.length}]`;
      case 'dict':
        return `${sqlStr(x)}::VARCHAR`;
      default:
        return `${sqlStr(x)}::VARCHAR`;
    }
  };
  const path = join(ctx.scratch, name);
  const names = s.columns.map((c) => `"${c.replaceAll('"', '""')}"`);
  const select = s.rows.length
    ? `SELECT ${names.map((nm, j) => `c${j} AS ${nm}`).join(', ')} FROM (VALUES ${s.rows.map((r) => `(${r.map((v, j) => cell(v, s.columns[j] === 'id')).join(', ')})`).join(', ')}) v(${names.map((_, j) => `c${j}`).join(', ')})`
    : `SELECT ${names.map((nm) => `NULL::VARCHAR AS ${nm}`).join(', ') || '1 AS one'} LIMIT 0`;
  await ctx.conn.run(`COPY (${select}) TO ${sqlStr(path)} (FORMAT parquet, COMPRESSION ${pick(rng, ['zstd', 'snappy', 'uncompressed'])})`);
  const bytes = new Uint8Array(readFileSync(path));
  rmSync(path);
  return bytes;
}

// ---------------------------------------------------------------------------------------

export async function submissionCase(seed: number, ctx: GenContext): Promise<FuzzCase> {
  const format = formatOfSeed('submission', seed);
  const rng = createRng(deriveSeed(seed, 'fuzz-submission', format));
  const pool = makePool(rng);
  const task: Task = format === 'txt' ? pick(rng, ['selection', 'ranking'] as const) : pick(rng, ['selection', 'relabel', 'ranking'] as const);
  const n = pool.ids.length;
  const budget = task === 'ranking' ? (chance(rng, 0.5) ? n : between(rng, 5, n)) : between(rng, 5, Math.min(n, 60));
  const k = between(rng, 1, Math.min(budget, 40));
  const chosen = Array.from(rng.permutation(n).subarray(0, k));
  const numericJson = format === 'json' && pool.numeric && chance(rng, 0.5);
  const idVal = (i: number): Val => (numericJson ? Number(pool.ids[i]) : pool.ids[i]);
  const sub: Sub = {
    task,
    columns: task === 'relabel' ? ['id', 'label'] : ['id'],
    rows: chosen.map((i) => (task === 'relabel' ? [idVal(i), pick(rng, pool.classes)] : [idVal(i)])),
    jsonShape: task === 'relabel' ? 'objects' : pick(rng, ['array', 'ids', 'objects'] as const),
    idType: pool.numeric && chance(rng, 0.3) ? pick(rng, ['int', 'int64'] as const) : undefined,
  };
  const call: SubmissionCall = { kind: 'submission', file: `sub.${format}`, task, poolIds: pool.ids, classNames: pool.classes, budget };
  const mutations: string[] = [];
  let expect: Expect = ACCEPT;
  let header = true;
  let bytesOverride: Uint8Array | undefined;
  const row = () => rng.int(sub.rows.length);
  const unused = () => pool.ids.find((_, i) => !chosen.includes(i));

  const nSem = weighted(rng, [[0, 30], [1, 55], [2, 15]]);
  for (let j = 0; j < nSem; j++) {
    const m = pick(rng, SUB_MUTATIONS.filter((x) => !APPLIES[x] || APPLIES[x]!.includes(format)));
    if ((m === 'unknown-label' || m === 'missing-label') && task !== 'relabel') continue;
    if (!sub.rows.length) break; // header-only / no-rows leave nothing to edit
    mutations.push(m);
    const r = row();
    switch (m) {
      case 'unknown-id':
        sub.rows[r][0] = pick(rng, [`${asText(sub.rows[r][0])}x`, 'nope', String(n + 1000), 'r-1']);
        expect = reject('an id not in the pool');
        break;
      case 'duplicate-id':
        sub.rows.splice(rng.int(sub.rows.length + 1), 0, [...sub.rows[r]]);
        expect = reject('an id twice');
        break;
      case 'over-budget': {
        const extra = pool.ids.map((_, i) => i).filter((i) => !chosen.includes(i)).slice(0, budget - sub.rows.length + 1);
        if (sub.rows.length + extra.length <= budget) {
          mutations.pop();
          break;
        }
        for (const i of extra) sub.rows.push(task === 'relabel' ? [idVal(i), pool.classes[0]] : [idVal(i)]);
        expect = reject('over budget');
        break;
      }
      case 'missing-id':
        // Not the last line of a text file: trailing blank lines are not rows.
        sub.rows[(format === 'txt' || format === 'csv') && sub.rows.length > 1 ? rng.int(sub.rows.length - 1) : r][0] = format === 'txt' ? '' : pick(rng, [null, '']);
        expect = reject('a missing id');
        break;
      case 'unknown-label':
        sub.rows[r][1] = pick(rng, ['zzz', `${pool.classes[0]} `, pool.classes[0].toUpperCase() + '!', '-1', '1.0', '😀']);
        expect = pool.classes.includes(asText(sub.rows[r][1])!) ? expect : reject('a label that is not a class');
        break;
      case 'missing-label':
        sub.rows[r][1] = pick(rng, [null, '']);
        expect = reject('a missing label');
        break;
      case 'whitespace-id': {
        const pad = pick(rng, [' ', '  ', '\t']);
        sub.rows[r][0] = `${pad}${asText(sub.rows[r][0])}${pick(rng, ['', ' ', '\t'])}`;
        // CSV and TXT trim surrounding whitespace (issue 13); elsewhere either answer is defensible.
        expect = (format === 'csv' || format === 'txt') && expect.outcome === 'accept' ? ACCEPT : expect.outcome === 'reject' ? expect : EITHER;
        break;
      }
      case 'case-id': {
        const t = asText(sub.rows[r][0])!;
        if (t.toUpperCase() === t) {
          mutations.pop();
          break;
        }
        sub.rows[r][0] = t.toUpperCase();
        expect = reject('an id in the wrong case');
        break;
      }
      case 'numeric-forms': {
        const t = asText(sub.rows[r][0])!;
        sub.rows[r][0] = pick(rng, [`0${t}`, `${t}.0`, `+${t}`, `${t}e0`, `${t}\u0660`]);
        expect = reject('an id spelled differently');
        break;
      }
      case 'unicode-id':
        sub.rows[r][0] = `${asText(sub.rows[r][0])}${pick(rng, ['\u200b', '\u0301', '😀', '\u202e'])}`;
        expect = reject('an id with an extra character');
        break;
      case 'nul-in-id':
        sub.rows[r][0] = `${asText(sub.rows[r][0])}\u0000`;
        expect = reject('a NUL byte in an id');
        break;
      case 'long-id':
        sub.rows[r][0] = 'x'.repeat(pick(rng, [10_000, 1_000_000]));
        expect = reject('an id not in the pool');
        break;
      case 'extra-column':
        sub.columns.push(pick(rng, ['score', 'label2', 'rank', 'id2']));
        for (const x of sub.rows) x.push(String(rng.int(10)));
        if (format === 'json') sub.jsonShape = 'objects';
        expect = reject('an extra column');
        break;
      case 'duplicate-column':
        sub.columns.push('id');
        for (const x of sub.rows) x.push(x[0]);
        expect = format === 'csv' ? reject('the id column twice') : EITHER;
        break;
      case 'missing-column':
        if (sub.columns.length === 2) {
          sub.columns.pop();
          for (const x of sub.rows) x.pop();
          expect = reject('no label column');
        } else {
          sub.columns[0] = 'ident';
          if (format === 'json') sub.jsonShape = 'objects';
          expect = reject('no id column');
        }
        break;
      case 'header-case':
        sub.columns[0] = pick(rng, ['ID', 'Id', ' id', 'id ', '"id"', 'ïd']);
        expect = sub.columns[0].trim() === 'id' ? expect : reject('the id column misspelled');
        break;
      case 'no-header':
        header = false;
        expect = reject('no header line');
        break;
      case 'header-only':
        sub.rows = [];
        expect = reject('no rows');
        break;
      case 'blank-line-middle':
        if (sub.rows.length < 2) {
          mutations.pop();
          break;
        }
        sub.rows.splice(1 + rng.int(sub.rows.length - 1), 0, sub.columns.map(() => ''));
        expect = reject('a blank line between rows');
        break;
      case 'comma-in-txt':
        sub.rows[r][0] = `${asText(sub.rows[r][0])},1`;
        expect = reject('a comma in a TXT line');
        break;
      case 'json-float-id':
        sub.rows[r][0] = { bare: pick(rng, ['1.5', '-0.25', '1e-3']) };
        expect = reject('a fractional id');
        break;
      case 'json-bool-id':
        sub.rows[r][0] = pick(rng, [true, false]);
        expect = reject('a boolean id');
        break;
      case 'json-nested-id':
        sub.rows[r][0] = { bare: `[${jsonVal(sub.rows[r][0])}]` };
        expect = reject('an array as an id');
        break;
      case 'json-object-id':
        sub.rows[r][0] = { bare: `{"id": ${jsonVal(sub.rows[r][0])}}` };
        expect = sub.jsonShape === 'objects' ? reject('an object as an id') : reject('a mixed array');
        break;
      case 'json-deep': {
        const d = pick(rng, [1000, 10_000, 200_000]);
        sub.rows[r][0] = { bare: '['.repeat(d) + ']'.repeat(d) };
        expect = reject('deeply nested arrays as an id');
        break;
      }
      case 'json-duplicate-key':
        if (sub.jsonShape === 'objects') sub.duplicateKey = { row: r, key: pick(rng, sub.columns), value: sub.rows[(r + 1) % sub.rows.length][0] };
        else {
          sub.jsonShape = 'ids';
          sub.duplicateKey = { row: -1, key: 'ids', value: { bare: `[${jsonVal(sub.rows[0][0])}]` } };
        }
        expect = reject('a JSON key twice');
        break;
      case 'json-huge-int':
        sub.rows[r][0] = { bare: pick(rng, ['9007199254740993', '1e400', '-99999999999999999999', '123456789012345678901234567890']) };
        expect = reject('an id not in the pool');
        break;
      case 'json-number-forms': {
        const t = asText(sub.rows[r][0])!;
        if (!/^\d+$/.test(t)) {
          mutations.pop();
          break;
        }
        sub.rows[r][0] = { bare: pick(rng, [`${t}.0`, `${t}e0`, `${t}.000`, `${t}E+0`]) };
        expect = EITHER;
        break;
      }
      case 'json-nan':
        sub.rows[r][0] = { bare: pick(rng, ['NaN', 'Infinity', '-Infinity', 'undefined', 'nan']) };
        expect = reject('not JSON');
        break;
      case 'json-mixed-array':
        if (sub.jsonShape === 'objects') sub.rows[r][0] = { bare: '"x"' };
        sub.jsonShape = 'array';
        sub.rows.splice(r, 0, [{ bare: `{"id": ${jsonVal(sub.rows[r][0])}}` }]);
        expect = reject('a mixed array');
        break;
      case 'json-extra-top-key':
        sub.jsonShape = 'ids';
        sub.duplicateKey = { row: -1, key: pick(rng, ['labels', 'id', 'IDS', '__proto__', 'constructor']), value: { bare: '[]' } };
        expect = reject('an unexpected key');
        break;
      case 'typed-id-odd':
        sub.idType = pick(rng, ['double', 'bool', 'blob', 'list'] as const);
        if (format === 'arrow' && sub.idType === 'blob') sub.idType = 'double';
        expect = reject('ids of a type that is not text or integer');
        break;
      case 'typed-id-int':
        if (!pool.numeric) {
          sub.idType = 'int';
          expect = reject('integer ids for a pool of text ids');
        } else {
          sub.idType = pick(rng, ['int', 'int64', 'dict'] as const);
          if (mutations.length > 1) expect = EITHER; // may have replaced an odd id type
        }
        break;
      case 'no-rows':
        sub.rows = [];
        expect = reject('no rows');
        break;
      case 'wrong-format-option':
        call.format = pick(rng, ['csv', 'txt', 'json', 'parquet', 'arrow', 'xml'].filter((f) => f !== format));
        expect = reject(`a ${format} file read as ${call.format}`);
        break;
      case 'empty-file':
        bytesOverride = new Uint8Array(0);
        expect = reject('an empty file');
        break;
    }
  }

  let bytes: Uint8Array;
  if (bytesOverride) bytes = bytesOverride;
  else if (format === 'csv') bytes = utf8(toCsvText(sub, rng, header));
  else if (format === 'txt') bytes = utf8(sub.rows.map((x) => asText(x[0]) ?? '').join('\n') + '\n');
  else if (format === 'json') bytes = utf8(toJsonText(sub, rng));
  else if (format === 'arrow') bytes = toArrowBytes(sub, rng);
  else bytes = await toParquetBytes(ctx, sub, rng, call.file);

  const kind = format === 'parquet' || format === 'arrow' ? 'binary' : 'text';
  const nByte = bytesOverride ? 0 : weighted(rng, [[0, 50], [1, 40], [2, 10]]);
  // A text submission keeps its meaning under CRLF line ends, a BOM or a missing final newline.
  const keeps = new Set(kind === 'text' ? ['crlf', 'utf8-bom', 'no-final-newline'] : []);
  for (let j = 0; j < nByte; j++) {
    const m = j === 0 && kind === 'text' && chance(rng, 0.15) ? byteMutation(pick(rng, ['crlf', 'utf8-bom'])) : pickByteMutation(rng, kind);
    bytes = m.apply(rng, bytes);
    mutations.push(m.name);
    expect = m.name.startsWith('truncate') && format === 'parquet' && bytes.length > 0 ? reject('truncated Parquet') : afterBytes(expect, m, kind, keeps);
    if (m.name === 'insert-nul' && kind === 'text') expect = reject('a NUL byte in a text submission');
  }
  return { family: 'submission', format, seed, mutations: mutations.length ? mutations : ['valid'], files: [{ name: call.file, bytes }], call, expect };
}
