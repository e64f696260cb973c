import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importPool } from '../src/pool/import/index.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { writePool } from '../src/pool/write.ts';
import { exportPool } from '../src/pool/export.ts';
import { encodeIdx } from '../src/pool/formats/idx.ts';
import { fixture, importFails, mixedDraft, sieve, tempDir } from './pool-helpers.ts';

const GOOD_CSV = 'id,label,age,colour,sex,note\n' +
  Array.from({ length: 20 }, (_, i) => `r${i},${i % 2 ? 'yes' : 'no'},${20 + i},${['red', 'blue', 'green'][i % 3]},${i % 4 ? 'f' : 'm'},${'word '.repeat(i % 5 + 1).trim()} ${'x'.repeat(70 * (i % 2))}`).join('\n') + '\n';

describe('pool import: good inputs', () => {
  it('imports CSV with inferred kinds, groups and a seeded stratified test split', async () => {
    const dir = fixture({ 'data.csv': GOOD_CSV });
    const opts = { input: join(dir, 'data.csv'), name: 'people', groupColumns: ['sex'], testFraction: 0.2, seed: 7 };
    const m = await importPool({ ...opts, out: join(dir, 'a') });
    expect(m.classes).toEqual(['no', 'yes']);
    expect(m.features.map((f) => [f.name, f.kind])).toEqual([
      ['age', 'numeric'],
      ['colour', 'categorical'],
      ['note', 'text'],
    ]);
    expect(m.features[1].categories).toEqual(['blue', 'green', 'red']);
    expect(m.splits.train.class_counts).toEqual({ no: 8, yes: 8 });
    expect(m.splits.test!.class_counts).toEqual({ no: 2, yes: 2 });
    expect(m.files.find((f) => f.role === 'test')!.visibility).toBe('participant');
    // Same seed, same split, same bytes; another seed, another split.
    const again = await importPool({ ...opts, out: join(dir, 'b') });
    expect(again.content_hash).toBe(m.content_hash);
    expect(again.files.map((f) => f.sha256)).toEqual(m.files.map((f) => f.sha256));
    const other = await importPool({ ...opts, seed: 8, out: join(dir, 'c') });
    expect(other.content_hash).not.toBe(m.content_hash);
    const pool = await openPool(join(dir, 'a'));
    const train = await readSplit(pool, 'train');
    const test = await readSplit(pool, 'test');
    expect(new Set([...train.ids, ...test.ids]).size).toBe(20);
    // File order is kept inside each split.
    const order = (ids: string[]) => ids.map((s) => Number(s.slice(1)));
    expect(order(train.ids)).toEqual([...order(train.ids)].sort((a, b) => a - b));
    const i = train.ids.indexOf('r5');
    expect(train.features[i * train.d]).toBe(25);
    expect(train.groups.sex[i]).toBe('f');
  });

  it('imports JSON Lines embeddings and a second file as the test split', async () => {
    const row = (id: string, label: string, e: number[]) => JSON.stringify({ id, label, e, g: label === 'a' ? 'x' : 'y' });
    const dir = fixture({
      'train.jsonl': [row('1', 'a', [1, 2, 3]), row('2', 'b', [4, 5, 6]), '', row('3', 'a', [7, 8, 9.5])].join('\n') + '\n',
      'test.jsonl': [row('4', 'b', [0, 0, 1]), row('5', 'a', [1, 0, 0])].join('\n'),
    });
    const m = await importPool({ input: join(dir, 'train.jsonl'), testFile: join(dir, 'test.jsonl'), groupColumns: ['g'], out: join(dir, 'p') });
    expect(m.features).toEqual([{ name: 'e', kind: 'embedding', dim: 3 }]);
    const s = await readSplit(await openPool(join(dir, 'p')), 'train');
    expect(Array.from(s.features)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9.5]);
    expect((await readSplit(await openPool(join(dir, 'p')), 'test')).ids).toEqual(['4', '5']);
  });

  it('reads CSV embeddings written as "[x, y, …]" text', async () => {
    const dir = fixture({ 'd.csv': 'id,label,e\n1,a,"[1, 2.5]"\n2,b,"[3,4]"\n3,a," [5 , 6]"\n' });
    const m = await importPool({ input: join(dir, 'd.csv'), out: join(dir, 'p') });
    expect(m.features).toEqual([{ name: 'e', kind: 'embedding', dim: 2 }]);
    expect(Array.from((await readSplit(await openPool(join(dir, 'p')))).features)).toEqual([1, 2.5, 3, 4, 5, 6]);
    const bad = fixture({ 'd.csv': 'id,label,e\n1,a,"[1, 2]"\n2,b,"[3,x]"\n3,a,\n' });
    const err = await importFails(bad, { input: 'd.csv', kinds: { e: 'embedding' } });
    expect(err.message).toMatch(/missing or unreadable embeddings in "e" \(1 row\)/);
    expect(err.examples).toEqual(['line 4: missing']);
  });

  it('round-trips a pool through Arrow and Parquet export with kinds, classes and groups intact', async () => {
    const dir = tempDir('sieve-import-');
    await writePool(join(dir, 'orig'), mixedDraft());
    const orig = await openPool(join(dir, 'orig'));
    const before = await readSplit(orig, 'train');
    for (const format of ['arrow', 'parquet'] as const) {
      await exportPool(orig, { format, out: join(dir, `x.${format}`) });
      const m = await importPool({ input: join(dir, `x.${format}`), out: join(dir, `from-${format}`) });
      expect(m.features).toEqual(orig.manifest.features);
      expect(m.groups).toEqual(orig.manifest.groups);
      const after = await readSplit(await openPool(join(dir, `from-${format}`)), 'train');
      expect(after.ids).toEqual(before.ids);
      expect(Array.from(after.labels)).toEqual(Array.from(before.labels));
      expect(Array.from(after.features)).toEqual(Array.from(before.features));
      expect(after.groups).toEqual(before.groups);
      expect(after.text).toEqual(before.text);
    }
    // CSV spreads embeddings and pixels into one column per value; float32 values survive.
    await exportPool(orig, { format: 'csv', out: join(dir, 'x.csv') });
    const m = await importPool({ input: join(dir, 'x.csv'), groupColumns: ['sex'], out: join(dir, 'from-csv'), kinds: { note: 'text' } });
    expect(m.features.slice(0, 5).map((f) => f.name)).toEqual(['emb_0', 'emb_1', 'emb_2', 'emb_3', 'img_0']);
    const viaCsv = await readSplit(await openPool(join(dir, 'from-csv')), 'train', { columns: ['emb_0', 'emb_1', 'emb_2', 'emb_3'] });
    const emb = Array.from({ length: before.n }, (_, i) => Array.from(before.features.subarray(i * before.d, i * before.d + 4))).flat();
    expect(Array.from(viaCsv.features)).toEqual(emb);
  });

  it('imports IDX image/label pairs (gzipped) with class names', async () => {
    const pixels = Uint8Array.from({ length: 5 * 2 * 3 }, (_, i) => (i * 37) % 256);
    const dir = fixture({
      'imgs-idx3-ubyte.gz': gzipSync(encodeIdx('ubyte', [5, 2, 3], pixels)),
      'labs-idx1-ubyte.gz': gzipSync(encodeIdx('ubyte', [5], [0, 1, 2, 1, 0])),
    });
    const m = await importPool({
      input: join(dir, 'imgs-idx3-ubyte.gz'),
      labels: join(dir, 'labs-idx1-ubyte.gz'),
      classes: ['zero', 'one', 'two'],
      out: join(dir, 'p'),
    });
    expect(m.features).toEqual([{ name: 'pixels', kind: 'pixels', width: 3, height: 2, channels: 1 }]);
    const s = await readSplit(await openPool(join(dir, 'p')));
    expect(s.ids).toEqual(['row-1', 'row-2', 'row-3', 'row-4', 'row-5']);
    expect(Array.from(s.labels)).toEqual([0, 1, 2, 1, 0]);
    expect(Array.from(s.pixels!.data)).toEqual(Array.from(pixels));
  });

  it('imports ARFF with nominal attributes in their declared order', async () => {
    const arff = `% test\n@relation credit\n@attribute amount numeric\n@attribute purpose {car,tv,other}\n@attribute sex {m,f}\n@attribute class {good,bad}\n@data\n100,tv,m,good\n250,car,f,bad\n80,?,f,good\n`;
    const dir = fixture({ 'c.arff': arff });
    const m = await importPool({ input: join(dir, 'c.arff'), idColumn: 'none', labelColumn: 'class', groupColumns: ['sex'], out: join(dir, 'p') });
    expect(m.classes).toEqual(['good', 'bad']);
    expect(m.features).toEqual([
      { name: 'amount', kind: 'numeric' },
      { name: 'purpose', kind: 'categorical', categories: ['car', 'tv', 'other'] },
    ]);
    const s = await readSplit(await openPool(join(dir, 'p')));
    expect(s.featureNames).toEqual(['amount', 'purpose=car', 'purpose=tv', 'purpose=other']);
    expect(Array.from(s.features)).toEqual([100, 0, 1, 0, 250, 1, 0, 0, 80, 0, 0, 0]);
  });
});

