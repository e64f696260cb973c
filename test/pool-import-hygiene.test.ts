/**
 * Import hygiene for real files (issue 7) and types that cannot collide or drift, bounded
 * inputs (issue 13): trimming, missing-value markers, --missing, format sniffing, headerless
 * files, every problem in one run, JSON Lines type mixing, strict numeric columns,
 * non-regular files, gzip bombs, deep nesting.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importPool, ImportProblems } from '../src/pool/import/index.ts';
import { openPool, readHead, readSplit } from '../src/pool/read.ts';
import { encodeIdx } from '../src/pool/formats/idx.ts';
import { SieveError } from '../src/util/errors.ts';
import { ADULT_COLUMNS, writeAdultLike } from './fixtures/adult-like.ts';
import { fixture, importFails, sieve, tempDir } from './pool-helpers.ts';

describe('pool import: an Adult-like file as it comes', () => {
  it('imports adult.data (no header, ", " separators, ? values) with --columns, --na-values and --classes', () => {
    const dir = tempDir('sieve-hygiene-');
    writeAdultLike(join(dir, 'adult.data'), { rows: 2000, duplicates: 5 });
    const r = sieve([
      'pool', 'import', join(dir, 'adult.data'), '--columns', ADULT_COLUMNS.join(','), '--label-column', 'income',
      '--na-values', '?', '--classes', '<=50K,>50K', '--group-columns', 'sex,race', '--test-fraction', '0.2',
      '--out', join(dir, 'adult'), '--json',
    ]);
    expect(r.stderr).toContain('delimiter ","');
    expect(r.stderr).toContain('rows numbered row-1');
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m.classes).toEqual(['<=50K', '>50K']);
    expect(m.splits.train.rows + m.splits.test.rows).toBe(2005);
    const kinds = Object.fromEntries(m.features.map((f: { name: string; kind: string }) => [f.name, f.kind]));
    expect(kinds).toMatchObject({ age: 'numeric', workclass: 'categorical', 'native-country': 'categorical', 'hours-per-week': 'numeric' });
    const workclass = m.features.find((f: { name: string }) => f.name === 'workclass');
    expect(workclass.categories).toContain('Private');
    expect(workclass.categories).not.toContain('?'); // a missing value, not a category
    expect(workclass.categories.every((c: string) => c === c.trim())).toBe(true);
    expect(m.datasheet.preprocessing).toContain('trimmed');
    expect(m.datasheet.preprocessing).toContain('"?"');
  });

  it('--keep-whitespace keeps the spaces (so the labels are " <=50K")', async () => {
    const dir = tempDir('sieve-hygiene-');
    writeAdultLike(join(dir, 'adult.data'), { rows: 300 });
    const m = await importPool({
      input: join(dir, 'adult.data'), columns: [...ADULT_COLUMNS], labelColumn: 'income', naValues: ['?'], keepWhitespace: true,
      kinds: { age: 'categorical' }, featureColumns: ['age', 'workclass'], out: join(dir, 'p'),
    });
    expect(m.classes).toEqual([' <=50K', ' >50K']);
    expect(m.features[1].categories!.every((c) => c.startsWith(' '))).toBe(true);
  });
});

describe('pool import: missing values', () => {
  const csv = 'id,label,x,y\n1,a,1.5,red\n2,b,NA,blue\n3,a,,red\n4,b,2.5,N/A\n5,a,?,red\n6,b,4,null\n';

  it('pandas-like defaults are missing; ? is a stray value until --na-values adds it', async () => {
    const err = await importFails(fixture({ 'd.csv': csv }), { input: 'd.csv' });
    expect(err.message).toMatch(/column "x" is numeric except for 1 value that is not a number/);
    expect(err.examples).toEqual(['line 6: "?"']);
  });

  it('--missing error (the default) counts them and names the first rows', async () => {
    const err = await importFails(fixture({ 'd.csv': csv }), { input: 'd.csv', naValues: ['?'] });
    expect(err.message).toMatch(/missing values in numeric feature "x".*\(3 rows\)/);
    expect(err.message).toContain('--missing drop-row');
    expect(err.examples).toEqual(['line 3', 'line 4', 'line 6']);
  });

  it('--missing drop-row drops them and says how many', async () => {
    const dir = fixture({ 'd.csv': csv });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'd.csv'), naValues: ['?'], missing: 'drop-row', out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.splits.train.rows).toBe(3);
    expect(notes.join('\n')).toMatch(/dropped 3 rows of d\.csv/);
    expect(m.datasheet.preprocessing).toMatch(/dropped 3 rows/);
    expect((await readSplit(await openPool(join(dir, 'p')))).ids).toEqual(['1', '4', '6']);
    // y's "N/A" and "null" are missing categories, not categories.
    expect(m.features[1].categories).toEqual(['blue', 'red']);
  });

  it('--missing impute fills the train median and records it', async () => {
    const dir = fixture({ 'd.csv': csv });
    const m = await importPool({ input: join(dir, 'd.csv'), naValues: ['?'], missing: 'impute', out: join(dir, 'p') });
    expect(m.datasheet.preprocessing).toMatch(/3 missing values of "x" with the train median 2\.5/);
    const s = await readSplit(await openPool(join(dir, 'p')));
    expect(Array.from({ length: s.n }, (_, i) => s.features[i * s.d])).toEqual([1.5, 2.5, 2.5, 2.5, 2.5, 4]);
  });

  it('--missing impute refuses a numeric column with no value at all (there is no median to fill in)', async () => {
    // Declared numeric, every value missing: median() of nothing is NULL, not 0.
    const dir = fixture({ 'd.csv': 'id,label,x,z\n1,a,1,\n2,b,2,\n3,a,3,\n4,b,4,\n' });
    const err = await importFails(dir, { input: 'd.csv', missing: 'impute', kinds: { z: 'numeric' } });
    expect(err.message).toMatch(/cannot impute "z": it has no values in the train split/);
  });

  it('--no-default-na (defaultNaValues: false) keeps "NA" as a value', async () => {
    const dir = fixture({ 'd.csv': 'id,label,c\n1,a,NA\n2,b,x\n3,a,NA\n' });
    const m = await importPool({ input: join(dir, 'd.csv'), defaultNaValues: false, out: join(dir, 'p') });
    expect(m.features[0].categories).toEqual(['NA', 'x']);
  });
});

describe('pool import: formats and headers sniffed', () => {
  it('a .txt file with ";" and a header', async () => {
    const dir = fixture({ 'd.txt': 'id;label;x\n1;a;1\n2;b;2\n3;a;3\n' });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'd.txt'), out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.features).toEqual([{ name: 'x', kind: 'numeric' }]);
    expect(notes[0]).toMatch(/delimiter ";", a header line/);
  });

  it('a continuous value given as the label imports with a note that says so; a real class column gets none', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `${i},${(100000 + i * 137.5).toFixed(1)},${(i * 7) % 13},${i % 4 === 0 ? 'x' : 'y'}`);
    const dir = fixture({ 'houses.csv': `id,price,sqft,kind\n${rows.join('\n')}\n` });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'houses.csv'), labelColumn: 'price', out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.classes).toHaveLength(200);
    expect(notes.join('\n')).toMatch(/column "price" has 200 classes for 200 labelled rows \(1\.0 rows per class\): if it is a continuous value, bin it/);
    const fine: string[] = [];
    await importPool({ input: join(dir, 'houses.csv'), labelColumn: 'kind', out: join(dir, 'q'), onNote: (n) => fine.push(n) });
    expect(fine.join('\n')).not.toMatch(/classes for/);
  });

  it('a .data file without a header gets col1..colN and says so', async () => {
    const dir = fixture({ 'd.data': '1\t2.5\ta\n2\t3.5\tb\n3\t1.0\ta\n' });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'd.data'), labelColumn: 'col3', out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.features.map((f) => f.name)).toEqual(['col1', 'col2']);
    expect(notes.join('\n')).toMatch(/no header line: columns named col1\.\.col3/);
  });

  it('JSON Lines and ARFF with unknown extensions', async () => {
    const dir = fixture({
      'a.data': '{"id":"1","label":"a","x":1}\n{"id":"2","label":"b","x":2}\n',
      'b.txt': '@relation r\n@attribute x numeric\n@attribute class {a,b}\n@data\n1,a\n2,b\n',
    });
    expect((await importPool({ input: join(dir, 'a.data'), out: join(dir, 'p1') })).features).toEqual([{ name: 'x', kind: 'numeric' }]);
    expect((await importPool({ input: join(dir, 'b.txt'), idColumn: 'none', labelColumn: 'class', out: join(dir, 'p2') })).classes).toEqual(['a', 'b']);
  });

  it('a gzipped CSV or JSON Lines file says it is compressed; a BOM before JSON Lines is read as in CSV; a dangling link names its target', async () => {
    const jsonl = '{"id":"1","label":"a","x":1}\n{"id":"2","label":"b","x":2}\n';
    const dir = fixture({ 'd.csv.gz': gzipSync('id,label,x\n1,a,1\n2,b,2\n'), 'j.jsonl.gz': gzipSync(jsonl), 'bom.jsonl': `\uFEFF${jsonl}` });
    for (const input of ['d.csv.gz', 'j.jsonl.gz']) {
      const err = await importFails(dir, { input });
      expect(err.message).toMatch(/^the file is gzip-compressed/);
      expect(err.examples?.[0]).toBe(`gunzip -k ${input}, then import ${input.slice(0, -3)}`);
    }
    const m = await importPool({ input: join(dir, 'bom.jsonl'), out: join(dir, 'p') });
    expect(m.features).toEqual([{ name: 'x', kind: 'numeric' }]);
    expect((await readSplit(await openPool(join(dir, 'p')))).ids).toEqual(['1', '2']);
    const links = tempDir('sieve-import-link-');
    symlinkSync(join(links, 'gone.csv'), join(links, 'd.csv'));
    expect((await importFails(links, { input: 'd.csv' })).message).toBe(`the path is a symbolic link to "${join(links, 'gone.csv')}", which does not exist`);
  });

  it('a folder name that is no pool name gives a pool name, and a note that says which', async () => {
    const dir = fixture({ 'd.csv': 'id,label,x\n1,a,1\n2,b,2\n' });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'd.csv'), out: join(dir, 'pool ü'), onNote: (n) => notes.push(n) });
    expect(m.name).toBe('pool-');
    expect(notes).toContain('pool named "pool-" (from the folder name "pool ü": a pool name holds only letters, digits, ".", "_" and "-")');
  });

  it('labels "1" and "1.0" stay two classes, with a note that they are one number written twice', async () => {
    const dir = fixture({ 'd.csv': 'id,label,x\n1,1,1\n2,1.0,2\n3,2,3\n4,1,4\n' });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'd.csv'), out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.classes).toEqual(['1', '1.0', '2']);
    expect(notes.join('\n')).toContain('classes "1" and "1.0" are the same number written differently, and they are separate classes (labels are text)');
  });

  it('a declared class with no train row is said at import', async () => {
    const dir = fixture({ 'd.csv': 'id,label,x\n1,a,1\n2,a,2\n3,a,3\n', 't.csv': 'id,label,x\n4,b,1\n5,a,2\n' });
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'd.csv'), testFile: join(dir, 't.csv'), classes: ['a', 'b'], out: join(dir, 'p'), onNote: (n) => notes.push(n) });
    expect(m.splits.train.class_counts).toEqual({ a: 3, b: 0 });
    expect(notes).toContain('class "b" has no train row: a model fitted on this pool never sees it');
  });

  it('--hidden-test --test-fraction without an id column numbers each split on its own: the train ids do not name the test lines', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => `${'ab'[i % 2]},${i}`);
    const dir = fixture({ 'd.csv': `label,x\n${lines.join('\n')}\n` });
    const m = await importPool({ input: join(dir, 'd.csv'), idColumn: 'none', testFraction: 0.25, hiddenTest: true, out: join(dir, 'p') });
    const train = await readSplit(await openPool(join(dir, 'p')));
    expect(train.ids).toEqual(Array.from({ length: m.splits.train.rows }, (_, i) => `row-${i + 1}`));
    // Rows keep their file order: x still ascends.
    const x = Array.from({ length: train.n }, (_, i) => train.features[i * train.d]);
    expect(x).toEqual([...x].sort((a, b) => a - b));
    expect(m.datasheet.preprocessing).toContain('numbered within each split');
  });

  it('--columns must name every column', async () => {
    const err = await importFails(fixture({ 'd.data': '1,2,a\n2,3,b\n' }), { input: 'd.data', columns: ['x', 'label'] });
    expect(err.message).toBe('--columns names 2 columns, the file has 3');
  });
});

describe('pool import: every problem in one run', () => {
  it('reports missing ids, duplicate ids, missing labels and stray numbers together (CLI, --json)', () => {
    const rows = ['id,label,x', ',a,1', '2,b,2', '2,a,3', '4,,4', '5,b,x5', '6,a,6', '7,b,7'];
    const dir = fixture({ 'd.csv': rows.join('\n') + '\n' });
    const r = sieve(['pool', 'import', join(dir, 'd.csv'), '--out', join(dir, 'p'), '--json']);
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.problems.map((p: { message: string }) => p.message)).toEqual([
      'missing ids in column "id" (1 row)',
      'duplicate ids: 1 id occurs more than once',
      'missing labels in column "label" (1 row)',
      expect.stringMatching(/^column "x" is numeric except for 1 value/),
    ]);
    expect(r.stderr).toContain('4 problems found');
    expect(readdirSync(dir)).toEqual(['d.csv']);
  });

  it("reports a numeric column's stray values, inf/nan and missing values in one run (issue 7 item 6)", async () => {
    // The tryout's multi2.csv: before, each of x's three kinds of problem took a run of its own.
    const file = 'id,x,label\n1,1.0,a\n1,2.0,b\n3,abc,a\n4,4.0,\n5,5.0,b\n6,,a\n7,inf,b\n7,1,zz\n';
    const err = (await importFails(fixture({ 'multi2.csv': file }), { input: 'multi2.csv' })) as ImportProblems;
    expect(err.problems.map((p) => [p.message.replace(/ \(missing: .*accept them/, ''), p.count, p.examples])).toEqual([
      ['duplicate ids: 2 ids occur more than once', 2, ['"1" at line 2 and line 3', '"7" at line 8 and line 9']],
      ['missing labels in column "label" (1 row)', 1, ['line 5']],
      [expect.stringMatching(/^column "x" is numeric except for 1 value that is not a number/), 1, ['line 4: "abc"']],
      ['NaN or infinite values in numeric feature "x" (1 row)', 1, ['line 8: "inf"']],
      ['missing values in numeric feature "x" (1 row)', 1, ['line 7']],
    ]);
    // Each kind keeps its count beyond the 20 rows it names; a test file's rows are reported as well.
    const rows = Array.from({ length: 60 }, (_, i) => `r${i},${i % 2 ? 'a' : 'b'},${i % 10 === 1 ? 'inf' : i % 10 === 2 ? '' : i % 10 === 3 ? '?' : i}`);
    const dir = fixture({ 'tr.csv': `id,label,x\n${rows.join('\n')}\n`, 'te.csv': 'id,label,x\nt1,a,-inf\nt2,b,\nt3,a,3\n' });
    const e2 = (await importFails(dir, { input: 'tr.csv', testFile: join(dir, 'te.csv') })) as ImportProblems;
    expect(e2.problems.map((p) => [p.message.replace(/ \(missing: .*accept them/, '').replace(/;.*/, ''), p.where.split('/').pop(), p.count, p.examples.length])).toEqual([
      ['column "x" is numeric except for 6 values that are not numbers', 'tr.csv: x', 6, 1],
      ['NaN or infinite values in numeric feature "x" (6 rows)', 'tr.csv: x', 6, 6],
      ['NaN or infinite values in numeric feature "x" (1 row)', 'te.csv: x', 1, 1],
      ['missing values in numeric feature "x" (6 rows)', 'tr.csv: x', 6, 6],
      ['missing values in numeric feature "x" (1 row)', 'te.csv: x', 1, 1],
    ]);
    // --kind x=numeric: the non-numbers, inf and missing values of x, again in one run.
    const e3 = (await importFails(fixture({ 'd.csv': file.replace('\n1,2.0', '\n2,2.0').replace('\n7,1,zz', '\n8,1,a') }), { input: 'd.csv', kinds: { x: 'numeric' } })) as ImportProblems;
    expect(e3.problems.map((p) => p.message.replace(/ \(missing: .*accept them/, ''))).toEqual([
      'missing labels in column "label" (1 row)',
      'NaN or infinite values in numeric feature "x" (1 row)',
      'values that are not numbers in numeric feature "x" (--kind x=numeric) (1 row)',
      'missing values in numeric feature "x" (1 row)',
    ]);
  });

  it('names up to 20 rows per problem', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `${i},${i % 2 ? 'a' : 'b'},${i},nan`);
    const err = await importFails(fixture({ 'd.csv': `id,label,x,y\n${rows.join('\n')}\n` }), { input: 'd.csv', kinds: { y: 'numeric' } });
    expect(err.count).toBe(30);
    expect(err.examples).toHaveLength(20);
    expect(err.describe()).toContain('line 21: "nan"');
  });
});

