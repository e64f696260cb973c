import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { loadSubmission, rulesFor, SubmissionError, type SubmissionProblem, type SubmissionRules } from '../src/submission/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-sub-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A pool of 50 train rows with ids r0..r49 and three classes.
const poolIds = Array.from({ length: 50 }, (_, i) => `r${i}`);
const classNames = ['cat', 'dog', 'fish'];
const selection: SubmissionRules = rulesFor({ task: 'selection', budget: { rows: 10 } }, { ids: poolIds, classNames });
const relabel: SubmissionRules = rulesFor({ task: 'relabel', budget: { corrections: 5 } }, { ids: poolIds, classNames });
const ranking: SubmissionRules = rulesFor({ task: 'ranking', budget: {} }, { ids: poolIds, classNames });

let counter = 0;
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, `${counter++}-${name}`);
  writeFileSync(p, content);
  return p;
}

async function rejects(path: string, rules: SubmissionRules, problem: SubmissionProblem): Promise<SubmissionError> {
  try {
    await loadSubmission(path, rules);
  } catch (err) {
    expect(err).toBeInstanceOf(SubmissionError);
    const e = err as SubmissionError;
    expect(e.problem, e.describe()).toBe(problem);
    expect(e.exitCode).not.toBe(0);
    return e;
  }
  throw new Error(`expected ${path} to be rejected with ${problem}`);
}

async function parquetFile(sql: string): Promise<string> {
  const p = join(dir, `${counter++}-sub.parquet`);
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`COPY (${sql}) TO '${p}' (FORMAT parquet)`);
  c.closeSync();
  inst.closeSync();
  return p;
}

