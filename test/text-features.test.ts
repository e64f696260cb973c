/**
 * The hashed TF-IDF featuriser (compute/text-features.ts): the FNV-1a reference vectors, exact
 * buckets, signs and weights on small documents worked out by hand, unicode tokens,
 * determinism, and how the pool reader uses it (IDF from the whole train split only).
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CHAR_DIMS, fitIdf, fnv1a32, hashTexts, isWordCodePoint, TEXT_DIMS, WORD_DIMS, writeTfidf,
} from '../compute/text-features.ts';
import { ImportProblems, importPool } from '../src/pool/import/index.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { tempDir } from './pool-helpers.ts';
import { createRng } from '../compute/rng.ts';
import { analyseDuplicates, duplicates } from '../src/analysers/duplicates.ts';
import { rowContent } from '../src/analysers/duplicate-search.ts';

/** Signed bucket of a word, from the published FNV-1a of its bytes + 'w'. */
function wordBucket(word: string): { j: number; sign: number } {
  const h = fnv1a32(word + 'w');
  return { j: h & (WORD_DIMS - 1), sign: h & 0x80000000 ? -1 : 1 };
}
function charBucket(gram: string): { j: number; sign: number } {
  const h = fnv1a32(gram + String([...gram].length));
  return { j: WORD_DIMS + (h & (CHAR_DIMS - 1)), sign: h & 0x80000000 ? -1 : 1 };
}
/** Expected signed counts of one document from the rules written out. */
function expectedCounts(tokens: string[]): Map<number, number> {
  const m = new Map<number, number>();
  const add = ({ j, sign }: { j: number; sign: number }) => m.set(j, (m.get(j) ?? 0) + sign);
  for (const t of tokens) {
    add(wordBucket(t));
    const p = [' ', ...t, ' '];
    for (let g = 3; g <= 5; g++) for (let s = 0; s + g <= p.length; s++) add(charBucket(p.slice(s, s + g).join('')));
  }
  return m;
}
function row(h: ReturnType<typeof hashTexts>, i: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let e = h.indptr[i]; e < h.indptr[i + 1]; e++) m.set(h.indices[e], h.values[e]);
  return m;
}
const tf = (c: number) => (c === 0 ? 0 : Math.fround(Math.sign(c) * (1 + Math.log(Math.abs(c)))));