describe('pool import: types that cannot collide or drift', () => {
  it('JSON Lines ids 7 and "7" are an error naming both forms', async () => {
    const dir = fixture({ 'd.jsonl': '{"id":7,"label":"a","x":1}\n{"id":"7","label":"b","x":2}\n{"id":8,"label":"a","x":3}\n' });
    const err = await importFails(dir, { input: 'd.jsonl' });
    expect(err.message).toMatch(/id column "id" mixes JSON types \(integer, string\)/);
    expect(err.examples).toEqual(['7 (integer, 2 rows) first at line 1', '"7" (string, 1 row) first at line 2']);
  });

  it('JSON Lines labels 1, "1", 1.0 and true are an error', async () => {
    const dir = fixture({ 'd.jsonl': ['1', '"1"', '1.0', 'true'].map((l, i) => `{"id":"r${i}","label":${l},"x":${i}}`).join('\n') + '\n' });
    const err = await importFails(dir, { input: 'd.jsonl' });
    expect(err.message).toMatch(/label column "label" mixes JSON types/);
    expect(err.examples).toHaveLength(4);
    expect(err.examples[1]).toBe('"1" (string, 1 row) first at line 2');
  });

  it('a JSON Lines feature of numbers with one list is said as such, with the line of each type; integers and fractions mix freely', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `{"id":"r${i}","label":"${'ab'[i % 2]}","x":${i === 7 ? '[1, 2]' : i % 3 ? i : i + 0.5},"y":${i % 2 ? i : i / 4}}`);
    const dir = fixture({ 'd.jsonl': lines.join('\n') + '\n' });
    const err = await importFails(dir, { input: 'd.jsonl' });
    expect(err.message).toMatch(/^feature column "x" mixes JSON types \(number, list\): a feature holds one kind of value/);
    expect(err.examples).toEqual(['0.5 (number, 19 rows) first at line 1', '[1,2] (list, 1 row) first at line 8']);
    expect(err.message).not.toMatch(/"y"/);
  });

  it('JSON Lines string ids are stored without quote marks', async () => {
    const dir = fixture({ 'd.jsonl': '{"id":"a 1","label":"x","v":[1,2]}\n{"id":"b\\"2","label":"y","v":[3,4]}\n' });
    await importPool({ input: join(dir, 'd.jsonl'), out: join(dir, 'p') });
    expect((await readSplit(await openPool(join(dir, 'p')))).ids).toEqual(['a 1', 'b"2']);
  });

  it('a numeric column with few distinct values and one stray value is an error, not categorical', async () => {
    for (const stray of ['-Infinity', '0x10', '1_000']) {
      const rows = Array.from({ length: 40 }, (_, i) => `${i},${i % 2},${i === 9 ? stray : i % 3}`);
      const err = await importFails(fixture({ 'd.csv': `id,label,x\n${rows.join('\n')}\n` }), { input: 'd.csv' });
      if (stray === '-Infinity') {
        expect(err.message).toMatch(/NaN or infinite values in numeric feature "x" \(1 row\)/);
        expect(err.examples).toEqual(['line 11: "-Infinity"']);
      } else {
        expect(err.message).toMatch(/column "x" is numeric except for 1 value/);
        expect(err.examples).toEqual([`line 11: "${stray}"`]);
      }
    }
  });

  it('--kind settles such a column', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => `${i},${i % 2},${i === 9 ? 'big' : i % 3}`);
    const dir = fixture({ 'd.csv': `id,label,x\n${rows.join('\n')}\n` });
    const m = await importPool({ input: join(dir, 'd.csv'), kinds: { x: 'categorical' }, out: join(dir, 'p') });
    expect(m.features[0]).toEqual({ name: 'x', kind: 'categorical', categories: ['0', '1', '2', 'big'] });
    const err = await importFails(fixture({ 'd.csv': `id,label,x\n${rows.join('\n')}\n` }), { input: 'd.csv', kinds: { x: 'numeric' } });
    expect(err.message).toMatch(/values that are not numbers in numeric feature "x"/);
  });

  it('every spelling of infinity and NaN is refused in a numeric column', async () => {
    const spellings = ['inf', '-inf', 'Infinity', '+Infinity', '-Infinity', 'nan', '-nan', 'NAN'];
    const rows = spellings.map((v, i) => `${i},${i % 2},${v}`).concat(Array.from({ length: 20 }, (_, i) => `x${i},${i % 2},${i}`));
    const err = await importFails(fixture({ 'd.csv': `id,label,x\n${rows.join('\n')}\n` }), { input: 'd.csv' });
    expect(err.message).toBe(`NaN or infinite values in numeric feature "x" (${spellings.length} rows)`);
  });

  it('NUL bytes are refused in CSV files and in JSON strings', async () => {
    const csv = Buffer.concat([Buffer.from('id,label,x\n1,a,1\n2,b,'), Buffer.from([0]), Buffer.from('\n')]);
    expect((await importFails(fixture({ 'd.csv': csv }), { input: 'd.csv' })).message).toMatch(/^NUL byte at byte offset 21 \(line 3\)/);
    const err = await importFails(fixture({ 'd.jsonl': '{"id":"1","label":"a","x":"1"}\n{"id":"2","label":"b","x":"2\\u0000"}\n' }), { input: 'd.jsonl' });
    expect(err.message).toMatch(/NUL characters in column "x" \(1 row\)/);
    expect(err.examples).toEqual(['line 2']);
  });
});

