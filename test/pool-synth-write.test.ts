/** A synthetic pool survives the trip through the writer and the readers bit for bit. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSynthPool, synthDraft } from '../src/pool/synth.ts';
import { writePool } from '../src/pool/write.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { readHiddenSplit, readTruth } from '../src/pool/hidden.ts';
import type { ColumnData, TableData } from '../src/pool/duckdb.ts';

const tmp = await mkdtemp(join(tmpdir(), 'sieve-synth-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

function values(t: TableData, name: string): ColumnData['values'] {
  return t.columns.find((c) => c.name === name)!.values;
}

const opts = { rows: 3000, dim: 8, classes: 3, noise: 0.25, noiseType: 'asymmetric' as const, exactDups: 20, nearDups: 10, imbalance: 2, groupNoiseFactor: 2, seed: 5 };

describe('synthetic pool written and read back', async () => {
  const p = generateSynthPool(opts);
  const m = await writePool(join(tmp, 'a'), synthDraft(p));
  const pool = await openPool(join(tmp, 'a'));
  const train = await readSplit(pool, 'train');

  it('keeps features, labels, ids and groups exactly', () => {
    expect(train.ids).toEqual(values(p.train, 'id'));
    expect(train.d).toBe(8);
    expect(Buffer.from(train.features.buffer, train.features.byteOffset, train.features.byteLength).equals(
      Buffer.from((values(p.train, 'embedding') as Float32Array).buffer))).toBe(true);
    expect(train.labels.length).toBe(2400);
    expect(Array.from(train.labels, (y) => train.classNames[y])).toEqual(values(p.train, 'label'));
    expect(train.groups.group).toEqual(values(p.train, 'group'));
    expect(m.splits.train.rows).toBe(2400);
    expect(m.splits.test!.rows).toBe(600);
  });

  it('keeps truth and duplicate pairs evaluator-only and readable by the evaluator', async () => {
    expect(m.files.map((f) => `${f.role}:${f.visibility}`)).toEqual([
      'train:participant', 'test:evaluator', 'truth:evaluator', 'duplicates:evaluator',
    ]);
    await expect(readSplit(pool, 'test')).rejects.toThrow(/evaluator-only/);
    const truth = (await readTruth(pool))!;
    expect(Array.from(truth.noisy)).toEqual(Array.from(values(p.truth, 'noisy') as Uint8Array));
    expect(truth.noisy.reduce((a, b) => a + b, 0)).toBe(600);
    expect(truth.duplicatePairs!.length).toBe(30);
    expect(truth.duplicatePairs!.map((d) => d.b)).toEqual(values(p.duplicates, 'b'));
    const test = await readHiddenSplit(pool, 'test');
    expect(test.n).toBe(600);
  });

  it('writes byte-identical files for the same seed, different ones for another', async () => {
    const again = await writePool(join(tmp, 'b'), synthDraft(generateSynthPool(opts)));
    expect(again.content_hash).toBe(m.content_hash);
    const other = await writePool(join(tmp, 'c'), synthDraft(generateSynthPool({ ...opts, seed: 6 })));
    expect(other.content_hash).not.toBe(m.content_hash);
  });

  it('leaves out the test and duplicates files when there are none', async () => {
    const small = await writePool(join(tmp, 'd'), synthDraft(generateSynthPool({ rows: 200, dim: 2, classes: 2, testRows: 0 })));
    expect(small.files.map((f) => f.role)).toEqual(['train', 'truth']);
  });
});
