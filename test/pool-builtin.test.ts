import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPool, readSplit, type Pool } from '../src/pool/read.ts';
import { readHiddenSplit, readTruth } from '../src/pool/hidden.ts';
import { verifyPool } from '../src/pool/manifest.ts';
import { builtinPoolsDir } from '../src/pool/resolve.ts';
import type { PoolSplit } from '../src/pool/types.ts';

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function classCounts(s: PoolSplit): number[] {
  const c = new Array(s.classNames.length).fill(0);
  for (const y of s.labels) c[y]++;
  return c;
}

/** Row index by id. */
function index(s: PoolSplit): Map<string, number> {
  return new Map(s.ids.map((id, i) => [id, i]));
}

describe('built-in pools on disk', () => {
  it('fit in 20 MB together and every file matches its recorded sha256', async () => {
    const dir = builtinPoolsDir();
    let bytes = 0;
    for (const name of ['fashion-mnist', 'german-credit', 'fashion-debug', 'fashion-relabel', 'synth-teach', 'spam-assassin']) {
      for (const f of readdirSync(join(dir, name))) bytes += statSync(join(dir, name, f)).size;
      const v = await verifyPool(join(dir, name));
      expect(v.ok, `${name}: ${JSON.stringify(v.files)}`).toBe(true);
    }
    expect(bytes).toBeLessThan(20 * 1024 * 1024);
  });
});

describe('fashion-mnist', async () => {
  const pool = await openPool('fashion-mnist');
  const train = await readSplit(pool, 'train');
  const test = await readHiddenSplit(pool, 'test');

  it('has 20,000 train / 5,000 test rows, stratified over the 10 named classes', () => {
    expect(pool.builtin).toBe(true);
    expect(train.classNames).toEqual(FASHION_CLASSES);
    expect(train.n).toBe(20_000);
    expect(test.n).toBe(5_000);
    expect(classCounts(train)).toEqual(new Array(10).fill(2000));
    expect(classCounts(test)).toEqual(new Array(10).fill(500));
    expect(pool.manifest.licence).toBe('MIT');
    expect(pool.manifest.citation).toMatch(/Xiao, Kashif Rasul, Roland Vollgraf.*arXiv:1708\.07747/);
  });

  it('keeps 28×28 raw pixels and ids naming the original IDX index, in file order', () => {
    expect(train.d).toBe(784);
    expect(train.pixels).toMatchObject({ width: 28, height: 28, channels: 1 });
    expect(train.pixels!.data.length).toBe(20_000 * 784);
    const nums = train.ids.map((id) => {
      expect(id).toMatch(/^train-\d{5}$/);
      return Number(id.slice(6));
    });
    for (let i = 1; i < nums.length; i++) expect(nums[i]).toBeGreaterThan(nums[i - 1]);
    expect(nums[nums.length - 1]).toBeLessThan(60_000);
    expect(test.ids.every((id) => /^test-\d{5}$/.test(id) && Number(id.slice(5)) < 10_000)).toBe(true);
    // Features are the pixels scaled to [0, 1]; images are not blank.
    let max = 0;
    for (let j = 0; j < 784; j++) {
      expect(train.features[j]).toBeCloseTo(train.pixels!.data[j] / 255, 6);
      max = Math.max(max, train.pixels!.data[j]);
    }
    expect(max).toBeGreaterThan(100);
  });

  it('marks test evaluator-only and refuses it to participant reads', async () => {
    expect(pool.manifest.files.find((f) => f.role === 'test')!.visibility).toBe('evaluator');
    await expect(readSplit(pool, 'test')).rejects.toThrow(/evaluator-only/);
  });
});