describe('hashed TF-IDF', () => {
  it('hashes with 32-bit FNV-1a over UTF-8 (the published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Multi-byte code points hash as their UTF-8 bytes: "é" = c3 a9.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193);
    expect(fnv1a32('é')).toBe(h >>> 0);
  });

  it('counts words and padded character 3-5-grams in the buckets the rules give', () => {
    const h = hashTexts(['Spam spam, EGGS!', '']);
    const expected = expectedCounts(['spam', 'spam', 'eggs']);
    expect([...row(h, 0).keys()]).toEqual([...expected.keys()].sort((a, b) => a - b));
    for (const [j, c] of expected) expect(row(h, 0).get(j)).toBe(tf(c));
    expect(h.indptr[2] - h.indptr[1]).toBe(0); // the empty document has no entries
    // 'spam' twice → 1 + ln 2 with its sign.
    const w = wordBucket('spam');
    expect(Math.abs(row(h, 0).get(w.j)!)).toBeCloseTo(1 + Math.log(2), 6);
  });

  it('splits on spaces and punctuation but keeps accented, CJK and emoji code points in words', () => {
    const h = hashTexts(['Naïve CAFÉ\u00a0日本語 — 🎉!e-mail']);
    expect(row(h, 0)).toEqual(new Map([...expectedCounts(['naïve', 'café', '日本語', '🎉', 'e', 'mail'])].map(([j, c]) => [j, tf(c)])));
    expect(isWordCodePoint(0x2014)).toBe(false); // em dash
    expect(isWordCodePoint(0xa0)).toBe(false); // no-break space
    expect(isWordCodePoint(0x1f389)).toBe(true); // 🎉
    // A lone surrogate is a code unit like another: no crash, deterministic.
    const lone = hashTexts(['a\ud800b', 'a\ud800b']);
    expect(Array.from(lone.values.subarray(0, lone.indptr[1]))).toEqual(Array.from(lone.values.subarray(lone.indptr[1])));
  });

  it('weights by smooth IDF and L2-normalises the word and character blocks to 1/√2 each', () => {
    const docs = ['red apple', 'green apple', 'red red car'];
    const h = hashTexts(docs);
    const idf = fitIdf(h);
    expect(idf.documents).toBe(3);
    const a = wordBucket('apple').j, car = wordBucket('car').j;
    expect(idf.idf[a]).toBeCloseTo(Math.log(4 / 3) + 1, 12); // in 2 of 3 documents
    expect(idf.idf[car]).toBeCloseTo(Math.log(4 / 2) + 1, 12); // in 1 of 3
    // A bucket no document touched: df 0.
    const used = new Set(h.indices);
    const unused = Array.from({ length: TEXT_DIMS }, (_, j) => j).find((j) => !used.has(j))!;
    expect(idf.idf[unused]).toBeCloseTo(Math.log(4) + 1, 12);
    const X = new Float32Array(4 * (TEXT_DIMS + 3));
    writeTfidf(hashTexts([...docs, '!!!']), idf, X, TEXT_DIMS + 3, 2);
    for (let i = 0; i < 3; i++) {
      const r = X.subarray(i * (TEXT_DIMS + 3), (i + 1) * (TEXT_DIMS + 3));
      expect(r[0]).toBe(0); expect(r[1]).toBe(0); expect(r[TEXT_DIMS + 2]).toBe(0);
      expect(Math.hypot(...r.subarray(2, 2 + WORD_DIMS))).toBeCloseTo(Math.SQRT1_2, 6);
      expect(Math.hypot(...r.subarray(2 + WORD_DIMS, 2 + TEXT_DIMS))).toBeCloseTo(Math.SQRT1_2, 6);
    }
    // Row 0 "red apple": the word block is (tf·idf) / norm · 1/√2.
    const red = wordBucket('red'), apple = wordBucket('apple');
    const vr = red.sign * idf.idf[red.j], va = apple.sign * idf.idf[apple.j];
    const norm = Math.hypot(vr, va);
    expect(X[2 + red.j]).toBeCloseTo((vr / norm) * Math.SQRT1_2, 6);
    expect(X[2 + apple.j]).toBeCloseTo((va / norm) * Math.SQRT1_2, 6);
    // A document without a word character is a zero row.
    expect(X.subarray(3 * (TEXT_DIMS + 3), 4 * (TEXT_DIMS + 3)).every((v) => v === 0)).toBe(true);
  });

  it('gives the same bits for the same texts', () => {
    const docs = Array.from({ length: 50 }, (_, i) => `message ${i} ${'lorem ipsum '.repeat(i % 7)} ünïcödé ${i * 7919}`);
    const run = () => {
      const h = hashTexts(docs);
      const X = new Float32Array(docs.length * TEXT_DIMS);
      writeTfidf(h, fitIdf(h), X, TEXT_DIMS, 0);
      return X;
    };
    expect(Buffer.from(run().buffer).equals(Buffer.from(run().buffer))).toBe(true);
  });
});

describe('text columns in pools', () => {
  it('become TF-IDF features whose IDF is fitted on the whole train split only', async () => {
    const dir = tempDir();
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({
      id: `m${i}`, label: i % 2 ? 'spam' : 'ham',
      body: i % 2 ? `win money now ${i} — gratuit €${i}` : `meeting notes for ${i}, café at ${i % 5}`,
    }));
    writeFileSync(join(dir, 'mail.jsonl'), lines.join('\n') + '\n');
    await importPool({ input: join(dir, 'mail.jsonl'), out: join(dir, 'pool'), kinds: { body: 'text' }, testFraction: 0.25, seed: 3 });
    const pool = await openPool(join(dir, 'pool'));
    // Test first: its IDF then comes from reading the train file, not from an earlier train read.
    const test = await readSplit(pool, 'test');
    const train = await readSplit(pool, 'train');
    expect(train.d).toBe(TEXT_DIMS);
    expect(train.textFeatures?.blocks).toEqual([{ column: 'body', offset: 0, dims: TEXT_DIMS, idfDocuments: train.n }]);
    expect(test.textFeatures?.blocks[0].idfDocuments).toBe(train.n);
    // Test rows weighted with the train split's IDF, not their own.
    const idf = fitIdf(hashTexts(train.text!.body));
    const want = new Float32Array(test.n * TEXT_DIMS);
    writeTfidf(hashTexts(test.text!.body), idf, want, TEXT_DIMS, 0);
    expect(Array.from(test.features)).toEqual(Array.from(want));
    // A subset of train read by ids has the rows of the full read.
    const ids = [train.ids[7], train.ids[2]];
    const sub = await readSplit(pool, 'train', { ids });
    const at = (s: typeof train, id: string) => Array.from(s.features.subarray(s.ids.indexOf(id) * s.d, (s.ids.indexOf(id) + 1) * s.d));
    for (const id of ids) expect(at(sub, id)).toEqual(at(train, id));
  });
});

