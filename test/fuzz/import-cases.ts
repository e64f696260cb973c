/**
 * Importer cases: a valid table written as CSV, TSV, JSON Lines, ARFF, Parquet or Arrow, or
 * an IDX pair (idx.ts), then mutated at the cell level (meaning) and at the byte level.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { byteMutation, pickByteMutation } from './bytes.ts';
import type { FuzzCase, ImportCall } from './cases.ts';
import { ODD_ARROW, ODD_PARQUET, toArrow, toParquet } from './columnar.ts';
import { idxCase } from './idx.ts';
import { formatOfSeed } from './formats.ts';
import { ACCEPT, EITHER, afterBytes, afterCell, reject, type Expect } from './oracle.ts';
import { chance, pick, utf8, weighted, type Rng } from './random.ts';
import { baseTable, cellMutationsFor, toArff, toCsv, toJsonl, type Table } from './table.ts';


export interface GenContext {
  conn: DuckDBConnection;
  /** A scratch directory for DuckDB to write Parquet into (emptied after each use). */
  scratch: string;
}

const EXT: Record<string, string> = { csv: 'csv', tsv: 'tsv', jsonl: 'jsonl', parquet: 'parquet', arrow: 'arrow', arff: 'arff' };
const BINARY = new Set(['parquet', 'arrow']);

function splitRows(t: Table, at: number): [Table, Table] {
  const part = (lo: number, hi: number): Table => ({
    ...t,
    n: hi - lo,
    columns: t.columns.map((c) => ({ ...c, values: c.values.slice(lo, hi) })),
    duplicateKey: t.duplicateKey && t.duplicateKey.row >= lo && t.duplicateKey.row < hi ? { ...t.duplicateKey, row: t.duplicateKey.row - lo } : undefined,
  });
  return [part(0, at), part(at, t.n)];
}

/** Serialises `t` in `format`, with format-specific extras (odd types, metadata, stream/file). */
async function serialise(ctx: GenContext, rng: Rng, format: string, t: Table, mutations: string[], name: string): Promise<{ bytes: Uint8Array; expect?: Expect }> {
  switch (format) {
    case 'csv':
      return { bytes: utf8(toCsv(t, ',', rng)) };
    case 'tsv':
      return { bytes: utf8(toCsv(t, '\t', rng)) };
    case 'jsonl':
      return { bytes: utf8(toJsonl(t)) };
    case 'arff':
      return { bytes: utf8(toArff(t, rng)) };
    case 'arrow': {
      const odd = chance(rng, 0.12) ? pick(rng, ODD_ARROW) : undefined;
      if (odd) mutations.push(`arrow-${odd}`);
      let metadata: Record<string, string> | undefined;
      let fieldMetadata: Record<string, Record<string, string>> | undefined;
      if (chance(rng, 0.08)) {
        mutations.push('arrow-sieve-metadata');
        metadata = {
          [pick(rng, ['sieve.features', 'sieve.classes', 'sieve.groups'])]: pick(rng, [
            '{not json', '[]', '[{"name": "num_2", "kind": "embedding", "dim": 1000000}]', '["a"]', 'null', '[{"name": 5}]',
            '[{"name": "label", "kind": "categorical", "categories": ["x"]}]', '{"__proto__": {"polluted": 1}}',
          ]),
        };
        const c = pick(rng, t.columns);
        fieldMetadata = { [c.name]: { 'sieve.kind': 'pixels', 'sieve.width': pick(rng, ['1e9', '-1', 'NaN', '2', '0']), 'sieve.height': pick(rng, ['1', '1e9', 'x']) } };
      }
      return { bytes: toArrow(rng, t, { stream: chance(rng, 0.3), odd, metadata, fieldMetadata }), expect: odd && !['bool', 'int64-huge'].includes(odd) ? EITHER : undefined };
    }
    case 'parquet': {
      const odd = chance(rng, 0.15) ? pick(rng, ODD_PARQUET) : undefined;
      if (odd) mutations.push(`parquet-${odd}`);
      let metadata: Record<string, string> | undefined;
      if (chance(rng, 0.08)) {
        mutations.push('parquet-sieve-metadata');
        metadata = {
          [pick(rng, ['sieve.features', 'sieve.classes', 'sieve.groups'])]: pick(rng, [
            '{not json', '[]', '[{"name": "num_2", "kind": "pixels", "width": 100000, "height": 100000}]', '["cat"]', '[{"name": "sex"}]', '[1, 2]',
          ]),
        };
      }
      const bytes = await toParquet(ctx.conn, ctx.scratch, name, rng, t, { odd, metadata });
      return { bytes, expect: odd || metadata ? EITHER : undefined };
    }
  }
  throw new Error(`no writer for ${format}`);
}