describe('german-credit', async () => {
  const pool = await openPool('german-credit');
  const train = await readSplit(pool, 'train');
  const test = await readHiddenSplit(pool, 'test');
  const all = { train, test };
  /** A row by id from whichever split holds it: groups, label, and a numeric feature value. */
  const row = (id: string) => {
    for (const s of Object.values(all)) {
      const i = index(s).get(id);
      if (i === undefined) continue;
      const f = (name: string) => s.features[i * s.d + s.featureNames.indexOf(name)];
      return {
        sex: s.groups.sex[i], age_band: s.groups.age_band[i], foreign_worker: s.groups.foreign_worker[i],
        label: s.classNames[s.labels[i]], age: f('age'), duration: f('duration'), credit_amount: f('credit_amount'),
        status: s.featureNames.filter((n) => n.startsWith('personal_status=') && s.features[i * s.d + s.featureNames.indexOf(n)] === 1),
      };
    }
    throw new Error(`id ${id} in neither split`);
  };

  it('holds all 1,000 rows: a stratified 30% test split of good/bad', () => {
    expect(train.n + test.n).toBe(1000);
    expect(test.n).toBe(300);
    expect(train.classNames).toEqual(['good', 'bad']);
    expect(classCounts(test)).toEqual([210, 90]);
    expect(classCounts(train)).toEqual([490, 210]);
    expect(new Set([...train.ids, ...test.ids]).size).toBe(1000);
  });

  it('derives sex, age band and foreign worker as the ARFF rows say (checked by hand)', () => {
    // Data rows 0, 1, 8, 9, 10, 11 and 22 of credit-g.arff, copied from the file:
    // 0: ... 'male single' ... age 67 ... foreign_worker yes, good; duration 6, amount 1169
    expect(row('row-000')).toMatchObject({ sex: 'male', age_band: '>=25', foreign_worker: 'yes', label: 'good', age: 67, duration: 6, credit_amount: 1169, status: ['personal_status=male single'] });
    // 1: 'female div/dep/mar', age 22, yes, bad
    expect(row('row-001')).toMatchObject({ sex: 'female', age_band: '<25', foreign_worker: 'yes', label: 'bad', age: 22, duration: 48 });
    // 8: 'male div/sep', 61 → male; 9: 'male mar/wid', 28 → male
    expect(row('row-008')).toMatchObject({ sex: 'male', age_band: '>=25', age: 61, label: 'good' });
    expect(row('row-009')).toMatchObject({ sex: 'male', age_band: '>=25', age: 28, label: 'bad' });
    // 10: female, age 25 exactly → '>=25'; 11: female, age 24 → '<25'
    expect(row('row-010')).toMatchObject({ sex: 'female', age_band: '>=25', age: 25 });
    expect(row('row-011')).toMatchObject({ sex: 'female', age_band: '<25', age: 24 });
    // 22: 'male single', 48, foreign_worker no
    expect(row('row-022')).toMatchObject({ sex: 'male', foreign_worker: 'no', age: 48 });
  });

  it('has the group totals of the data set and keeps derived groups out of the features', () => {
    const count = (g: string, v: string) => train.groups[g].filter((x) => x === v).length + test.groups[g].filter((x) => x === v).length;
    // 548 male single + 50 male div/sep + 92 male mar/wid; 310 female div/dep/mar.
    expect(count('sex', 'male')).toBe(690);
    expect(count('sex', 'female')).toBe(310);
    expect(count('age_band', '<25')).toBe(149);
    expect(count('foreign_worker', 'no')).toBe(37);
    expect(Object.keys(train.groups).sort()).toEqual(['age_band', 'foreign_worker', 'sex']);
    expect(train.featureNames).toContain('age');
    expect(train.featureNames.some((n) => n.startsWith('personal_status='))).toBe(true);
    expect(train.featureNames.some((n) => /^(sex|age_band|foreign_worker)\b/.test(n))).toBe(false);
    expect(pool.manifest.features.length).toBe(19);
    expect(pool.manifest.licence).toBe('CC BY 4.0');
  });
});