describe('pool import: missing numbers in a typed file', () => {
  it('are NULLs, and the error says so (not the text markers)', async () => {
    const { withDb } = await import('../src/pool/duckdb.ts');
    const dir = tempDir();
    const file = join(dir, 'n.parquet');
    await withDb((conn) => conn.run(`COPY (SELECT 'r' || i AS id, CASE WHEN i = 3 THEN NULL ELSE i * 0.5 END AS x, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS label FROM range(12) t(i)) TO '${file}' (FORMAT parquet)`));
    const err = await importPool({ input: file, out: join(dir, 'p') }).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/missing values in numeric feature "x" \(NULL in the file\)/);
  });
});

describe('pool import: constant columns', () => {
  it('are named in a note and the datasheet, not refused', async () => {
    const rows = ['id,x,const,colour,label', ...Array.from({ length: 12 }, (_, i) => `r${i},${i},7,red,${i % 2 ? 'a' : 'b'}`)].join('\n') + '\n';
    const dir = fixture({ 'c.csv': rows });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'c.csv'), out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    const note = '2 columns "colour", "const" have the same value in every train row: they tell a model nothing (leave them out with --feature-columns)';
    expect(notes).toContain(note);
    expect(m.datasheet.known_issues).toContain(note);
    expect(m.features.map((f) => f.name)).toEqual(['x', 'const', 'colour']);
  });
});

