/**
 * Streaming imports of Arrow IPC and ARFF: files of several record batches / row batches,
 * odd but valid files (dictionary columns, nulls, quoted names, comments, sparse rows, CRLF
 * and multi-byte characters across read chunks), and every problem of a bad file reported
 * at once with its global row or line numbers, nothing written.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dictionary, Field, Float64, Int32, Int64, Int8, List, RecordBatch, Schema, Struct, Table, Utf8, makeData, tableToIPC, vectorFromArray, type Data } from 'apache-arrow';
import { importPool } from '../src/pool/import/index.ts';
import { stageArff } from '../src/pool/import/stage.ts';
import { readTextLines } from '../src/pool/import/text-scan.ts';
import { openDb } from '../src/pool/duckdb.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { float32ListData } from '../src/pool/arrow.ts';
import { fixture, importFails } from './pool-helpers.ts';

const COLOUR = new Dictionary(new Utf8(), new Int32(), 0);
/** One dictionary shared by every batch: the file format allows no replacement dictionaries. */
const COLOURS = vectorFromArray(['red', 'green', 'blue'], new Utf8());
const RAGGED = new List(new Field('item', new Float64(), true));

/** One record batch of `n` rows from row `start`: id, label, x (nulls where asked), colour (dictionary), e (embedding). */
function batch(start: number, n: number, opts: { nullX?: number[]; dim?: (i: number) => number } = {}): RecordBatch {
  const ids = Array.from({ length: n }, (_, i) => `r${start + i}`);
  const labels = Array.from({ length: n }, (_, i) => ((start + i) % 3 ? 'good' : 'bad'));
  const x = Array.from({ length: n }, (_, i) => (opts.nullX?.includes(start + i) ? null : (start + i) / 4));
  const data: Data[] = [
    vectorFromArray(ids, new Utf8()).data[0],
    vectorFromArray(labels, new Utf8()).data[0],
    vectorFromArray(x, new Float64()).data[0],
    makeData({ type: COLOUR, length: n, nullCount: 0, data: Int32Array.from({ length: n }, (_, i) => (start + i) % 3), dictionary: COLOURS }),
    opts.dim
      ? // A variable-length list column, to make rows of different lengths.
        vectorFromArray(Array.from({ length: n }, (_, i) => Array.from({ length: opts.dim!(start + i) }, () => start + i)), RAGGED).data[0]
      : float32ListData(new Float32Array(n * 2).map((_, k) => start + k / 2), 2),
  ];
  const fields = ['id', 'label', 'x', 'colour', 'e'].map((name, k) => new Field(name, data[k].type, true));
  const schema = new Schema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: data }));
}

function arrowBytes(batches: RecordBatch[], format: 'file' | 'stream'): Uint8Array {
  return tableToIPC(new Table(batches), format);
}