describe('fashion-debug', async () => {
  const pool = await openPool('fashion-debug');
  const fm = await openPool('fashion-mnist');
  const train = await readSplit(pool, 'train');
  const truth = (await readTruth(pool))!;
  const fmTrain = await readSplit(fm, 'train');

  it('has 1,000 train rows, 100 per clean class, 300 of them with a wrong label', () => {
    expect(train.n).toBe(1000);
    expect(train.classNames).toEqual(FASHION_CLASSES);
    expect(truth.ids).toEqual(train.ids);
    const clean = new Array(10).fill(0);
    let noisy = 0;
    for (let i = 0; i < train.n; i++) {
      clean[truth.cleanLabels[i]]++;
      expect(truth.noisy[i]).toBe(train.labels[i] !== truth.cleanLabels[i] ? 1 : 0);
      noisy += truth.noisy[i];
    }
    expect(clean).toEqual(new Array(10).fill(100));
    expect(noisy).toBe(300);
    expect(pool.manifest.datasheet.injected).toMatchObject({ rate: 0.3, rows_flipped: 300 });
  });

  it('takes each row, pixels and clean label, from the fashion-mnist train split', () => {
    const at = index(fmTrain);
    for (let i = 0; i < train.n; i++) {
      const j = at.get(train.ids[i]);
      expect(j).toBeDefined();
      expect(fmTrain.labels[j!]).toBe(truth.cleanLabels[i]);
      const a = train.pixels!.data.subarray(i * 784, (i + 1) * 784);
      const b = fmTrain.pixels!.data.subarray(j! * 784, (j! + 1) * 784);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    }
  });

  it('scores on the same 5,000 evaluator-only test rows as fashion-mnist', async () => {
    const test = await readHiddenSplit(pool, 'test');
    const fmTest = await readHiddenSplit(fm, 'test');
    expect(test.ids).toEqual(fmTest.ids);
    expect(Array.from(test.labels)).toEqual(Array.from(fmTest.labels));
    for (const f of pool.manifest.files) expect(f.visibility).toBe(f.role === 'train' ? 'participant' : 'evaluator');
  });
});

describe('fashion-relabel', async () => {
  const pool = await openPool('fashion-relabel');
  const fm = await openPool('fashion-mnist');
  const train = await readSplit(pool, 'train');
  const truth = (await readTruth(pool))!;
  const fmTrain = await readSplit(fm, 'train');

  it('has 2,000 train rows of fashion-mnist, 200 per clean class, 400 with a wrong label', () => {
    expect(train.n).toBe(2000);
    expect(truth.ids).toEqual(train.ids);
    const at = index(fmTrain);
    const clean = new Array(10).fill(0);
    let noisy = 0;
    for (let i = 0; i < train.n; i++) {
      const j = at.get(train.ids[i])!;
      expect(fmTrain.labels[j]).toBe(truth.cleanLabels[i]);
      expect(truth.noisy[i]).toBe(train.labels[i] !== truth.cleanLabels[i] ? 1 : 0);
      clean[truth.cleanLabels[i]]++;
      noisy += truth.noisy[i];
    }
    expect(clean).toEqual(new Array(10).fill(200));
    expect(noisy).toBe(400);
  });

  it('scores on 2,000 evaluator-only test rows drawn from fashion-mnist test', async () => {
    const test = await readHiddenSplit(pool, 'test');
    const fmIds = new Set((await readHiddenSplit(fm, 'test', { columns: [] })).ids);
    expect(test.n).toBe(2000);
    expect(test.ids.every((id) => fmIds.has(id))).toBe(true);
    for (const f of pool.manifest.files) expect(f.visibility).toBe(f.role === 'train' ? 'participant' : 'evaluator');
  });
});

