import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEXT_DIMS, TEXT_FEATURISER, textFeatureNames } from '../compute/text-features.ts';
import { describe, expect, it } from 'vitest';
import { loadManifest, verifyPool } from '../src/pool/manifest.ts';
import { writePool } from '../src/pool/write.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { readHiddenSplit, readTruth } from '../src/pool/hidden.ts';
import { SieveError } from '../src/util/errors.ts';
import { mixedDraft, tempDir } from './pool-helpers.ts';

describe('writePool', () => {
  it('writes byte-identical files for the same draft', async () => {
    const root = tempDir();
    const m1 = await writePool(join(root, 'p1'), mixedDraft());
    const m2 = await writePool(join(root, 'p2'), mixedDraft());
    expect(m1.files.map((f) => f.sha256)).toEqual(m2.files.map((f) => f.sha256));
    expect(m1.content_hash).toBe(m2.content_hash);
    for (const f of m1.files) {
      expect(readFileSync(join(root, 'p1', f.path)).equals(readFileSync(join(root, 'p2', f.path)))).toBe(true);
    }
    // A different seed gives different data and a different content hash.
    const m3 = await writePool(join(root, 'p3'), mixedDraft(10, 4, 2));
    expect(m3.content_hash).not.toBe(m1.content_hash);
  });

  it('records splits, visibility and hashes, and verifies them', async () => {
    const dir = join(tempDir(), 'pool');
    const m = await writePool(dir, mixedDraft());
    expect(m.splits.train).toEqual({ rows: 10, class_counts: { a: 4, b: 3, c: 3 } });
    expect(m.splits.test?.rows).toBe(4);
    expect(Object.fromEntries(m.files.map((f) => [f.role, f.visibility]))).toEqual({
      train: 'participant',
      test: 'evaluator',
      truth: 'evaluator',
      duplicates: 'evaluator',
    });
    expect((await loadManifest(dir)).content_hash).toBe(m.content_hash);
    expect((await verifyPool(dir)).ok).toBe(true);
    // Flip one byte of train.parquet: verification names the file.
    const p = join(dir, 'train.parquet');
    const bytes = readFileSync(p);
    bytes[100] ^= 0xff;
    writeFileSync(p, bytes);
    const report = await verifyPool(dir);
    expect(report.ok).toBe(false);
    expect(report.files.find((f) => !f.ok)?.path).toBe('train.parquet');
  });

  it('rejects a hand-edited manifest whose content hash no longer matches', async () => {
    const dir = join(tempDir(), 'pool');
    await writePool(dir, mixedDraft());
    const path = join(dir, 'pool.json');
    const raw = JSON.parse(readFileSync(path, 'utf8'));
    raw.files[1].visibility = 'participant';
    writeFileSync(path, JSON.stringify(raw));
    await expect(loadManifest(dir)).rejects.toThrow(/content_hash/);
    raw.classes = ['a'];
    writeFileSync(path, JSON.stringify(raw));
    await expect(loadManifest(dir)).rejects.toThrow(/invalid pool manifest/);
  });

  it('reads back every feature kind into typed arrays', async () => {
    const dir = join(tempDir(), 'pool');
    const draft = mixedDraft();
    await writePool(dir, draft);
    const pool = await openPool(dir);
    const s = await readSplit(pool, 'train');
    const cols = Object.fromEntries(draft.tables.train.columns.map((c) => [c.name, c])) as any;
    expect(s.n).toBe(10);
    expect(s.d).toBe(4 + 6 + 1 + 3 + TEXT_DIMS);
    expect(s.ids).toEqual(cols.id.values);
    expect(Array.from(s.labels)).toEqual(cols.label.values.map((l: string) => 'abc'.indexOf(l)));
    expect(s.featureNames.slice(0, 5)).toEqual(['emb[0]', 'emb[1]', 'emb[2]', 'emb[3]', 'img[0]']);
    expect(s.featureNames.slice(10, 14)).toEqual(['age', 'colour=red', 'colour=green', 'colour=blue']);
    expect(s.featureNames.slice(14)).toEqual(textFeatureNames('note'));
    expect(s.textFeatures).toEqual({ featuriser: TEXT_FEATURISER, blocks: [{ column: 'note', offset: 14, dims: TEXT_DIMS, idfDocuments: 10 }] });
    for (let i = 0; i < s.n; i++) {
      const row = s.features.subarray(i * s.d, (i + 1) * s.d);
      expect(Array.from(row.subarray(0, 4))).toEqual(Array.from(cols.emb.values.subarray(i * 4, i * 4 + 4)));
      for (let j = 0; j < 6; j++) expect(row[4 + j]).toBeCloseTo(cols.img.values[i * 6 + j] / 255, 6);
      expect(row[10]).toBe(20 + i);
      const colour = cols.colour.values[i];
      expect(Array.from(row.subarray(11, 14))).toEqual(['red', 'green', 'blue'].map((c) => (c === colour ? 1 : 0)));
      // The note's hashed TF-IDF: unit norm (word and character blocks at 1/√2 each).
      expect(Math.hypot(...row.subarray(14))).toBeCloseTo(1, 5);
    }
    expect(s.pixels?.width).toBe(3);
    expect(Array.from(s.pixels!.data)).toEqual(Array.from(cols.img.values));
    expect(s.groups.sex).toEqual(cols.sex.values);
    expect(s.text?.note).toEqual(cols.note.values);
  });

  it('filters columns, limit and ids (in file order)', async () => {
    const dir = join(tempDir(), 'pool');
    await writePool(dir, mixedDraft());
    const pool = await openPool(dir);
    const s = await readSplit(pool, 'train', { columns: ['age', 'sex'], limit: 3 });
    expect(s.n).toBe(3);
    expect(s.featureNames).toEqual(['age']);
    expect(Array.from(s.features)).toEqual([20, 21, 22]);
    expect(Object.keys(s.groups)).toEqual(['sex']);
    const sub = await readSplit(pool, 'train', { ids: ['tr7', 'tr2', 'tr5'], columns: ['age'] });
    expect(sub.ids).toEqual(['tr2', 'tr5', 'tr7']);
    expect(Array.from(sub.features)).toEqual([22, 25, 27]);
    await expect(readSplit(pool, 'train', { ids: ['tr1', 'nope'] })).rejects.toThrow(/ids not in the train split/);
    await expect(readSplit(pool, 'train', { columns: ['agee'] })).rejects.toThrow(/unknown column: agee/);
  });

  it('keeps evaluator files behind hidden.ts', async () => {
    const dir = join(tempDir(), 'pool');
    await writePool(dir, mixedDraft());
    const pool = await openPool(dir);
    await expect(readSplit(pool, 'test')).rejects.toThrow(/evaluator-only/);
    const test = await readHiddenSplit(pool, 'test');
    expect(test.ids).toEqual(['te0', 'te1', 'te2', 'te3']);
    const truth = await readTruth(pool);
    expect(truth?.ids).toEqual(['tr0', 'tr1']);
    expect(Array.from(truth!.cleanLabels)).toEqual([0, 0]);
    expect(Array.from(truth!.noisy)).toEqual([0, 1]);
    expect(truth?.duplicatePairs).toEqual([{ a: 'tr2', b: 'te1', kind: 'exact', crossSplit: true }]);
    // An auditor's own pool may mark its test split participant-visible.
    const own = join(tempDir(), 'own');
    const draft = mixedDraft();
    draft.testVisibility = 'participant';
    delete draft.tables.truth;
    delete draft.tables.duplicates;
    await writePool(own, draft);
    const ownPool = await openPool(own);
    expect((await readSplit(ownPool, 'test')).n).toBe(4);
    expect(await readTruth(ownPool)).toBeNull();
  });

  const bad: [string, (d: ReturnType<typeof mixedDraft>) => void, RegExp, string?][] = [
    ['duplicate ids', (d) => ((d.tables.train.columns[0].values as string[])[5] = 'tr2'), /duplicate ids/, '"tr2" (train row 3 and train row 6)'],
    ['ids shared by train and test', (d) => ((d.tables.test!.columns[0].values as string[])[0] = 'tr4'), /duplicate ids/, '"tr4" (train row 5 and test row 1)'],
    ['empty ids', (d) => ((d.tables.train.columns[0].values as string[])[3] = ''), /missing or empty ids/, 'row 4'],
    ['unknown labels', (d) => ((d.tables.train.columns[1].values as string[])[2] = 'z'), /labels missing or not among the classes/, 'row 3 (id tr2): "z"'],
    ['NaN in an embedding', (d) => (((d.tables.train.columns[2] as any).values as Float32Array)[9] = NaN), /non-finite values/, 'row 3 (id tr2)'],
    ['Inf in a numeric feature', (d) => (((d.tables.train.columns[4] as any).values as Float64Array)[0] = Infinity), /non-finite values in numeric feature "age"/, 'row 1 (id tr0): Infinity'],
    ['an undeclared category', (d) => ((d.tables.train.columns[5].values as string[])[1] = 'pink'), /categorical "colour"/, 'row 2: "pink"'],
    ['a wrong embedding dim', (d) => (d.manifest.features[0] = { name: 'emb', kind: 'embedding', dim: 5 }), /has dim 4, manifest says 5/],
    ['a missing feature column', (d) => d.tables.train.columns.splice(3, 1), /no column "img"/],
    ['an undeclared column', (d) => d.tables.train.columns.push({ name: 'extra', type: 'DOUBLE', values: new Float64Array(10) }), /does not declare/, 'extra'],
    ['truth ids not in train', (d) => ((d.tables.truth!.columns[0].values as string[])[1] = 'te0'), /truth rows name ids/, 'row 2: te0'],
  ];
  for (const [what, mutate, message, example] of bad) {
    it(`rejects ${what} and leaves nothing on disk`, async () => {
      const root = tempDir();
      const draft = mixedDraft();
      mutate(draft);
      const err = await writePool(join(root, 'pool'), draft).catch((e) => e);
      expect(err).toBeInstanceOf(SieveError);
      expect(err.message).toMatch(message);
      if (example) expect(err.examples).toContain(example);
      expect(readdirSync(root)).toEqual([]);
    });
  }

  it('refuses to overwrite unless asked', async () => {
    const dir = join(tempDir(), 'pool');
    await writePool(dir, mixedDraft());
    await expect(writePool(dir, mixedDraft())).rejects.toThrow(/already exists/);
    const m = await writePool(dir, mixedDraft(12), { overwrite: true });
    expect(m.splits.train.rows).toBe(12);
    expect(existsSync(join(dir, 'pool.json'))).toBe(true);
  });
});