describe('valid submissions in every format', () => {
  it('reads CSV, TXT, JSON (three shapes), Parquet and Arrow into the same indices', async () => {
    const want = [3, 7, 1];
    const files = [
      file('a.csv', 'id\nr3\nr7\nr1\n'),
      file('a.txt', 'r3\r\nr7\r\nr1\r\n\r\n'),
      file('a.json', '["r3","r7","r1"]'),
      file('b.json', '{"ids": ["r3","r7","r1"]}'),
      file('c.json', '[{"id":"r3"},{"id":"r7"},{"id":"r1"}]'),
      await parquetFile(`SELECT * FROM (VALUES ('r3'), ('r7'), ('r1')) t(id)`),
      file('a.arrow', tableToIPC(tableFromArrays({ id: ['r3', 'r7', 'r1'] }), 'file')),
      file('s.arrows', tableToIPC(tableFromArrays({ id: ['r3', 'r7', 'r1'] }), 'stream')),
    ];
    for (const f of files) {
      const { submission, file: read } = await loadSubmission(f, selection);
      expect(Array.from(submission.indices), f).toEqual(want);
      expect(read.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
  it('stringifies integer ids and strips a UTF-8 byte-order mark', async () => {
    const ids = ['0', '1', '2', '10'];
    const rules = rulesFor({ task: 'selection', budget: { rows: 4 } }, { ids, classNames });
    const json = await loadSubmission(file('n.json', '[10, 2]'), rules);
    expect(Array.from(json.submission.indices)).toEqual([3, 2]);
    const bom = await loadSubmission(file('bom.csv', '\ufeffid\n1\n'), rules);
    expect(Array.from(bom.submission.indices)).toEqual([1]);
    const pq = await loadSubmission(await parquetFile(`SELECT * FROM (VALUES (10::BIGINT), (0::BIGINT)) t(id)`), rules);
    expect(Array.from(pq.submission.indices)).toEqual([3, 0]);
  });
  it('reads relabel corrections with quoted CSV fields and maps labels to class indices', async () => {
    const { submission } = await loadSubmission(file('r.csv', 'id,label\n"r4","dog"\nr9,fish\n'), relabel);
    expect(Array.from(submission.indices)).toEqual([4, 9]);
    expect(Array.from(submission.labels!)).toEqual([1, 2]);
    const arrow = await loadSubmission(
      file('r.arrow', tableToIPC(tableFromArrays({ id: ['r4', 'r9'], label: ['dog', 'fish'] }), 'file')),
      relabel,
    );
    expect(Array.from(arrow.submission.labels!)).toEqual([1, 2]);
  });
  it('keeps a ranking in submitted order and allows every train row', async () => {
    const order = [...poolIds].reverse();
    const { submission } = await loadSubmission(file('rank.txt', order.join('\n')), ranking);
    expect(submission.indices[0]).toBe(49);
    expect(submission.rows).toBe(50);
  });
});

describe('each malformed submission gets its own error', () => {
  it('empty file, header-only CSV, blank-only TXT and empty JSON array', async () => {
    await rejects(file('e.csv', ''), selection, 'empty');
    await rejects(file('h.csv', 'id\n'), selection, 'empty');
    await rejects(file('b.txt', '\n\n\n'), selection, 'empty');
    await rejects(file('e.json', '[]'), selection, 'empty');
    await rejects(await parquetFile(`SELECT 'x' AS id WHERE false`), selection, 'empty');
  });
  it('unknown ids, with count and line numbers', async () => {
    const e = await rejects(file('u.csv', 'id\nr1\nnope\nr2\nr99\n'), selection, 'unknown-ids');
    expect(e.count).toBe(2);
    expect(e.examples[0]).toBe('line 3: "nope"');
    expect(e.examples[1]).toBe('line 5: "r99"');
    const sp = await rejects(file('sp.csv', 'id\n" r1"\n'), selection, 'unknown-ids');
    expect(sp.message).toContain('surrounding spaces');
    const hdr = await rejects(file('hdr.txt', 'id\nr1\n'), selection, 'unknown-ids');
    expect(hdr.message).toContain('no header');
  });
  it('duplicate ids, naming both lines', async () => {
    const e = await rejects(file('d.txt', 'r1\nr2\nr1\nr3\nr2\n'), selection, 'duplicate-ids');
    expect(e.count).toBe(2);
    expect(e.examples[0]).toBe('"r1" at line 1 and line 3');
    const j = await rejects(file('d.json', '["r5","r5"]'), ranking, 'duplicate-ids');
    expect(j.examples[0]).toBe('"r5" at item [0] and item [1]');
  });
  it('over budget, with the budget and the first entry beyond it', async () => {
    const ids = poolIds.slice(0, 12).join('\n');
    const e = await rejects(file('o.txt', ids), selection, 'over-budget');
    expect(e.count).toBe(12);
    expect(e.message).toContain('budget is 10');
    expect(e.examples).toContain('first entry over budget: line 11');
    const r = await rejects(file('o.csv', 'id,label\n' + poolIds.slice(0, 6).map((i) => `${i},cat`).join('\n')), relabel, 'over-budget');
    expect(r.examples[0]).toBe('budget.corrections: 5');
  });
  it('labels outside the class set, and missing labels', async () => {
    const e = await rejects(file('l.csv', 'id,label\nr1,cat\nr2,horse\nr3,Dog\n'), relabel, 'bad-labels');
    expect(e.count).toBe(2);
    expect(e.examples.slice(0, 2)).toEqual(['line 3: "horse"', 'line 4: "Dog"']);
    await rejects(file('m.csv', 'id,label\nr1,\n'), relabel, 'missing-labels');
    await rejects(file('m.json', '[{"id":"r1","label":null}]'), relabel, 'missing-labels');
  });
  it('missing and extra columns', async () => {
    const m = await rejects(file('mc.csv', 'ID\nr1\n'), selection, 'missing-columns');
    expect(m.examples.join(' ')).toContain('"ID" must be spelled exactly "id"');
    const ml = await rejects(file('ml.csv', 'id\nr1\n'), relabel, 'missing-columns');
    // A header that names id but lacks label is a header: it is not asked whether it has one.
    expect(ml.examples).toEqual(['columns found: id', 'the header names id but not label: task relabel takes the columns id,label']);
    // A file without a header, or separated by another delimiter, says so.
    const bare = await rejects(file('bare.csv', 'r1\nr2\n'), selection, 'missing-columns');
    expect(bare.examples).toContain('no header line? the first line must name the columns: id');
    const semi = await rejects(file('semi.csv', 'id;label\nr1;cat\n'), relabel, 'missing-columns');
    expect(semi.examples).toContain('the header looks separated by ";": a CSV submission is comma-separated');
    const t = await rejects(file('t.txt', 'r1\n'), relabel, 'missing-columns');
    expect(t.examples.join(' ')).toContain('TXT holds only ids');
    const x = await rejects(file('x.csv', 'id,label\nr1,cat\n'), selection, 'extra-columns');
    expect(x.examples).toEqual(['label']);
    await rejects(file('x.json', '[{"id":"r1","score":3}]'), ranking, 'extra-columns');
    await rejects(file('k.json', '{"ids":["r1"],"note":"hi"}'), selection, 'extra-columns');
    await rejects(file('lack.json', '[{"id":"r1","label":"cat"},{"id":"r2"}]'), relabel, 'missing-columns');
    await rejects(await parquetFile(`SELECT 'r1' AS row_id`), selection, 'missing-columns');
    await rejects(file('x.arrow', tableToIPC(tableFromArrays({ id: ['r1'], extra: [1] }), 'file')), selection, 'extra-columns');
    await rejects(file('dup.csv', 'id,id\nr1,r1\n'), selection, 'extra-columns');
    await rejects(file('comma.txt', 'r1,cat\n'), selection, 'extra-columns');
  });
  it('a Parquet file with more rows than the pool is refused from its footer, unread (a compressed "bomb")', async () => {
    // 2,000,000 identical ids compress to a few KB; the pool has a handful of train rows.
    const bomb = await parquetFile(`SELECT 'r1' AS id FROM range(2000000)`);
    const { statSync } = await import('node:fs');
    expect(statSync(bomb).size).toBeLessThan(200_000);
    const e = await rejects(bomb, selection, 'over-budget');
    expect(e.message).toMatch(/holds 2000000 rows \(from its footer\); the pool has \d+ train rows/);
    // At the pool's size it is read and judged row by row as before.
    const dup = await rejects(await parquetFile(`SELECT 'r1' AS id FROM range(${selection.poolIds.length})`), selection, 'duplicate-ids');
    expect(dup.problem).toBe('duplicate-ids');
  });
  it('CSV, TXT, JSON and Arrow files with more rows than the pool are refused as soon as that is known', async () => {
    const n = poolIds.length; // 50
    const many = Array.from({ length: 3 * n }, (_, i) => `r${i % n}`);
    // CSV: reading stops at the first row past the pool's size (line n + 2: the header is line 1).
    const csv = await rejects(file('many.csv', `id\n${many.join('\n')}\n`), selection, 'over-budget');
    expect(csv.message).toBe(`the CSV file holds more than ${n} rows; the pool has ${n} train rows, so no valid submission has more; it was not read further`);
    expect(csv.examples).toEqual([`stopped reading at line ${n + 2}`, `train rows in the pool: ${n}`]);
    // A row that would not parse after the cut is never reached: the file was not read that far.
    const late = await rejects(file('late.csv', `id\n${many.join('\n')}\n"never closed\n`), selection, 'over-budget');
    expect(late.examples[0]).toBe(`stopped reading at line ${n + 2}`);
    // Quoted line breaks do not count as rows; blank lines at the end are not rows either.
    const quoted = Array.from({ length: n }, (_, i) => `"r${i}"`).join('\r\n');
    const quotedCsv = file('quoted.csv', `id\n"r0\nr1"\n${quoted}\r\n\r\n\r\n\r\n`.replace('"r0"\r\n', ''));
    expect(((await loadSubmission(quotedCsv, ranking).catch((e: SubmissionError) => e)) as SubmissionError).message).toContain('1 id(s) are not in the pool'); // "r0\nr1": read, not cut
    const txt = await rejects(file('many.txt', `${many.join('\n')}\n\n\n`), selection, 'over-budget');
    expect(txt.message).toContain(`the TXT file holds ${3 * n} rows; the pool has ${n} train rows`);
    const json = await rejects(file('many.json', JSON.stringify(many)), selection, 'over-budget');
    expect(json.message).toContain(`the JSON file holds more than ${n} rows`);
    expect(json.examples[0]).toMatch(new RegExp(`^stopped reading at its item \\[${n}\\], line 1, column \\d+$`));
    const wrapped = await rejects(file('many-ids.json', JSON.stringify({ ids: many })), selection, 'over-budget');
    expect(wrapped.message).toContain('JSON file holds more than');
    const arrow = await rejects(file('many.arrow', tableToIPC(tableFromArrays({ id: many }), 'file')), selection, 'over-budget');
    expect(arrow.message).toContain(`the Arrow file holds ${3 * n} rows`);
    // At the pool's size each format is read and judged row by row as before.
    const dup = [...many.slice(0, n - 1), 'r0'];
    for (const f of [file('dup.csv', `id\n${dup.join('\n')}\n`), file('dup.txt', dup.join('\n')), file('dup.json', JSON.stringify(dup)), file('dup.arrow', tableToIPC(tableFromArrays({ id: dup }), 'file'))]) {
      await rejects(f, ranking, 'duplicate-ids');
    }
    expect((await loadSubmission(file('all.csv', `id\n${many.slice(0, n).join('\n')}\n`), ranking)).submission.rows).toBe(n);
  });
  it('missing ids: blank lines in the middle, nulls, empty strings', async () => {
    const e = await rejects(file('blank.txt', 'r1\n\nr2\n'), selection, 'missing-ids');
    expect(e.examples).toEqual(['line 2']);
    await rejects(file('null.json', '["r1", null]'), selection, 'missing-ids');
    const pq = await rejects(await parquetFile(`SELECT * FROM (VALUES ('r1'), (NULL)) t(id)`), selection, 'missing-ids');
    expect(pq.examples).toEqual(['row 2']);
  });
  it('binary junk and wrong encodings in text formats', async () => {
    const nul = await rejects(file('nul.csv', Buffer.from('id\nr1\n\x00\x00junk')), selection, 'encoding');
    expect(nul.message).toContain('NUL');
    expect(nul.examples[0]).toContain('line 3');
    const latin1 = await rejects(file('l1.txt', Buffer.from([0x72, 0x31, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a])), selection, 'encoding');
    expect(latin1.message).toContain('UTF-8');
    expect(latin1.examples[0]).toContain('line 2');
    await rejects(file('u16.txt', Buffer.from('\ufeffr1\n', 'utf16le')), selection, 'encoding');
    const rnd = new Uint8Array(256).map((_, i) => (i * 97 + 13) & 255);
    await rejects(file('junk.json', rnd), selection, 'encoding');
  });
  it('a file that is not the format its extension claims', async () => {
    const pq = await parquetFile(`SELECT 'r1' AS id`);
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(pq);
    const asCsv = await rejects(file('really-parquet.csv', bytes), selection, 'wrong-format');
    expect(asCsv.message).toContain('parquet');
    await rejects(file('text.parquet', 'id\nr1\n'), selection, 'wrong-format');
    await rejects(file('text.arrow', 'id\nr1\n'), selection, 'wrong-format');
    await rejects(file('trunc.parquet', bytes.subarray(0, bytes.length - 10)), selection, 'wrong-format');
    await rejects(file('gz.txt', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])), selection, 'wrong-format');
  });
  it('syntax errors: broken JSON, ragged CSV, unclosed quotes, non-scalar ids, float id columns', async () => {
    const j = await rejects(file('bad.json', '["r1",\n "r2",]'), selection, 'syntax');
    expect(j.examples[0]).toMatch(/line 2/);
    const r = await rejects(file('rag.csv', 'id,label\nr1,cat\nr2\n'), relabel, 'syntax');
    expect(r.examples).toEqual(['line 3: 1 field(s)']);
    await rejects(file('q.csv', 'id\n"r1\n'), selection, 'syntax');
    await rejects(file('obj.json', '[["r1"]]'), selection, 'syntax');
    await rejects(file('f.json', '[1.5]'), selection, 'syntax');
    await rejects(file('mix.json', '["r1", {"id": "r2"}]'), selection, 'syntax');
    await rejects(file('scalar.json', '"r1"'), selection, 'syntax');
    await rejects(await parquetFile(`SELECT 1.5::DOUBLE AS id`), selection, 'syntax');
  });
});

describe('through the CLI: exit code 2, a precise message, nothing written', () => {
  const sieve = (...args: string[]) =>
    spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });

  it('sieve evaluate rejects each malformed submission with its own error', () => {
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['empty.csv', '', /empty/],
      ['unknown.csv', 'id\ntrain-00000\nno-such-row\n', /1 id\(s\) are not in the pool's train split[\s\S]*line 3: "no-such-row"/],
      ['dup.txt', 'train-00000\ntrain-00007\ntrain-00000\n', /repeated id[\s\S]*"train-00000" at line 1 and line 3/],
      ['cols.csv', 'id,label\ntrain-00000,Coat\n', /unexpected column\(s\) label/],
      ['junk.csv', Buffer.from('id\ntrain-00000\n\x00\x01\x02'), /NUL/],
      ['fake.parquet', 'id\ntrain-00000\n', /claims to be Parquet/],
    ];
    for (const [name, content, pattern] of cases) {
      const path = file(name, content);
      const out = join(dir, `${name}.result.json`);
      const r = sieve('evaluate', 'fashion-select', path, '--out', out);
      expect(r.status, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr, name).toMatch(pattern);
      expect(r.stderr).not.toMatch(/internal error|at .*\.ts:\d+/);
      expect(existsSync(out), name).toBe(false);
    }
  });

  it('--json puts the error and its problem code on stdout; challenge check validates without training', async () => {
    const { openPool, readSplit } = await import('../src/pool/read.ts');
    const ids = (await readSplit(await openPool('fashion-mnist'), 'train', { columns: [] })).ids;
    const bad = file('over.txt', ids.slice(0, 1001).join('\n'));
    const r = sieve('challenge', 'check', 'fashion-select', bad, '--json');
    expect(r.status).toBe(2);
    const body = JSON.parse(r.stdout);
    expect(body.problem).toBe('over-budget');
    expect(body.count).toBe(1001);
    const labels = file('labels.csv', 'id,label\ntrain-00000,Coat\n');
    const ok = sieve('challenge', 'check', 'fashion-select', file('ok.txt', 'train-00000\ntrain-00007\n'));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/ok: 2 ids/);
    expect(sieve('challenge', 'check', 'fashion-select', labels).status).toBe(2);
  });
});