describe('synth-teach', async () => {
  const pool: Pool = await openPool('synth-teach');
  const train = await readSplit(pool, 'train');
  const test = await readHiddenSplit(pool, 'test');
  const truth = (await readTruth(pool))!;

  it('has 4,000 / 1,000 rows, 16 dims, 4 imbalanced classes and a group column', () => {
    expect([train.n, test.n, train.d]).toEqual([4000, 1000, 16]);
    expect(train.classNames).toEqual(['c0', 'c1', 'c2', 'c3']);
    const counts = classCounts({ ...train, labels: truth.cleanLabels });
    expect(Math.max(...counts) / Math.min(...counts)).toBeCloseTo(4, 1);
    expect(new Set(train.groups.group)).toEqual(new Set(['a', 'b']));
  });

  it('has 20% label noise, three times as frequent in group b', () => {
    let n = 0;
    const rows = { a: 0, b: 0 }, bad = { a: 0, b: 0 };
    for (let i = 0; i < train.n; i++) {
      const g = train.groups.group[i] as 'a' | 'b';
      rows[g]++; bad[g] += truth.noisy[i]; n += truth.noisy[i];
    }
    expect(n).toBe(800);
    expect(bad.b / rows.b / (bad.a / rows.a)).toBeCloseTo(3, 1);
  });

  it('lists planted duplicates that really are duplicates, 30 of them leaking into test', () => {
    const pairs = truth.duplicatePairs!;
    expect(pairs.length).toBe(120);
    expect(pairs.filter((p) => p.crossSplit).length).toBe(30);
    const tr = index(train), te = index(test);
    for (const p of pairs) {
      const i = tr.get(p.a)!;
      const [s, j] = p.crossSplit ? [test, te.get(p.b)!] : [train, tr.get(p.b)!];
      let d2 = 0;
      for (let k = 0; k < 16; k++) d2 += (train.features[i * 16 + k] - s.features[j * 16 + k]) ** 2;
      if (p.kind === 'exact') expect(d2).toBe(0);
      else expect(Math.sqrt(d2)).toBeLessThan(0.5);
    }
  });
});

describe('spam-assassin', async () => {
  const pool = await openPool('spam-assassin');
  const train = await readSplit(pool, 'train');
  const test = await readHiddenSplit(pool, 'test');

  it('holds the 6,046 messages of the package, 25% stratified into test, with their collection', () => {
    expect(train.n + test.n).toBe(6046);
    expect(test.n).toBe(1512);
    expect(train.classNames).toEqual(['ham', 'spam']);
    expect([...classCounts(train), ...classCounts(test)]).toEqual([3112, 1422, 1038, 474]);
    expect(pool.manifest.source).toMatch(/@stdlib\/datasets-spam-assassin@0\.2\.3/);
    expect(new Set(train.groups.collection)).toEqual(new Set(['2002-10', '2003-02']));
    for (const id of [...train.ids, ...test.ids]) expect(id).toMatch(/^(easy-ham-[12]|hard-ham-1|spam-[12])\/\d{5}$/);
    // The label follows the package group; no headers but the subject are kept.
    for (let i = 0; i < train.n; i++) expect(train.classNames[train.labels[i]]).toBe(train.ids[i].startsWith('spam') ? 'spam' : 'ham');
    for (const t of train.text!.text) {
      expect(t.startsWith('Subject: ')).toBe(true);
      expect(t.length).toBeLessThanOrEqual(8000);
      expect(t.split('\n')[1]).toBe(''); // the subject line, a blank line, then the body: no header block
    }
  });

  it('reads as unit TF-IDF rows, test weighted by the train split\'s IDF', () => {
    expect(train.d).toBe(2048);
    expect(test.textFeatures?.blocks[0].idfDocuments).toBe(train.n);
    for (const s of [train, test])
      for (let i = 0; i < s.n; i += 97) expect(Math.hypot(...s.features.subarray(i * s.d, (i + 1) * s.d))).toBeCloseTo(1, 5);
  });

  it('datasheet counts the exact duplicates the corpus holds', () => {
    const all = [...train.text!.text, ...test.text!.text];
    const counts = new Map<string, number>();
    for (const t of all) counts.set(t, (counts.get(t) ?? 0) + 1);
    const extra = [...counts.values()].reduce((s, c) => s + c - 1, 0);
    expect(extra).toBeGreaterThan(50);
    expect(pool.manifest.datasheet.known_issues[0]).toContain(`(${extra} rows beyond the first of each group`);
  });
});