describe('pool import --hidden-test', () => {
  it('writes the test split evaluator-only: participant reads are refused, the organiser path reads it', async () => {
    const { readHiddenSplit } = await import('../src/pool/hidden.ts');
    const rows = ['id,x,label', ...Array.from({ length: 40 }, (_, i) => `r${i},${i},${i % 2 ? 'a' : 'b'}`)].join('\n') + '\n';
    const dir = fixture({ 'd.csv': rows });
    const open = await importPool({ input: join(dir, 'd.csv'), testFraction: 0.25, out: join(dir, 'open') });
    expect(open.files.find((f) => f.role === 'test')!.visibility).toBe('participant');
    const hidden = await importPool({ input: join(dir, 'd.csv'), testFraction: 0.25, hiddenTest: true, out: join(dir, 'hidden') });
    expect(hidden.files.find((f) => f.role === 'test')!.visibility).toBe('evaluator');
    const pool = await openPool(join(dir, 'hidden'));
    await expect(readSplit(pool, 'test')).rejects.toThrow(/evaluator/);
    expect((await readHiddenSplit(pool, 'test')).n).toBe(10);
  });
});

describe('pool import: Parquet BOOLEAN columns', () => {
  it('are two-category features (false, true), usable as group columns', async () => {
    const { withDb } = await import('../src/pool/duckdb.ts');
    const dir = tempDir();
    const file = join(dir, 'b.parquet');
    await withDb((conn) => conn.run(`COPY (SELECT 'r' || i AS id, i * 0.5 AS x, (i % 3 = 0) AS flag, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS label FROM range(12) t(i)) TO '${file}' (FORMAT parquet)`));
    const m = await importPool({ input: file, out: join(dir, 'p') });
    expect(m.features).toEqual([{ name: 'x', kind: 'numeric' }, { name: 'flag', kind: 'categorical', categories: ['false', 'true'] }]);
    const s = await readSplit(await openPool(join(dir, 'p')));
    expect(s.featureNames).toEqual(['x', 'flag=false', 'flag=true']);
    expect(Array.from(s.features.subarray(0, 6))).toEqual([0, 0, 1, 0.5, 1, 0]);
    const g = await importPool({ input: file, out: join(dir, 'g'), groupColumns: ['flag'] });
    expect(g.groups).toEqual([{ name: 'flag' }]);
    const sg = await readSplit(await openPool(join(dir, 'g')));
    expect(sg.groups.flag.slice(0, 3)).toEqual(['true', 'false', 'false']);
  });
});