describe('Arrow import, one record batch at a time', () => {
  it.each(['file', 'stream'] as const)('reads every batch of a %s with dictionary columns and nulls', async (format) => {
    const dir = fixture({ 'd.arrow': arrowBytes([batch(0, 5), batch(5, 7, { nullX: [8] }), batch(12, 4)], format) });
    const m = await importPool({ input: join(dir, 'd.arrow'), out: join(dir, 'p'), missing: 'impute' });
    expect(m.splits.train.rows).toBe(16);
    expect(m.features.map((f) => [f.name, f.kind])).toEqual([
      ['x', 'numeric'],
      ['colour', 'categorical'],
      ['e', 'embedding'],
    ]);
    expect(m.features[1].categories).toEqual(['blue', 'green', 'red']);
    const s = await readSplit(await openPool(join(dir, 'p')), 'train');
    expect(s.ids).toEqual(Array.from({ length: 16 }, (_, i) => `r${i}`));
    // Row 13 (from the third batch): x = 13 / 4, its colour and embedding in place.
    const i = s.ids.indexOf('r13');
    const names = s.featureNames;
    expect(s.features[i * s.d + names.indexOf('x')]).toBe(13 / 4);
    expect(s.features[i * s.d + names.indexOf('colour=green')]).toBe(1);
    expect(s.features[i * s.d + names.indexOf('e[1]')]).toBe(13.5);
  });

  it('keeps integer ids, labels, groups and features exact (no "1.0", nothing above 2^53 changed)', async () => {
    // Ids 2 apart above 2^53: through a double they change and collide.
    const n = 12;
    const big = Array.from({ length: n }, (_, i) => 9007199254740993n + 2n * BigInt(i));
    const data: Data[] = [
      vectorFromArray(big, new Int64()).data[0],
      vectorFromArray(Array.from({ length: n }, (_, i) => i % 2), new Int32()).data[0],
      vectorFromArray(Array.from({ length: n }, (_, i) => (i % 3) - 1), new Int8()).data[0],
      vectorFromArray(Array.from({ length: n }, (_, i) => (i === 4 ? null : i * 1000)), new Int32()).data[0],
    ];
    const fields = ['id', 'label', 'g', 'x'].map((name, k) => new Field(name, data[k].type, true));
    const rb = new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children: data }));
    const dir = fixture({ 'i.arrow': arrowBytes([rb], 'file') });
    const m = await importPool({ input: join(dir, 'i.arrow'), out: join(dir, 'p'), groupColumns: ['g'], missing: 'impute' });
    expect(m.classes).toEqual(['0', '1']);
    const s = await readSplit(await openPool(join(dir, 'p')), 'train');
    expect(s.ids).toEqual(big.map(String));
    expect(s.groups.g.slice(0, 3)).toEqual(['-1', '0', '1']);
    expect(s.features[1 * s.d + s.featureNames.indexOf('x')]).toBe(1000);
  });

  it('reads a stream whose batches replace their dictionary', async () => {
    // Batch 1 codes 0, 1 as red, green; batch 2 codes 0, 1 as blue, red.
    const fields = [new Field('id', new Utf8()), new Field('label', new Utf8()), new Field('colour', COLOUR, true), new Field('x', new Float64())];
    const mk = (ids: string[], dict: string[], codes: (number | null)[]) => {
      const n = ids.length;
      const data: Data[] = [
        vectorFromArray(ids, new Utf8()).data[0],
        vectorFromArray(ids.map((_, i) => (i % 2 ? 'a' : 'b')), new Utf8()).data[0],
        makeData({ type: COLOUR, length: n, data: Int32Array.from(codes, (c) => c ?? 0), nullBitmap: Uint8Array.from([codes.reduce((m: number, c, i) => (c === null ? m : m | (1 << i)), 0)]), dictionary: vectorFromArray(dict, new Utf8()) }),
        makeData({ type: new Float64(), length: n, data: Float64Array.from(ids, (_, i) => i) }),
      ];
      return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children: data }));
    };
    const dir = fixture({ 's.arrows': arrowBytes([mk(['a1', 'a2', 'a3'], ['red', 'green'], [0, 1, null]), mk(['b1', 'b2', 'b3'], ['blue', 'red'], [0, 1, 0])], 'stream') });
    const m = await importPool({ input: join(dir, 's.arrows'), format: 'arrow', out: join(dir, 'p'), groupColumns: ['colour'] });
    expect(m.splits.train.rows).toBe(6);
    const s = await readSplit(await openPool(join(dir, 'p')), 'train');
    expect(s.groups.colour).toEqual(['red', 'green', null, 'blue', 'red', 'blue']);
  });

  it('reports problems of every batch with their row numbers in the file, and writes nothing', async () => {
    // Embedding length 3 in rows 7 and 14 (second and third batch); missing x in row 9.
    const b = [batch(0, 5, { dim: () => 2 }), batch(5, 5, { dim: (r) => (r === 7 ? 3 : 2) }), batch(10, 5, { dim: (r) => (r === 14 ? 3 : 2) })];
    const dir = fixture({ 'd.arrow': arrowBytes(b, 'file') });
    const err = await importFails(dir, { input: 'd.arrow' });
    expect(err.message).toMatch(/ragged embedding "e": its first row has 2 values, 2 other rows differ/);
    expect(err.examples).toEqual(['row 8: 3 values', 'row 15: 3 values']);
  });

  it('refuses a file cut off inside a record batch', async () => {
    const bytes = arrowBytes([batch(0, 50), batch(50, 50)], 'stream');
    const dir = fixture({ 'd.arrow': bytes.subarray(0, Math.floor(bytes.length * 0.7)) });
    const err = await importFails(dir, { input: 'd.arrow' });
    expect(err.message).toMatch(/damaged Arrow file|not a readable Arrow IPC file/);
    expect(err.where).toContain('d.arrow');
  });
});

const ODD_ARFF = `% A comment before the relation
@RELATION 'credit sample'

@ATTRIBUTE 'checking status' {'<0', '0<=X<200', 'no checking'}
@ATTRIBUTE duration INTEGER   % months
@ATTRIBUTE "amount, DM" REAL
@ATTRIBUTE class {good, bad}
@DATA
% rows, some sparse
'<0', 6, 1169.5, good
{1 12, 2 2096, 3 bad}
'no checking',?,3000,good
`;