/** Byte surgery that only makes sense for Parquet and Arrow files. */
function binarySurgery(rng: Rng, format: string, b: Uint8Array): { name: string; bytes: Uint8Array; expect: Expect } {
  const out = b.slice();
  const kind = pick(rng, ['wrong-magic', 'footer-length-huge', 'truncate-footer', 'truncate-half'] as const);
  switch (kind) {
    case 'wrong-magic':
      out[rng.int(Math.min(4, out.length))] ^= 0x20;
      // Readers find a Parquet file by its footer; a damaged leading magic may go unnoticed.
      return { name: 'wrong-magic', bytes: out, expect: EITHER };
    case 'footer-length-huge': {
      // Parquet: the 4 bytes before the closing PAR1 give the footer length. Arrow files end with the same idea before ARROW1.
      const at = out.length - (format === 'parquet' ? 8 : 10);
      if (at >= 0) new DataView(out.buffer).setUint32(at, pick(rng, [0xffffffff, 0x7fffffff, out.length, out.length + 1]), true);
      return { name: 'footer-length-huge', bytes: out, expect: format === 'parquet' ? reject('footer length larger than the file') : EITHER };
    }
    case 'truncate-footer':
      return { name: 'truncate-footer', bytes: out.slice(0, Math.max(0, out.length - 1 - rng.int(64))), expect: format === 'parquet' ? reject('truncated Parquet') : EITHER };
    case 'truncate-half':
      return { name: 'truncate-half', bytes: out.slice(0, out.length >> 1), expect: format === 'parquet' ? reject('truncated Parquet') : EITHER };
  }
}

export async function importCase(seed: number, ctx: GenContext): Promise<FuzzCase> {
  const format = formatOfSeed('import', seed);
  const rng = createRng(deriveSeed(seed, 'fuzz-import', format));
  if (format === 'idx' || format === 'idx-gz') return idxCase(seed, rng, format === 'idx-gz');

  const kinds = format === 'arff' ? (['numeric', 'integer', 'categorical', 'text', 'group'] as const) : undefined;
  const t = baseTable(rng, { kinds: kinds ? [...kinds] : undefined });
  const mutations: string[] = [];
  let expect: Expect = ACCEPT;
  const call: ImportCall = { kind: 'import', input: `data.${EXT[format]}` };

  // Whole-file variants first: empty, header only, another format's bytes.
  const whole = weighted(rng, [['none', 90], ['empty-file', 3], ['header-only', 3], ['format-confusion', 4]] as const);
  if (whole === 'empty-file') {
    return { family: 'import', format, seed, mutations: ['empty-file'], files: [{ name: call.input, bytes: new Uint8Array(0) }], call, expect: reject('an empty file') };
  }

  const nCell = weighted(rng, [[0, 30], [1, 50], [2, 20]]);
  const cellMs = cellMutationsFor(format);
  for (let j = 0; j < nCell; j++) {
    const m = pick(rng, cellMs);
    mutations.push(m.name);
    expect = afterCell(expect, m.apply(rng, t));
  }
  if (whole === 'header-only') {
    t.n = 0;
    for (const c of t.columns) c.values = [];
    mutations.push('header-only');
    expect = reject('no data rows');
  }

  // Options: groups, a held-out fraction, a second file as the test split.
  if (t.columns.some((c) => c.name === 'sex') && chance(rng, 0.5)) call.groupColumns = ['sex'];
  let testPart: Table | undefined;
  const split = weighted(rng, [['none', 80], ['fraction', 10], ['file', 10]] as const);
  if (split === 'fraction') {
    call.testFraction = pick(rng, [0.2, 0.5, 0.9]);
    if (expect.outcome === 'accept') expect = EITHER; // small classes may leave the test split empty
  } else if (split === 'file' && t.n >= 4) {
    const [a, b] = splitRows(t, Math.floor(t.n / 2));
    testPart = b;
    Object.assign(t, { n: a.n, columns: a.columns, duplicateKey: a.duplicateKey });
    call.testFile = `test.${EXT[format]}`;
    if (expect.outcome === 'accept') expect = EITHER;
  }
  if (chance(rng, 0.04)) {
    call.idColumn = 'none';
    mutations.push('id-column-none');
    expect = EITHER;
  }

  const files: { name: string; bytes: Uint8Array }[] = [];
  const main = await serialise(ctx, rng, format, t, mutations, call.input);
  files.push({ name: call.input, bytes: main.bytes });
  if (main.expect && expect.outcome === 'accept') expect = main.expect;
  if (testPart && call.testFile) files.push({ name: call.testFile, bytes: (await serialise(ctx, rng, format, testPart, mutations, call.testFile)).bytes });

  if (whole === 'format-confusion') {
    const other = pick(rng, ['csv', 'tsv', 'jsonl', 'arff', 'parquet', 'arrow'].filter((f) => f !== format && !(format === 'csv' && f === 'tsv')));
    files[0].bytes = (await serialise(ctx, rng, other, t, [], `confused.${EXT[other]}`)).bytes;
    mutations.push(`as-${other}`);
    expect = reject(`${other} bytes given as ${format}`);
  }

  // Byte-level damage to one of the files.
  const kind = BINARY.has(format) ? 'binary' : 'text';
  const nByte = weighted(rng, [[0, 45], [1, 45], [2, 10]]);
  for (let j = 0; j < nByte; j++) {
    const target = files[files.length > 1 && chance(rng, 0.3) ? 1 : 0];
    if (kind === 'binary' && chance(rng, 0.35)) {
      const s = binarySurgery(rng, format, target.bytes);
      target.bytes = s.bytes;
      mutations.push(s.name);
      expect = s.expect.outcome === 'reject' ? s.expect : EITHER;
      continue;
    }
    const m = j === 0 && kind === 'text' && chance(rng, 0.1) ? byteMutation('crlf') : pickByteMutation(rng, kind);
    target.bytes = m.apply(rng, target.bytes);
    mutations.push(m.name);
    expect = m.name === 'truncate' && format === 'parquet' && target.bytes.length > 0 ? reject('truncated Parquet') : afterBytes(expect, m, kind);
  }
  return { family: 'import', format, seed, mutations: mutations.length ? mutations : ['valid'], files, call, expect };
}