describe('pool import: malformed inputs fail precisely and leave nothing behind', () => {
  it('missing ids', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,x\n1,a,1\n,b,2\n3,a,3\n' }), { input: 'd.csv' });
    expect(err.message).toMatch(/missing ids in column "id"/);
    expect(err.examples).toEqual(['line 3']);
  });

  it('duplicate ids, naming the id and both rows (via the CLI: exit code 2)', () => {
    const dir = fixture({ 'd.csv': 'id,label,x\n1,a,1\n2,b,2\n\n7,a,3\n2,b,4\n' });
    const r = sieve(['pool', 'import', join(dir, 'd.csv'), '--out', join(dir, 'pool')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('duplicate ids');
    expect(r.stderr).toContain('"2" at line 3 and line 6');
    expect(readdirSync(dir)).toEqual(['d.csv']);
  });

  it('ids shared by the train and test files', async () => {
    const dir = fixture({ 'tr.csv': 'id,label,x\n1,a,1\n2,b,2\n', 'te.csv': 'id,label,x\n3,a,1\n1,b,2\n' });
    const err = await importFails(dir, { input: 'tr.csv', testFile: join(dir, 'te.csv') });
    expect(err.message).toMatch(/ids occur in both/);
    expect(err.examples[0]).toBe('"1" at line 2 of tr.csv and line 3 of te.csv');
  });

  it('missing labels', async () => {
    const err = await importFails(fixture({ 'd.jsonl': '{"id":1,"label":"a","x":1}\n{"id":2,"x":2}\n{"id":3,"label":"","x":2}\n' }), { input: 'd.jsonl' });
    expect(err.message).toMatch(/missing labels/);
    expect(err.examples).toEqual(['line 2', 'line 3']);
  });

  it('unknown columns, listing the available ones', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,x\n1,a,1\n2,b,2\n' }), { input: 'd.csv', groupColumns: ['sex'], featureColumns: ['x', 'y'] });
    expect(err.message).toBe('unknown columns: sex (--group-columns), y (--feature-columns)');
    expect(err.examples).toEqual(['available: id, label, x']);
  });

  it('a missing id column suggests --id-column none', async () => {
    const err = await importFails(fixture({ 'd.csv': 'label,x\na,1\nb,2\n' }), { input: 'd.csv' });
    expect(err.message).toMatch(/unknown column: id \(the default id column; pass --id-column NAME, or --id-column none/);
  });

  it('ragged embeddings', async () => {
    const err = await importFails(fixture({ 'd.jsonl': '{"id":1,"label":"a","e":[1,2]}\n{"id":2,"label":"b","e":[1,2,3]}\n{"id":3,"label":"b","e":[1]}\n' }), { input: 'd.jsonl' });
    expect(err.message).toMatch(/ragged embedding "e": the first row has 2 values \(2 rows\)/);
    expect(err.examples).toEqual(['line 2: 3 values', 'line 3: 1 values']);
  });

  it('NaN and infinite numeric features', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,x\n1,a,1\n2,b,nan\n3,a,-inf\n' }), { input: 'd.csv' });
    expect(err.message).toMatch(/NaN or infinite values in numeric feature "x" \(2 rows\)/);
    expect(err.examples).toEqual(['line 3: "nan"', 'line 4: "-inf"']);
  });

  it('NaN inside an Arrow embedding', async () => {
    const dir = tempDir('sieve-import-');
    const draft = mixedDraft();
    await writePool(join(dir, 'orig'), draft);
    const { columnsToTable, float32ListData, utf8Data, writeArrowIpc } = await import('../src/pool/arrow.ts');
    const e = Float32Array.from([1, 2, 3, NaN, 5, 6]);
    await writeArrowIpc(join(dir, 'd.arrow'), columnsToTable([
      { name: 'id', data: utf8Data(['a', 'b', 'c']) },
      { name: 'label', data: utf8Data(['x', 'y', 'x']) },
      { name: 'e', data: float32ListData(e, 2) },
    ]));
    const err = await importFails(dir, { input: 'd.arrow' });
    expect(err.message).toMatch(/NaN, infinite or missing values in embedding "e"/);
    expect(err.examples).toEqual(['row 2']);
  });

  it('numbers with a few stray strings are refused, not turned into categories', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => `${i},${i % 2},${i === 17 ? 'n/a' : i * 1.5}`).join('\n');
    const err = await importFails(fixture({ 'd.csv': `id,label,x\n${rows}\n` }), { input: 'd.csv' });
    expect(err.message).toMatch(/column "x" is numeric except for 1 value/);
    expect(err.examples[0]).toBe('line 19: "n/a"');
  });

  it('empty files and header-only files', async () => {
    expect((await importFails(fixture({ 'd.csv': '' }), { input: 'd.csv' })).message).toBe('file is empty (0 bytes)');
    expect((await importFails(fixture({ 'd.csv': 'id,label,x\n' }), { input: 'd.csv' })).message).toBe('file has a header but no data rows');
    expect((await importFails(fixture({ 'd.jsonl': '\n\n' }), { input: 'd.jsonl' })).message).toMatch(/no records/);
    expect((await importFails(fixture({ 'd.parquet': '' }), { input: 'd.parquet' })).message).toBe('file is empty (0 bytes)');
  });

  it('a CSV cut off inside a quoted field (via the CLI)', () => {
    const dir = fixture({ 'd.csv': 'id,label,note\n1,a,"fine"\n2,b,"cut off he' });
    const r = sieve(['pool', 'import', join(dir, 'd.csv'), '--out', join(dir, 'pool'), '--json']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).error).toBe('truncated file: quoted field opened on line 3 is never closed');
    expect(readdirSync(dir)).toEqual(['d.csv']);
  });

  it('a CSV whose last line is broken', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,x,y\n1,a,1,2\n2,b,3,4\n3,a,5' }), { input: 'd.csv' });
    expect(err.message).toMatch(/1 record has the wrong number of fields/);
    expect(err.examples).toEqual(['line 4: 3 fields, header has 4']);
  });

  it('a title line before the data (UCI adult.test) is named as the odd line, and --skip-lines / --test-skip-lines skip it', async () => {
    const data = Array.from({ length: 30 }, (_, i) => `${i}, ${i % 2 ? 'a' : 'b'}, ${i}, ${i * 2}`);
    const test = Array.from({ length: 8 }, (_, i) => `t${i}, ${i % 2 ? 'a' : 'b'}, ${i}, ${i * 2}`);
    const dir = fixture({ 'adult.data': data.join('\n') + '\n', 'adult.test': '|1x3 Cross validator\n' + test.join('\n') + '\n' });
    const cols = { columns: ['id', 'label', 'x', 'y'], format: 'csv' as const, header: false };
    const err = await importFails(dir, { input: 'adult.data', testFile: join(dir, 'adult.test'), ...cols });
    expect(err.message).toBe('line 1 has 1 field, the other 8 records have 4: a title or comment line before the data?');
    expect(err.count).toBe(1);
    expect(err.examples).toEqual(['line 1: 1 field', 'skip it with --test-skip-lines 1']);
    const m = await importPool({ input: join(dir, 'adult.data'), testFile: join(dir, 'adult.test'), testSkipLines: 1, ...cols, out: join(dir, 'p') });
    expect(m.splits.test!.rows).toBe(8);
    expect(m.splits.train.rows).toBe(30);
    // The same with blank lines at the end and in the middle (UCI's files end with one): they are not odd lines.
    const blank = fixture({ 'adult.data': data.join('\n') + '\n', 'adult.test': '|1x3 Cross validator\n' + test.slice(0, 4).join('\n') + '\n\n' + test.slice(4).join('\n') + '\n\n' });
    const eb = await importFails(blank, { input: 'adult.data', testFile: join(blank, 'adult.test'), ...cols });
    expect(eb.message).toBe('line 1 has 1 field, the other 8 records have 4: a title or comment line before the data?');
    expect(eb.examples).toEqual(['line 1: 1 field', 'skip it with --test-skip-lines 1']);
    const mb = await importPool({ input: join(blank, 'adult.data'), testFile: join(blank, 'adult.test'), testSkipLines: 1, ...cols, out: join(blank, 'p') });
    expect(mb.splits.test!.rows).toBe(8);
    // Rows are still named by their line in the file: line 1 is the skipped title.
    const bad = fixture({ 'adult.data': data.join('\n') + '\n', 'adult.test': '|1x3 Cross validator\n' + test.join('\n').replace('t3, a, 3', 't3, a, x3') + '\n' });
    const e2 = await importFails(bad, { input: 'adult.data', testFile: join(bad, 'adult.test'), testSkipLines: 1, ...cols });
    expect(e2.message).toMatch(/column "x" is numeric except for 1 value/);
    expect(e2.examples).toEqual(['line 5: "x3"']);
    // With a header: two title lines (CRLF) above it, skipped with --skip-lines 2.
    const hdr = fixture({ 'd.csv': '# exported 2026-12-02\r\n# by a tool, with "quotes\r\nid,label,x,y\r\n' + data.join('\r\n') + '\r\n' });
    const e3 = await importFails(hdr, { input: 'd.csv' });
    expect(e3.message).toBe('lines 1–2 have 1 or 2 fields, the other 31 records have 4: title or comment lines before the header?');
    expect(e3.examples.at(-1)).toBe('skip them with --skip-lines 2');
    const m2 = await importPool({ input: join(hdr, 'd.csv'), skipLines: 2, out: join(hdr, 'p') });
    expect(m2.features.map((f) => f.name)).toEqual(['x', 'y']);
    expect(m2.splits.train.rows).toBe(30);
    // The first record is in the minority but other lines differ too: not a title line.
    const odd = fixture({ 'd.csv': 'id,label,x\n' + data.slice(0, 5).join('\n') + '\n9,a,1\n' });
    const e4 = await importFails(odd, { input: 'd.csv' });
    expect(e4.message).toBe('2 records have the wrong number of fields: the other 5 records have 4 fields, but the first record (line 1) has 3 (a title line, or the wrong delimiter?)');
    expect(e4.examples).toEqual(['line 1: 3 fields, most records have 4', 'line 7: 3 fields, most records have 4']);
    // Bad values of the options.
    expect((await importFails(dir, { input: 'adult.data', skipLines: -1, ...cols })).message).toBe('--skip-lines needs a whole number of lines (0 or more), got -1');
    expect((await importFails(dir, { input: 'adult.data', testSkipLines: 1, ...cols })).message).toBe('--test-skip-lines skips lines of the --test file; there is none');
    const js = fixture({ 'd.jsonl': '{"id":"1","label":"a","x":1}\n' });
    expect((await importFails(js, { input: 'd.jsonl', skipLines: 1 })).message).toBe('--skip-lines skips lines at the top of CSV/TSV files; d.jsonl is jsonl');
  });

  it('a .csv separated by ";" or tabs says which delimiter to pass (tryout F11)', async () => {
    const dir = fixture({ 'semicolon.csv': 'id;x;z;label\n1;1,5;2;a\n2;2,5;3;b\n3;3,0;1;a\n4;4,0;2;b\n', 'semi_dot.csv': 'id;x;label\n1;1.5;a\n2;2.5;b\n', 'tabs.csv': 'id\tx\tlabel\n1\t2\ta\n2\t3\tb\n' });
    const e1 = await importFails(dir, { input: 'semicolon.csv' });
    expect(e1.message).toBe(`the fields of semicolon.csv look separated by ";", not ",": every line splits into 4 fields by ";"; pass --delimiter ';'`);
    expect(e1.examples).toEqual(['line 1: "id;x;z;label"']);
    // One field per line (no field-count error): still the delimiter, not "unknown columns".
    expect((await importFails(dir, { input: 'semi_dot.csv' })).message).toMatch(/^the fields of semi_dot\.csv look separated by ";", not ","/);
    expect((await importFails(dir, { input: 'tabs.csv' })).message).toMatch(/separated by tabs, not ",".*pass --delimiter \$'\\t'$/);
    // A delimiter given is taken as given.
    expect((await importPool({ input: join(dir, 'semi_dot.csv'), delimiter: ';', out: join(dir, 'p') })).features).toEqual([{ name: 'x', kind: 'numeric' }]);
  });

  it('notes for dates read as text and for a few whole numbers that may be category codes; --kind silences them', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => `r${i},${(i * 7) % 5 + 1},2019-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 27) + 1).padStart(2, '0')},${i % 3}.5,${i % 2 ? 'a' : 'b'}`);
    const dir = fixture({ 'd.csv': `id,region,visited,x,label\n${rows.join('\n')}\n` });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'd.csv'), out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.features.map((f) => `${f.name}:${f.kind}`)).toEqual(['region:numeric', 'visited:text', 'x:numeric']);
    expect(notes).toEqual([
      'column "region" holds only 5 distinct whole numbers (1–5) and was read as numeric; if they are the codes of categories, pass --kind region=categorical',
      'column "visited" holds dates ("2019-01-01" …) and was read as text (hashed TF-IDF of the date\'s characters), which knows nothing of their order; convert it to a number (days since a date, a year) first, or leave it out with --feature-columns',
    ]);
    expect(m.datasheet.known_issues).toEqual(notes);
    const quiet: string[] = [];
    await importPool({ input: join(dir, 'd.csv'), out: join(dir, 'q'), kinds: { region: 'categorical', visited: 'text' }, onNote: (n) => quiet.push(n) });
    expect(quiet).toEqual([]);
  });

  it('decimal commas: a note when "1,5" makes a column categorical, and --decimal , reads it as numbers', async () => {
    const many = Array.from({ length: 80 }, (_, i) => `${i};${i % 2 ? 'a' : 'b'};${i},${i % 10}`);
    const dir = fixture({ 'semicolon.csv': 'id;x;z;label\n1;1,5;2;a\n2;2,5;3;b\n3;3,0;1;a\n4;-0,25;2;b\n', 'many.csv': `id;label;w\n${many.join('\n')}\n` });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'semicolon.csv'), delimiter: ';', out: join(dir, 'p1'), onNote: (n) => notes.push(n) });
    expect(m.features[0]).toEqual({ name: 'x', kind: 'categorical', categories: ['-0,25', '1,5', '2,5', '3,0'] });
    const note = 'column "x" holds numbers written with decimal commas ("-0,25") and was read as categories; pass --decimal , to read them as numbers';
    expect(notes).toEqual([note]);
    expect(m.datasheet.known_issues).toEqual([note]);
    // More than 50 distinct values: text, noticed as well.
    const n2: string[] = [];
    expect((await importPool({ input: join(dir, 'many.csv'), delimiter: ';', out: join(dir, 'p2'), onNote: (n) => n2.push(n) })).features[0].kind).toBe('text');
    expect(n2).toEqual(['column "w" holds numbers written with decimal commas ("0,0") and was read as text; pass --decimal , to read them as numbers']);
    // --decimal ,: numbers, read exactly.
    const d = await importPool({ input: join(dir, 'semicolon.csv'), delimiter: ';', decimal: ',', out: join(dir, 'p3') });
    expect(d.features).toEqual([{ name: 'x', kind: 'numeric' }, { name: 'z', kind: 'numeric' }]);
    const s = await readSplit(await openPool(join(dir, 'p3')));
    expect(Array.from({ length: s.n }, (_, i) => s.features[i * s.d])).toEqual([1.5, 2.5, 3, -0.25]);
        // With --decimal , a "1.5" among "1,5" is a stray value, not silently 1.5 (or 15).
    const mixed = fixture({ 'd.csv': 'id;label;x\n1;a;1,5\n2;b;2.5\n3;a;3\n4;b;4,0\n' });
    const err = await importFails(mixed, { input: 'd.csv', delimiter: ';', decimal: ',' });
    expect(err.message).toMatch(/^column "x" is numeric except for 1 value that is not a number written with a decimal comma \(--decimal ,\)/);
    expect(err.examples).toEqual(['line 3: "2.5"']);
    // A column of "1.5"s with --decimal , is noted, not silently categorical.
    const n3: string[] = [];
    await importPool({ input: join(dir, 'semicolon.csv'), delimiter: ';', decimal: ',', kinds: { x: 'categorical' }, out: join(dir, 'p4'), onNote: (n) => n3.push(n) });
    expect(n3).toEqual([]); // --kind decides: no note
    const dots = fixture({ 'd.csv': 'id;label;x\n1;a;1.5\n2;b;2.5\n' });
    const n4: string[] = [];
    await importPool({ input: join(dots, 'd.csv'), delimiter: ';', decimal: ',', out: join(dots, 'p'), onNote: (n) => n4.push(n) });
    expect(n4).toEqual(['column "x" holds numbers written with decimal points ("1.5") and was read as categories; with --decimal , only "1,5" is a number']);
    expect((await importFails(fixture({ 'd.jsonl': '{"id":"1","label":"a","x":1}\n' }), { input: 'd.jsonl', decimal: ',' })).message).toBe(
      '--decimal , reads numbers written with decimal commas in CSV/TSV files; d.jsonl is jsonl',
    );
  });

  it('ARFF: the last attribute is the label and rows are numbered when neither is given (the ARFF convention)', async () => {
    const arff = '% credit\n@relation credit\n@attribute duration numeric\n@attribute purpose {car,tv}\n@attribute class {good,bad}\n@data\n6,car,good\n48,tv,bad\n12,car,good\n';
    const dir = fixture({ 'credit.arff': arff, 'reg.arff': '@relation r\n@attribute a numeric\n@attribute y numeric\n@data\n1,2\n3,4\n' });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'credit.arff'), out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.classes).toEqual(['good', 'bad']);
    expect(m.features.map((f) => f.name)).toEqual(['duration', 'purpose']);
    expect((await readSplit(await openPool(join(dir, 'p')))).ids).toEqual(['row-1', 'row-2', 'row-3']);
    expect(notes).toEqual([
      'credit.arff has no "id" attribute: rows numbered row-1, row-2, … (name one with --id-column)',
      'credit.arff: the label is the last attribute, "class" (the ARFF convention; choose another with --label-column)',
    ]);
    // Given options win; a numeric last attribute (a regression target) is not taken as classes.
    expect((await importPool({ input: join(dir, 'credit.arff'), labelColumn: 'purpose', out: join(dir, 'p2') })).classes).toEqual(['car', 'tv']);
    const err = await importFails(dir, { input: 'reg.arff' });
    expect(err.message).toMatch(/^unknown column: label \(the default label column; pass --label-column NAME\)/);
  });

  it('UTF-16 files are named as UTF-16, with the iconv command', async () => {
    const le = Buffer.from('\ufeffid,label,x\n1,a,1\n', 'utf16le');
    const be = Buffer.from(le).swap16();
    const dir = fixture({ 'le.csv': le, 'be.tsv': be, 'le.data': le });
    for (const [f, endian] of [['le.csv', 'little'], ['be.tsv', 'big'], ['le.data', 'little']] as const) {
      const err = await importFails(dir, { input: f });
      expect(err.message).toBe(`the file is UTF-16 (${endian}-endian), not UTF-8: it starts with the UTF-16 byte-order mark ${endian === 'little' ? 'ff fe' : 'fe ff'}`);
      expect(err.examples).toEqual([`save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8 ${f} > utf8-${f}`]);
    }
  });

  it('a truncated IDX file and a truncated Parquet file', async () => {
    const full = encodeIdx('ubyte', [4, 2, 2], new Uint8Array(16));
    const dir = fixture({ 'i-idx3-ubyte': full.subarray(0, full.length - 3), 'l-idx1-ubyte': encodeIdx('ubyte', [4], [0, 1, 0, 1]) });
    const err = await importFails(dir, { input: 'i-idx3-ubyte', labels: join(dir, 'l-idx1-ubyte') });
    expect(err.message).toMatch(/truncated|short|expected/i);
    const pdir = tempDir('sieve-import-');
    await writePool(join(pdir, 'p'), mixedDraft());
    await exportPool(await openPool(join(pdir, 'p')), { format: 'parquet', out: join(pdir, 'x.parquet') });
    const bytes = readFileSync(join(pdir, 'x.parquet'));
    writeFileSync(join(pdir, 'cut.parquet'), bytes.subarray(0, bytes.length - 20));
    const perr = await importFails(pdir, { input: 'cut.parquet' });
    expect(perr.message).toMatch(/cannot read Parquet/);
  });

  it('IDX images and labels that disagree in count', async () => {
    const dir = fixture({ 'i-idx3-ubyte': encodeIdx('ubyte', [3, 2, 2], new Uint8Array(12)), 'l-idx1-ubyte': encodeIdx('ubyte', [2], [0, 1]) });
    const err = await importFails(dir, { input: 'i-idx3-ubyte', labels: join(dir, 'l-idx1-ubyte') });
    expect(err.message).toBe('3 images but 2 labels');
  });

  it('wrong encoding, naming the byte offset and line', async () => {
    const latin1 = Buffer.concat([Buffer.from('id,label,city\n1,a,Berlin\n2,b,M'), Buffer.from([0xfc]), Buffer.from('nchen\n')]);
    const err = await importFails(fixture({ 'd.csv': latin1 }), { input: 'd.csv' });
    expect(err.message).toBe('not valid UTF-8: byte offset 30 (line 3) starts the bytes fc 6e 63 68');
  });

  it('labels outside --classes', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,x\n1,cat,1\n2,dog,2\n3,cta,3\n' }), { input: 'd.csv', classes: ['cat', 'dog'] });
    expect(err.message).toMatch(/labels not among --classes \(cat, dog\) \(1 row\)/);
    expect(err.examples).toEqual(['"cta" (1 row, first at line 4)']);
  });

  it('labels outside --classes are summarised by value, with a hint for trailing punctuation', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => `${i},${i % 4 ? '<=50K.' : '>50K.'},${i}`);
    const err = await importFails(fixture({ 'd.csv': `id,label,x\n${rows.join('\n')}\n` }), { input: 'd.csv', classes: ['<=50K', '>50K'] });
    expect(err.message).toBe('labels not among --classes (<=50K, >50K) (all 40 rows of d.csv)');
    expect(err.count).toBe(40);
    expect(err.examples).toEqual([
      '">50K." (10 rows, first at line 2)',
      '"<=50K." (30 rows, first at line 3)',
      '">50K." is the class ">50K" but for a trailing "."',
      '"<=50K." is the class "<=50K" but for a trailing "."',
      `if they are the same classes, remove the "." from the labels of d.csv (when the label is the last field: sed 's/\\.$//' d.csv > fixed-d.csv)`,
    ]);
  });

  it('a test file whose classes never occur in train (UCI adult.test: ">50K.") is refused unless --classes lists them', async () => {
    const train = Array.from({ length: 30 }, (_, i) => `${i}, ${i % 3 ? '<=50K' : '>50K'}, ${i}`);
    const test = Array.from({ length: 12 }, (_, i) => `t${i}, ${i % 3 ? '<=50K.' : '>50K.'}, ${i}`);
    const files = { 'adult.data': `id,label,x\n${train.join('\n')}\n`, 'adult.test': `id,label,x\n${test.join('\n')}\n` };
    const dir = fixture(files);
    const err = await importFails(dir, { input: 'adult.data', testFile: join(dir, 'adult.test'), format: 'csv' });
    expect(err.message).toBe(
      '2 test classes never occur in the train file adult.data (all 12 rows of adult.test); train has "<=50K", ">50K". If they are meant, list every class with --classes',
    );
    expect(err.where).toBe(`${join(dir, 'adult.test')}: label`);
    expect(err.count).toBe(12);
    expect(err.examples.slice(0, 4)).toEqual([
      '">50K." (4 rows, first at line 2)',
      '"<=50K." (8 rows, first at line 3)',
      '">50K." is the train class ">50K" but for a trailing "."',
      '"<=50K." is the train class "<=50K" but for a trailing "."',
    ]);
    // One stray class among good ones, no look-alike: no hint, only that class.
    const mixed = fixture({ ...files, 'adult.test': `id,label,x\nt1,<=50K,1\nt2,>50K,2\nt3,maybe,3\n` });
    const e2 = await importFails(mixed, { input: 'adult.data', testFile: join(mixed, 'adult.test'), format: 'csv' });
    expect(e2.message).toMatch(/^a test class never occurs in the train file adult\.data \(1 row\)/);
    expect(e2.examples).toEqual(['"maybe" (1 row, first at line 4)']);
    // Listed with --classes, a class without train rows is the user's choice.
    const ok = fixture(files);
    const m = await importPool({ input: join(ok, 'adult.data'), testFile: join(ok, 'adult.test'), format: 'csv', classes: ['<=50K', '>50K', '<=50K.', '>50K.'], out: join(ok, 'p') });
    expect(m.splits.test!.class_counts).toEqual({ '<=50K': 0, '>50K': 0, '<=50K.': 8, '>50K.': 4 });
    // A class only in train is fine (a test split need not hold every class).
    const fewer = fixture({ ...files, 'adult.test': `id,label,x\nt1,<=50K,1\nt2,<=50K,2\n` });
    expect((await importPool({ input: join(fewer, 'adult.data'), testFile: join(fewer, 'adult.test'), format: 'csv', out: join(fewer, 'p') })).classes).toEqual(['<=50K', '>50K']);
  });

  it('a single class', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,x\n1,a,1\n2,a,2\n' }), { input: 'd.csv' });
    expect(err.message).toMatch(/at least two classes/);
  });
});