describe('pool import: column names', () => {
  it('a column named rowid (any case) is imported and keeps its name (DuckDB\'s row number is not hidden)', async () => {
    const dir = fixture({ 'd.csv': 'id,label,ROWID,x\nr1,a,7,1\nr2,b,8,2\nr1,a,9,3\n' });
    const err = await importFails(dir, { input: 'd.csv' });
    expect(err.describe()).toContain('"r1" at line 2 and line 4'); // line numbers still from the row number
    const ok = fixture({ 'd.csv': 'id,label,rowid,x\nr1,a,7,1\nr2,b,8,2\nr3,a,9,3\n', 'd.arff': '@relation r\n@attribute id string\n@attribute label {a,b}\n@attribute rowid numeric\n@data\nr1,a,5\nr2,b,6\n' });
    const m = await importPool({ input: join(ok, 'd.csv'), out: join(ok, 'p') });
    expect(m.features.map((f) => f.name)).toEqual(['rowid', 'x']);
    expect((await readHead(await openPool(join(ok, 'p')), 3)).map((r) => r.rowid)).toEqual([7, 8, 9]);
    const a = await importPool({ input: join(ok, 'd.arff'), out: join(ok, 'q') });
    expect(a.features.map((f) => f.name)).toEqual(['rowid']);
  });

  it('names that differ only in case, empty names and NUL in names are refused, each named', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,Age,age,x\nr1,a,1,2,3\nr2,b,4,5,6\n' }), { input: 'd.csv' });
    expect(err.message).toMatch(/column name is unusable/);
    expect(err.examples).toEqual(['column names "Age" and "age" are one name to DuckDB, which ignores case (columns 3, 4)']);
    const jsonl = await importFails(fixture({ 'd.jsonl': '{"id":"1","label":"a","x":1,"X":2}\n{"id":"2","label":"b","x":1,"X":2}\n' }), { input: 'd.jsonl' });
    expect(jsonl.examples[0]).toMatch(/"x" and "X"/);
  });

  it('a CSV header naming a column twice (after trimming) is refused naming it', async () => {
    const err = await importFails(fixture({ 'd.csv': 'id,label,x, x ,y\na,0,1,2,3\nb,1,2,3,4\n' }), { input: 'd.csv' });
    expect(err.message).toBe('header names a column twice');
    expect(err.examples).toEqual(['x']);
  });

  it('an Arrow file with two columns of one name is refused naming it', async () => {
    const { tableToIPC, vectorFromArray, Table, Field, Schema, Utf8, makeData, RecordBatch, Struct } = await import('apache-arrow');
    const ids = vectorFromArray(['r1', 'r2'], new Utf8());
    const labels = vectorFromArray(['a', 'b'], new Utf8());
    const xs = vectorFromArray(['1', '2'], new Utf8());
    const schema = new Schema([new Field('id', new Utf8()), new Field('label', new Utf8()), new Field('x', new Utf8()), new Field('x', new Utf8())]);
    const data = makeData({ type: new Struct(schema.fields), length: 2, nullCount: 0, children: [ids.data[0], labels.data[0], xs.data[0], xs.data[0]] });
    const bytes = tableToIPC(new Table([new RecordBatch(schema, data)]), 'file');
    const err = await importFails(fixture({ 'd.arrow': bytes }), { input: 'd.arrow' });
    expect(err.examples).toEqual(['column name "x" occurs more than once (columns 3, 4)']);
  });
});