describe('ARFF import, line by line', () => {
  it('reads quoted names, comments, sparse rows and missing values in batches of rows', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? `{1 ${i}, 2 ${i * 10}, 3 bad}` : `'0<=X<200', ${i}, ${i * 10}.5, ${i % 2 ? 'bad' : 'good'}`));
    const dir = fixture({ 'c.arff': ODD_ARFF + rows.join('\r\n') + '\r\n% the end\r\n' });
    // Batches of 4 rows (16 values / 4 attributes): the 43 rows arrive in 11 batches.
    const db = await openDb();
    try {
      const s = await stageArff(db.conn, join(dir, 'c.arff'), 't', undefined, { batchValues: 16 });
      expect(s.rows).toBe(43);
      expect(s.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['checking status:VARCHAR', 'duration:DOUBLE', 'amount, DM:DOUBLE', 'class:VARCHAR']);
      expect(s.declared['checking status'].categories).toEqual(['<0', '0<=X<200', 'no checking']);
      const r = (await db.conn.runAndReadAll(`SELECT "checking status", duration, "amount, DM", class FROM t ORDER BY rowid`)).getRowsJS();
      // A sparse row: unlisted nominal attribute 0 takes its first declared value.
      expect(r[1]).toEqual(['<0', 12, 2096, 'bad']);
      expect(r[2]).toEqual(['no checking', null, 3000, 'good']);
      expect(r[3 + 39]).toEqual(['<0', 39, 390, 'bad']);
      // Line numbers: 9 header and comment lines, then one row per line.
      expect(s.describe(1)).toBe('line 10');
      expect(s.describe(4)).toBe('line 13');
      expect(s.describe(43)).toBe('line 52');
    } finally {
      db.close();
    }
    const m = await importPool({ input: join(dir, 'c.arff'), idColumn: 'none', labelColumn: 'class', missing: 'impute', out: join(dir, 'p') });
    expect(m.splits.train.rows).toBe(43);
    expect(m.classes).toEqual(['good', 'bad']);
    expect(m.features.map((f) => f.name)).toEqual(['checking status', 'duration', 'amount, DM']);
  });

  it('reports every bad line at once, grouped by problem, and writes nothing', async () => {
    const bad = ODD_ARFF + [`'<0', 7, 1, good`, `'<0', 8, good`, `'<0', 9.5, 1, bad`, `'<0', 10, 1, ugly`, `'<0', 11, good`, `'<0', 12, 1, good`].join('\n') + '\n';
    const dir = fixture({ 'c.arff': bad });
    const err = await importFails(dir, { input: 'c.arff', idColumn: 'none', labelColumn: 'class' });
    const problems = (err as unknown as { problems: { message: string; where: string; examples: string[] }[] }).problems;
    expect(problems.map((p) => p.message)).toEqual([
      'expected 4 values (one per @attribute), found 3 (2 lines)',
      'value "9.5" of integer attribute "duration" is not an integer',
      'value "ugly" of nominal attribute "class" is not one of its declared values',
    ]);
    expect(problems[0].examples).toEqual(['line 14', 'line 17']);
    expect(problems[1].where).toMatch(/c\.arff, line 15$/);
    expect(problems[2].examples).toEqual(['line 16', 'declared: good, bad']);
  });

  it('header errors name their line; invalid UTF-8 names its byte', async () => {
    const dir = fixture({
      'h.arff': '@relation r\n@attribute a numeric\n@attribute a real\n@data\n1,2\n',
      'u.arff': Buffer.concat([Buffer.from('@relation r\n@attribute s string\n@data\n\'ok\'\n\''), Buffer.from([0xc3, 0x28]), Buffer.from("'\n")]),
    });
    const h = await importFails(dir, { input: 'h.arff', idColumn: 'none', labelColumn: 'a' });
    expect(h.message).toBe('duplicate attribute name "a"');
    expect(h.where).toMatch(/h\.arff, line 3$/);
    const u = await importFails(dir, { input: 'u.arff', idColumn: 'none', labelColumn: 's' });
    expect(u.message).toMatch(/not valid UTF-8: byte offset 44 \(line 5\)/);
  });
});

describe('readTextLines', () => {
  it('splits lines at \\r\\n, \\n and \\r across chunk boundaries, multi-byte characters intact', async () => {
    const text = 'ä1\r\nöö2\nx3\r\r€4\n\n5 😀\r\n6';
    const dir = fixture({ 't.txt': text });
    for (const chunk of [1, 2, 3, 5, 7, 64]) {
      const got: [number, string][] = [];
      await readTextLines(join(dir, 't.txt'), (lines, first) => lines.forEach((l, i) => got.push([first + i, l])), undefined, chunk);
      expect(got, `chunks of ${chunk} bytes`).toEqual([
        [1, 'ä1'],
        [2, 'öö2'],
        [3, 'x3'],
        [4, ''],
        [5, '€4'],
        [6, ''],
        [7, '5 😀'],
        [8, '6'],
      ]);
    }
    writeFileSync(join(dir, 'end.txt'), 'a\nb\n');
    const lines: string[] = [];
    await readTextLines(join(dir, 'end.txt'), (l) => void lines.push(...l));
    expect(lines).toEqual(['a', 'b']);
  });
});
