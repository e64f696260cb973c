/**
 * Hostile and careless submissions and challenge specs (issue 13, items 4 and 5): bounded
 * JSON depth, repeated JSON keys, ids compared as written, TXT/CSV whitespace and CRLF,
 * YAML alias bombs, unknown YAML tags and invalid UTF-8 — each a SieveError, never a crash.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadChallenge, parseChallengeText } from '../src/challenge/load.ts';
import { loadSubmission, rulesFor, SubmissionError, type SubmissionRules } from '../src/submission/index.ts';
import { MAX_JSON_DEPTH, parseStrictJson } from '../src/submission/json.ts';
import { SieveError } from '../src/util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const poolIds = ['r1', 'r2', 'r3', '7', '12345678901234567890', '-0'];
const selection: SubmissionRules = rulesFor({ task: 'selection', budget: { rows: 10 } }, { ids: poolIds, classNames: ['a', 'b'] });
const relabel: SubmissionRules = rulesFor({ task: 'relabel', budget: { corrections: 10 } }, { ids: poolIds, classNames: ['a', 'b'] });

let counter = 0;
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, `${counter++}-${name}`);
  writeFileSync(p, content);
  return p;
}

async function ids(path: string, rules = selection): Promise<string[]> {
  const { submission } = await loadSubmission(path, rules);
  return Array.from(submission.indices, (i) => poolIds[i]);
}

async function rejected(path: string, pattern: RegExp, rules = selection): Promise<SubmissionError> {
  const err = await loadSubmission(path, rules).then(() => null, (e) => e);
  expect(err).toBeInstanceOf(SubmissionError);
  expect((err as SubmissionError).message).toMatch(pattern);
  return err as SubmissionError;
}

describe('JSON submissions are parsed strictly', () => {
  it('a 200,000-deep array is a syntax error naming the depth, not a stack overflow', async () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const e = await rejected(file('deep.json', deep), new RegExp(`nested deeper than ${MAX_JSON_DEPTH} levels`));
    expect(e.problem).toBe('syntax');
    expect(e.examples[0]).toBe(`line 1, column ${MAX_JSON_DEPTH + 1}`);
    await rejected(file('deepobj.json', '{"ids":' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_001)), /nested deeper/);
  });

  it('a key repeated in one object is an error with its place', async () => {
    const e = await rejected(file('dup.json', '[{"id": "r1", "label": "a",\n  "label": "b"}]'), /duplicate key "label"/, relabel);
    expect(e.examples[0]).toBe('line 2, column 3');
    await rejected(file('dup2.json', '{"ids": ["r1"], "ids": ["r2"]}'), /duplicate key "ids"/);
    // The same key in two objects is fine.
    expect(await ids(file('ok.json', '[{"id": "r1", "label": "a"}, {"id": "r2", "label": "b"}]'), relabel)).toEqual(['r1', 'r2']);
  });

  it('integer ids are compared as the digits written; floats and exponents are not ids', async () => {
    expect(await ids(file('n.json', '[7, 12345678901234567890, -0]'))).toEqual(['7', '12345678901234567890', '-0']);
    await rejected(file('f.json', '[7.0]'), /neither strings nor integers/);
    await rejected(file('e.json', '[7e0]'), /neither strings nor integers/);
    expect(await ids(file('s.json', '["7"]'))).toEqual(['7']);
  });

  it('the parser matches JSON.parse on ordinary documents and keeps "__proto__" as a key', () => {
    const text = '{"a": [1, -2.5e3, "x\\u00e9\\n", true, false, null], "b": {}, "c": [], "__proto__": {"d": 1}}';
    const v = parseStrictJson(text) as Record<string, unknown>;
    const plain = JSON.parse(JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && 'text' in x ? Number(x.text) : x)));
    expect(plain).toEqual(JSON.parse(text));
    expect(Object.keys(v)).toEqual(['a', 'b', 'c', '__proto__']);
    for (const bad of ['[1,]', '{"a" 1}', '[01]', '"\u0001"', '[1] x', '{"a":1,}', '']) expect(() => parseStrictJson(bad)).toThrow();
  });
});

describe('TXT and CSV submissions trim surrounding whitespace and accept CRLF', () => {
  it('TXT with spaces, tabs and CRLF line ends', async () => {
    expect(await ids(file('a.txt', '  r1 \r\n\tr2\t\r\nr3\r\n\r\n'))).toEqual(['r1', 'r2', 'r3']);
  });
  it('CSV with spaces around fields, quoted fields and CRLF', async () => {
    expect(await ids(file('a.csv', 'id \r\n r1\r\n "r2" \r\nr3  \r\n'))).toEqual(['r1', 'r2', 'r3']);
    expect(await ids(file('b.csv', ' id , label \r\n r1 , a \r\n"r2", b\r\n'), relabel)).toEqual(['r1', 'r2']);
    // Inside quotes the spaces are the user's: kept, and reported with a hint.
    const e = await rejected(file('q.csv', 'id\n" r1 "\n'), /surrounding spaces/);
    expect(e.problem).toBe('unknown-ids');
  });
});

describe('damaged binary submissions are SieveErrors within bounds', () => {
  // Fuzz cases (test/fuzz, submission seeds 804, 513, 908): a flipped byte made apache-arrow
  // loop without end; damaged Parquet pages fail only once rows are read.
  const fixture = (name: string) => join(__dirname, 'fixtures', 'damaged', name);
  it('a damaged Arrow file is refused, not decoded for ever', async () => {
    const e = await rejected(fixture('byte-flip.arrow'), /apache-arrow cannot read the file/);
    expect(e.problem).toBe('wrong-format');
  });
  it('damaged Parquet data pages', async () => {
    // short-read's footer says 22 rows: on a pool that large its pages are read and their damage
    // found; on the 6-row pool the footer alone refuses it, unread (ff-range's says 1 row).
    const wide = rulesFor({ task: 'relabel', budget: { corrections: 10 } }, { ids: [...poolIds, ...Array.from({ length: 40 }, (_, i) => `w${i}`)], classNames: ['a', 'b'] });
    for (const f of ['short-read.parquet', 'ff-range.parquet']) {
      const e = await rejected(fixture(f), /DuckDB cannot read the Parquet file \(damaged or truncated\?\)/, wide);
      expect(e.problem).toBe('wrong-format');
    }
    const small = await rejected(fixture('short-read.parquet'), /holds 22 rows \(from its footer\); the pool has 6 train rows/, relabel);
    expect(small.problem).toBe('over-budget');
    expect((await rejected(fixture('ff-range.parquet'), /DuckDB cannot read the Parquet file/, relabel)).problem).toBe('wrong-format');
  });
  it('a Parquet file whose ids decompress to more than a submission holds is refused from its footer, unread', async () => {
    // Two 40 MB ids in a few KB of zstd (a tryout's 47 KB file held 1.5 GB and peaked at 3.3 GB to refuse).
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const bomb = join(dir, 'bomb.parquet');
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    await conn.run(`COPY (SELECT repeat('r', 40000000) || i AS id FROM range(2) t(i)) TO '${bomb}' (FORMAT parquet, COMPRESSION zstd)`);
    conn.closeSync();
    inst.closeSync();
    const e = await rejected(bomb, /^the Parquet file's "id" column is 80000\d+ bytes once decompressed \(from its footer\), more than a submission's 67108864; it was not read$/);
    expect(e.problem).toBe('wrong-format');
    // Dictionary-encoded, the footer counts a repeated string once (1.4 KB held 20,000 references
    // to a 1 MB id: 20 GB decoded): the longest value is measured before any row is read.
    const dict = join(dir, 'dict.parquet');
    const inst2 = await DuckDBInstance.create(':memory:');
    const conn2 = await inst2.connect();
    await conn2.run(`COPY (SELECT repeat('r', 5000) || (i % 2)::VARCHAR AS id FROM range(4) t(i)) TO '${dict}' (FORMAT parquet, COMPRESSION zstd)`);
    conn2.closeSync();
    inst2.closeSync();
    await rejected(dict, /^the Parquet file's "id" column holds a value of 5001 bytes; a submission's ids and labels are at most 4096; it was not read$/);
  });
});

describe('challenge.yaml cannot crash or fool the loader', () => {
  const base = (extra: string) => `name: toy\nversion: 1\npool: german-credit\ntask: selection\n${extra}`;
  const err = (text: string): SieveError => {
    try {
      parseChallengeText(text, 'toy.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(SieveError);
      return e as SieveError;
    }
    throw new Error('expected a SieveError');
  };

  it('a YAML alias bomb is refused, not expanded', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [k, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) bomb.push(`${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`);
    expect(err(base(bomb.join('\n') + '\n')).message).toMatch(/aliases expand too far/);
  });

  it('unknown tags (!evil, !!js/function) are refused', () => {
    expect(err(base('title: !evil x\n')).message).toMatch(/unknown YAML tag in toy\.yaml: Unresolved tag: !evil at line 5, column 8$/);
    expect(err(base('title: !!js/function "function () { return 1 }"\n')).message).toMatch(/unknown YAML tag/);
  });

  it('deep nesting and invalid UTF-8 are errors naming the file', async () => {
    // Flow, block and compact nesting past the parser's stack, and 65 levels it can still parse.
    const deep = /invalid YAML in toy\.yaml: nested more than 64 levels deep/;
    expect(err(base(`title: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`)).message).toMatch(deep);
    expect(err(base(Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}a:\n`).join('') + `${' '.repeat(300)}1\n`)).message).toMatch(deep);
    expect(err(base(`x:\n${'- '.repeat(5_000)}1\n`)).message).toMatch(deep);
    expect(err(base(`x: ${'['.repeat(65)}${']'.repeat(65)}\n`)).message).toMatch(deep);
    expect(err(base(`x: ${'['.repeat(60)}${']'.repeat(60)}\n`)).message).not.toMatch(deep);
    const d = mkdtempSync(join(dir, 'ch-'));
    writeFileSync(join(d, 'challenge.yaml'), Buffer.concat([Buffer.from(base('title: caf')), Buffer.from([0xe9, 0x0a])]));
    const e = await loadChallenge(d).then(() => null, (x) => x);
    expect(e).toBeInstanceOf(SieveError);
    expect(e.message).toMatch(/not valid UTF-8/);
    expect(e.examples[0]).toMatch(/line 5/);
  });
});