describe('pool import: CSV quoting read as DuckDB reads it', () => {
  it('spaces before an opening quote are skipped, as DuckDB does', async () => {
    const dir = fixture({ 'd.csv': 'id, "label",x\nr1, "a, b",1\nr2,c ,2\n' });
    await importPool({ input: join(dir, 'd.csv'), out: join(dir, 'p') });
    expect((await readSplit(await openPool(join(dir, 'p')))).classNames).toEqual(['a, b', 'c']);
  });

  it('JSON Lines given as CSV: text after a closing quote is an error naming the lines', async () => {
    const lines = Array.from({ length: 5 }, (_, i) => `{"id": "r${i}", "label": "a", "x": ${i}}`);
    const err = await importFails(fixture({ 'd.csv': lines.join('\n') + '\n' }), { input: 'd.csv' });
    expect(err.message).toMatch(/quoted fields? (is|are) followed by more text before the next delimiter/);
    expect(err.examples).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
  });

  it('a one-column file keeps its blank lines as records, as DuckDB does (so the counts agree)', async () => {
    const err = await importFails(fixture({ 'd.tsv': 'id\nr1\n\nr2\n' }), { input: 'd.tsv' });
    expect(err.message).toMatch(/unknown column/);
  });
});

describe('pool import: bounded inputs', () => {
  it('refuses devices and FIFOs without reading them', async () => {
    const err = await importPool({ input: '/dev/zero', format: 'csv', out: join(tempDir(), 'p') }).catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect(err.message).toMatch(/not a regular file/);
    const dir = tempDir('sieve-hygiene-');
    const fifo = join(dir, 'f.csv');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const e2 = await importPool({ input: fifo, out: join(dir, 'p') }).catch((e) => e);
    expect(e2.message).toMatch(/not a regular file/);
  });

  it('refuses a gzip bomb given as IDX once it outgrows the header, not at gigabytes', async () => {
    // A header for 10 bytes of labels, then 200 MB of zeros (about 200 kB gzipped).
    const header = encodeIdx('ubyte', [10], new Uint8Array(10));
    const bomb = gzipSync(Buffer.concat([Buffer.from(header), Buffer.alloc(200 << 20)]), { level: 9 });
    const dir = fixture({ 'i-idx3-ubyte.gz': gzipSync(encodeIdx('ubyte', [10, 2, 2], new Uint8Array(40))), 'l-idx1-ubyte.gz': bomb });
    const before = process.memoryUsage().rss;
    const err = await importFails(dir, { input: 'i-idx3-ubyte.gz', labels: join(dir, 'l-idx1-ubyte.gz') });
    expect(err.message).toMatch(/decompresses to more than the 18 bytes its IDX header declares/);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 << 20);
  });

  it('refuses an IDX header that declares more data than sieve reads, before reading it', async () => {
    // A header for 10^8 images of 28×28 (78 GB), then a little data.
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x803, 0);
    header.writeUInt32BE(100_000_000, 4);
    header.writeUInt32BE(28, 8);
    header.writeUInt32BE(28, 12);
    const dir = fixture({ 'i-idx3-ubyte.gz': gzipSync(Buffer.concat([header, Buffer.alloc(1 << 16)])), 'l-idx1-ubyte.gz': gzipSync(encodeIdx('ubyte', [10], new Uint8Array(10))) });
    const err = await importFails(dir, { input: 'i-idx3-ubyte.gz', labels: join(dir, 'l-idx1-ubyte.gz') });
    expect(err.message).toBe('IDX header declares 78400000016 bytes of data; sieve reads IDX files of at most 2147483648 bytes');
  });

  it('refuses a JSON Lines record that names a key twice, with its line', async () => {
    const err = await importFails(fixture({ 'd.jsonl': '{"id":"1","label":"a","x":1}\n{"id":"2","id":"3","label":"b","x":2}\n' }), { input: 'd.jsonl' });
    expect(err.message).toBe('1 record names a key twice (which value counts is not clear)');
    expect(err.examples).toEqual(['line 2: "id"']);
  });

  it('refuses deeply nested JSON Lines with the line, instead of crashing', async () => {
    const deep = '{"id":"2","label":"b","x":' + '['.repeat(100000) + ']'.repeat(100000) + '}';
    const err = await importFails(fixture({ 'd.jsonl': `{"id":"1","label":"a","x":1}\n${deep}\n` }), { input: 'd.jsonl' });
    expect(err.message).toBe('JSON nested more than 64 levels deep on line 2');
  });

  it('imports a wide CSV (100 columns, more than one statement holds)', async () => {
    const cols = Array.from({ length: 100 }, (_, j) => `c${j}`);
    const rows = Array.from({ length: 20 }, (_, i) => [`r${i}`, i % 2 ? 'a' : 'b', ...cols.map((_, j) => String((i * j) % 7))].join(','));
    const dir = fixture({ 'w.csv': `id,label,${cols.join(',')}\n${rows.join('\n')}\n` });
    const m = await importPool({ input: join(dir, 'w.csv'), out: join(dir, 'p') });
    expect(m.features).toHaveLength(100);
    const head = await readHead(await openPool(join(dir, 'p')), 2);
    expect(head[1].c99).toBe((1 * 99) % 7);
  });

  it('cleans a wide CSV as a narrow one: spaces trimmed and markers missing in the columns that have them, the rest as read', async () => {
    // 100 columns (the wide path: the file's table is kept and only the columns needing it are cleaned).
    const cols = ['RowID', ...Array.from({ length: 99 }, (_, j) => `c${j}`)];
    const cell = (i: number, j: number, spaced: boolean): string => {
      const c = cols[j];
      if (c === 'RowID') return String(1000 + i); // a column named rowid keeps its name and values
      if (c === 'c3') return spaced ? ` ${i % 5} ` : String(i % 5); // numeric with spaces
      if (c === 'c5') return spaced ? (i % 2 ? '  x' : 'y ') : i % 2 ? 'x' : 'y'; // categorical with spaces
      if (c === 'c7') return i === 4 ? (spaced ? ' NA ' : 'NA') : String(i); // a missing-value marker
      return String((i * j) % 7);
    };
    const file = (spaced: boolean) =>
      `id,label,${cols.join(',')}\n` + Array.from({ length: 12 }, (_, i) => [`r${i}`, i % 3 ? 'a' : 'b', ...cols.map((_, j) => cell(i, j, spaced))].join(',')).join('\n') + '\n';
    const dir = fixture({ 'spaced.csv': file(true), 'plain.csv': file(false) });
    const [spaced, plain] = await Promise.all(
      ['spaced', 'plain'].map((f) => importPool({ input: join(dir, `${f}.csv`), out: join(dir, f), missing: 'impute' })),
    );
    expect(spaced.features).toEqual(plain.features);
    expect(spaced.features.find((f) => f.name === 'c5')).toEqual({ name: 'c5', kind: 'categorical', categories: ['x', 'y'] });
    expect(spaced.features.find((f) => f.name === 'c3')?.kind).toBe('numeric');
    // The same values, bit for bit: the Parquet files are identical.
    expect(spaced.files.find((f) => f.role === 'train')!.sha256).toBe(plain.files.find((f) => f.role === 'train')!.sha256);
    const head = await readHead(await openPool(join(dir, 'spaced')), 5);
    expect(head.map((r) => r.c3)).toEqual([0, 1, 2, 3, 4]);
    expect(head.map((r) => r.RowID)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(head[4].c7).toBe(6); // the train median of 0..11 without row 4
    // --keep-whitespace keeps them, in the wide path too.
    // (" NA " is no marker then: c7 is left out.)
    const kept = await importPool({ input: join(dir, 'spaced.csv'), out: join(dir, 'kept'), keepWhitespace: true, featureColumns: cols.filter((c) => c !== 'c7') });
    expect(kept.features.find((f) => f.name === 'c5')).toEqual({ name: 'c5', kind: 'categorical', categories: ['  x', 'y '] });
  });
});

it('ImportProblems is a SieveError', () => {
  expect(new ImportProblems([{ message: 'm', where: 'w', examples: [] }])).toBeInstanceOf(SieveError);
});