describe('duplicates on text features', () => {
  it('finds exact and near copies of messages by cosine on the TF-IDF rows, and no pair among distinct ones', async () => {
    const rng = createRng(5);
    const vocab = Array.from({ length: 3000 }, () => Array.from({ length: 3 + rng.int(6) }, () => 'abcdefghijklmnopqrstuvwxyzé'[rng.int(27)]).join(''));
    const doc = () => Array.from({ length: 150 }, () => vocab[rng.int(vocab.length)]).join(' ');
    const docs = Array.from({ length: 120 }, doc);
    const words = docs[3].split(' ');
    words[70] = 'different';
    docs.push(docs[0]); // 120: exact copy of 0
    docs.push(words.join(' ')); // 121: near copy of 3 (one word of 150 changed)
    docs.push('Dear Bob,\n' + docs[5]); // 122: near copy of 5 with a greeting
    const dir = tempDir();
    writeFileSync(join(dir, 'docs.jsonl'), docs.map((body, i) => JSON.stringify({ id: `d${i}`, label: i % 2 ? 'x' : 'y', body })).join('\n'));
    await importPool({ input: join(dir, 'docs.jsonl'), out: join(dir, 'pool'), kinds: { body: 'text' } });
    const train = await readSplit(await openPool(join(dir, 'pool')), 'train');
    const r = await analyseDuplicates(train, undefined, duplicates.defaults, 0);
    expect(r.metric).toBe('cosine');
    expect(rowContent(train).kind).toBe('text');
    expect(r.exactGroup[120]).toBe(0);
    const clusterOf = (i: number) => r.cluster[i];
    expect(clusterOf(121)).toBeGreaterThanOrEqual(0);
    expect(clusterOf(121)).toBe(clusterOf(3));
    expect(clusterOf(122)).toBe(clusterOf(5));
    expect(r.clusters.map((c) => [...c.rows].sort((a, b) => a - b))).toEqual(expect.arrayContaining([[0, 120], [3, 121], [5, 122]]));
    expect(r.clusters.length).toBe(3);
  });
});

describe('importing text columns', () => {
  const write = (lines: string[]) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n');
    return dir;
  };
  const fail = async (p: Promise<unknown>) => {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ImportProblems);
    return err as ImportProblems;
  };

  it('refuses JSON values that are not strings, naming each kind and its first line', async () => {
    const dir = write([
      '{"id":"a","label":"x","body":"fine"}',
      '{"id":"b","label":"y","body":12}',
      '{"id":"c","label":"x","body":["a list"]}',
      '{"id":"d","label":"y","body":"fine too"}',
    ]);
    const err = await fail(importPool({ input: join(dir, 'in.jsonl'), out: join(dir, 'p'), kinds: { body: 'text' } }));
    expect(err.problems[0].message).toMatch(/text column "body" holds JSON values that are not strings \(2 rows\)/);
    expect(err.problems[0].examples).toEqual(['number 12 (1 row) first at line 2', 'list ["a list"] (1 row) first at line 3']);
  });

  it('refuses missing and empty text with its lines, or drops those rows with --missing drop-row', async () => {
    const dir = write([
      '{"id":"a","label":"x","body":"Grüße — naïve café 日本語 🎉"}',
      '',
      '{"id":"b","label":"y","body":""}',
      '{"id":"c","label":"x","body":null}',
      '{"id":"d","label":"y","body":"   "}',
      `{"id":"e","label":"y","body":${JSON.stringify('long '.repeat(40_000))}}`,
    ]);
    const err = await fail(importPool({ input: join(dir, 'in.jsonl'), out: join(dir, 'p'), kinds: { body: 'text' } }));
    expect(err.problems[0].message).toMatch(/missing or empty text in column "body".*--missing drop-row.*\(3 rows\)/);
    expect(err.problems[0].examples).toEqual(['line 3', 'line 4', 'line 5']);
    const notes: string[] = [];
    const m = await importPool({ input: join(dir, 'in.jsonl'), out: join(dir, 'p'), kinds: { body: 'text' }, missing: 'drop-row', onNote: (n) => notes.push(n) });
    expect(m.splits.train.rows).toBe(2);
    expect(m.features).toEqual([{ name: 'body', kind: 'text' }]);
    expect(m.datasheet.preprocessing).toMatch(/text columns "body" kept as UTF-8 strings.*sieve-hashed-tfidf\/1/);
    expect(notes.join('\n')).toMatch(/dropped 3 rows .*\(body: 3\)/);
    const s = await readSplit(await openPool(join(dir, 'p')), 'train');
    expect(s.text!.body).toEqual(['Grüße — naïve café 日本語 🎉', 'long '.repeat(40_000).trim()]);
    for (let i = 0; i < 2; i++) expect(Math.hypot(...s.features.subarray(i * s.d, (i + 1) * s.d))).toBeCloseTo(1, 5);
  });
});
