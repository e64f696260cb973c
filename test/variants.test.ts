/**
 * Hidden variant pools and the generalisation score (src/evaluate/variants.ts): built
 * deterministically into a private cache, different from the public pool, refused to every
 * participant read, and a strategy scored on them reports per-variant scores with an interval
 * that holds their mean.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../compute/rng.ts';
import { studentTInterval, studentTQuantile } from '../compute/stats.ts';
import { loadChallenge } from '../src/challenge/load.ts';
import { METRIC_FAMILIES, METRIC_RANGES, type Challenge } from '../src/challenge/schema.ts';
import { loadEvalContext } from '../src/evaluate/context.ts';
import { confidentCorrections } from '../src/evaluate/baselines.ts';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { rescoreRecord } from '../src/evaluate/rescore.ts';
import {
  clipToRange, ensureVariants, GENERALISATION_INTERVAL, loadVariants, produceWithStrategy, strategyGeneralisation, strategyInputOf, summariseGeneralisation, type LoadedVariant,
  type ProduceSubmission, VARIANT_ERROR_CHARS,
} from '../src/evaluate/variants.ts';
import { assertParticipantSource } from '../src/pool/guard.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { SieveError } from '../src/util/errors.ts';

let cache: string;
const before = process.env.SIEVE_CACHE;
beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), 'sieve-variants-'));
  process.env.SIEVE_CACHE = cache;
});
afterAll(() => {
  if (before === undefined) delete process.env.SIEVE_CACHE;
  else process.env.SIEVE_CACHE = before;
  rmSync(cache, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<SieveError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(SieveError);
  return err as SieveError;
}

describe('synth-teach variants', () => {
  let challenge: Challenge;
  let loaded: LoadedVariant[];

  it('are built deterministically: the pinned hashes, twice, the second time from the cache', async () => {
    challenge = await loadChallenge('synth-teach');
    const labels: string[] = [];
    const recording = { start: (_n: number, label?: string) => void labels.push(label ?? ''), tick() {}, stop() {} };
    const first = await ensureVariants(challenge, { progress: recording });
    expect(first.map((v) => v.built)).toEqual([true, true, true]);
    // The progress says what is being built and that it is a one-time cost.
    expect(labels.some((l) => l.startsWith('hidden variant 1/3 (built once, then cached): writing'))).toBe(true);
    expect(labels.some((l) => l.startsWith('hidden variant 3/3 (built once, then cached)'))).toBe(true);
    expect(first.map((v) => v.contentHash)).toEqual(challenge.variants!.pools.map((p) => p.content_hash));
    const again = await ensureVariants(challenge);
    expect(again.map((v) => v.built)).toEqual([false, false, false]);
    expect(again.map((v) => v.contentHash)).toEqual(first.map((v) => v.contentHash));
    loaded = await loadVariants(challenge);
  });

  it('differ from the public pool and from each other', async () => {
    const pub = await openPool('synth-teach');
    const hashes = new Set([pub.manifest.content_hash, ...loaded.map((l) => l.variant.contentHash)]);
    expect(hashes.size).toBe(4);
    const pubTrain = await readSplit(pub, 'train');
    for (const { ctx } of loaded) {
      expect(ctx.train.n).toBe(pubTrain.n);
      expect(Buffer.from(ctx.train.features.buffer).equals(Buffer.from(pubTrain.features.buffer))).toBe(false);
      // Fresh ids: none of the public pool's (a memorised public list scored on every variant).
      const pubIds = new Set(pubTrain.ids);
      expect(ctx.train.ids.filter((id) => pubIds.has(id))).toEqual([]);
      expect(ctx.train.ids[0]).toMatch(/^v\d+-train-\d{5}$/);
      expect(ctx.pool.manifest.variant).toMatchObject({ recipe: 'synth-teach', source: null });
      for (const f of ctx.pool.manifest.files) expect(f.visibility).toBe('evaluator');
    }
  });

  it('are refused to participant reads: by the reader, by path, and as a copy', async () => {
    const v = loaded[0].variant.pool;
    expect((await refusal(readSplit(v, 'train'))).message).toMatch(/evaluator-only/);
    const trainFile = strategyInputOf(loaded[0].ctx, loaded[0].variant).trainFile;
    expect((await refusal(assertParticipantSource(trainFile))).message).toMatch(/evaluator-only/);
    const copy = join(mkdtempSync(join(tmpdir(), 'sieve-copy-')), 'train.parquet');
    copyFileSync(trainFile, copy);
    const err = await refusal(assertParticipantSource(copy));
    expect(err.message).toMatch(/hidden variant/);
    expect(err.exitCode).toBe(3);
  });

  it('rebuild a damaged cache entry and refuse a build that differs from the pinned hash', async () => {
    const v = loaded[1].variant.pool;
    const truthFile = join(v.dir, 'truth.parquet');
    const bytes = readFileSync(truthFile);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(truthFile, bytes);
    const rebuilt = await ensureVariants(challenge);
    expect(rebuilt.map((r) => r.built)).toEqual([false, true, false]);
    expect(rebuilt[1].contentHash).toBe(loaded[1].variant.contentHash);
    const pinnedWrong: Challenge = {
      ...challenge,
      variants: { recipe: 'synth-teach', pools: [{ seed: 1, content_hash: '0'.repeat(64) }] },
    };
    expect((await refusal(ensureVariants(pinnedWrong))).message).toMatch(/the challenge pins 0{64}/);
    // The command that shows the hashes to pin builds them even where the pins differ.
    const shown = await ensureVariants(pinnedWrong, { checkPins: false });
    expect(shown.map((r) => r.contentHash)).toEqual([loaded[0].variant.contentHash]);
  });

  it("are refused when the challenge's pool has features the recipe does not build (an embedded copy, say): the gap would compare two feature sets", async () => {
    const err = await refusal(ensureVariants({ ...challenge, poolRef: 'german-credit' }));
    expect(err.message).toMatch(/^variant seed 1 of synth-teach does not have the features of the challenge's pool german-credit: the variant lacks "checking_status", /);
    expect(err.examples?.at(-1)).toMatch(/^remove `variants:` from the challenge\.yaml/);
  });

  it('score a strategy per variant, with a t interval holding the mean and the gap to the public score', async () => {
    // A readable rule: the first 1,000 rows of each class-sorted pool, i.e. a class-balanced-ish pick.
    const produce: ProduceSubmission = async ({ train, rules }) => {
      const order = Array.from({ length: train.n }, (_, i) => i).sort((a, b) => train.labels[a] - train.labels[b] || a - b);
      const step = train.n / rules.budget!;
      return { task: 'selection', indices: Int32Array.from({ length: rules.budget! }, (_, j) => order[Math.floor(j * step)]) };
    };
    const seen: (number | null)[] = [];
    const g = (await strategyGeneralisation(challenge, produce, 0.8, { loaded, bootstrapSamples: 50, onVariant: (s) => seen.push(s.seed) }))!;
    expect(seen).toEqual([1, 2, 3]);
    expect(g.variants.map((v) => v.content_hash)).toEqual(loaded.map((l) => l.variant.contentHash));
    const scores = g.variants.map((v) => v.primary!);
    for (const s of scores) expect(s).toBeGreaterThan(0.5);
    expect(g.n).toBe(3);
    expect(g.mean).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / 3, 12);
    expect(g.ci95![0]).toBeLessThanOrEqual(g.mean!);
    expect(g.ci95![1]).toBeGreaterThanOrEqual(g.mean!);
    expect(g.ci95![1] - g.ci95![0]).toBeGreaterThan(0);
    expect(g.gap).toBeCloseTo(0.8 - g.mean!, 12);
    expect(g.interval).toMatch(/Student t/);
    // Same strategy, same variants: bit-identical scores.
    const again = (await strategyGeneralisation(challenge, produce, 0.8, { loaded, bootstrapSamples: 50 }))!;
    expect(again.variants.map((v) => v.primary)).toEqual(scores);
  });

  it('re-run an SQL strategy (with findings) on each variant, reading the train split it is granted and nothing else', async () => {
    const sql = join(cache, 'keep-clean.sql');
    writeFileSync(sql, `-- the 1,000 most self-confident rows the audit does not flag
SELECT p.id FROM pool p JOIN findings f USING (id)
WHERE NOT f.label_issue AND NOT f.duplicate_redundant
ORDER BY f.self_confidence DESC, p.id LIMIT 1000
`);
    const g = (await strategyGeneralisation(challenge, produceWithStrategy(challenge, sql), 0.85, { loaded, bootstrapSamples: 20 }))!;
    expect(g.variants.map((v) => v.error ?? null)).toEqual([null, null, null]);
    expect(g.n).toBe(3);
    expect(g.ci95![0]).toBeLessThanOrEqual(g.mean!);
    expect(g.ci95![1]).toBeGreaterThanOrEqual(g.mean!);
    // The grant is for that one pool object: the same directory opened again stays refused.
    const reopened = await openPool(loaded[0].variant.pool.dir);
    expect((await refusal(readSplit(reopened, 'train'))).message).toMatch(/evaluator-only/);
    const escape = join(cache, 'escape.sql');
    writeFileSync(escape, `SELECT id FROM read_parquet('${join(loaded[0].variant.pool.dir, 'truth.parquet')}')`);
    const e = (await strategyGeneralisation(challenge, produceWithStrategy(challenge, escape), 0.85, { loaded, bootstrapSamples: 20 }))!;
    expect(e.mean).toBeNull();
    for (const v of e.variants) expect(v.error).toBeTruthy();
  });

  it('give no generalisation score to a strategy that fails on a variant, and say why', async () => {
    const produce: ProduceSubmission = async ({ variant }) => {
      if (variant?.seed === 2) throw new SieveError('strategy gave up', { where: 'test' });
      return { task: 'selection', indices: Int32Array.from({ length: 100 }, (_, i) => i) };
    };
    const g = (await strategyGeneralisation(challenge, produce, 0.8, { loaded, bootstrapSamples: 20 }))!;
    expect(g.variants[1]).toMatchObject({ seed: 2, primary: null, error: 'strategy gave up' });
    expect(g.mean).toBeNull();
    expect(g.note).toMatch(/1 of 3 variant\(s\) failed/);
    // A strategy that throws its variant's rows back keeps one short line of it in the record.
    const leaky: ProduceSubmission = async ({ variant }) => {
      if (variant) throw new SieveError(`rows ${'7,'.repeat(50_000)}\nlabels ${'a'.repeat(1000)}`, { where: 'test' });
      return { task: 'selection', indices: Int32Array.from({ length: 100 }, (_, i) => i) };
    };
    const cut = (await strategyGeneralisation(challenge, leaky, 0.8, { loaded, bootstrapSamples: 20 }))!;
    for (const v of cut.variants) {
      expect(v.error!.length).toBeLessThanOrEqual(VARIANT_ERROR_CHARS);
      expect(v.error).toMatch(/^rows 7,7,.*…$/);
      expect(v.error).not.toContain('labels');
    }
  });

  it('a file submission is not re-run, and its record says so', async () => {
    const ctx = await loadEvalContext(challenge);
    const ids = join(cache, 'ids.txt');
    writeFileSync(ids, ctx.train.ids.slice(0, 200).join('\n') + '\n');
    const record = await evaluateFile(challenge, ids, { context: ctx, bootstrapSamples: 20 });
    expect(record.generalisation).toEqual({ note: expect.stringMatching(/cannot be re-run on the challenge's 3 hidden variants/) });
  });

  it('sieve evaluate re-runs a strategy on every variant: per-variant scores in the record, the same on a second run', async () => {
    const sql = join(cache, 'first-200.sql');
    writeFileSync(sql, 'SELECT id FROM pool ORDER BY hash(id), id LIMIT 200\n');
    const record = await evaluateFile(challenge, sql, { bootstrapSamples: 20 });
    const g = record.generalisation;
    expect(g && 'variants' in g).toBe(true);
    if (!g || !('variants' in g)) return;
    expect(g.variants.map((v) => v.content_hash)).toEqual(challenge.variants!.pools.map((p) => p.content_hash));
    expect(g.variants.every((v) => typeof v.primary === 'number')).toBe(true);
    expect(g.ci95![0]).toBeLessThanOrEqual(g.mean!);
    expect(g.ci95![1]).toBeGreaterThanOrEqual(g.mean!);
    const again = await evaluateFile(challenge, sql, { bootstrapSamples: 20 });
    const a = again.generalisation as typeof g;
    expect(a.variants.map((v) => v.primary)).toEqual(g.variants.map((v) => v.primary));
    // --rescore recomputes the summary from the record's variant scores: an edit of either shows.
    const ok = rescoreRecord(JSON.parse(JSON.stringify(record)));
    expect(ok.differences).toEqual([]);
    expect(ok.notes.join('\n')).toMatch(/generalisation: its mean, interval and gap re-computed from the 3 recorded variant scores/);
    const edited = JSON.parse(JSON.stringify(record));
    edited.generalisation.mean = 0.85;
    expect(rescoreRecord(edited).differences.map((d) => d.path)).toEqual(['generalisation.mean']);
    const score = JSON.parse(JSON.stringify(record));
    score.generalisation.variants[0].primary = 0.9;
    expect(rescoreRecord(score).differences.map((d) => d.path)).toEqual(expect.arrayContaining(['generalisation.mean', 'generalisation.gap']));
  });
});

describe('fashion variants', () => {
  it('fashion-debug: the pinned hash, fresh ids, another noise draw over the same test images', async () => {
    const challenge = await loadChallenge('fashion-debug');
    const one: Challenge = { ...challenge, variants: { ...challenge.variants!, pools: challenge.variants!.pools.slice(0, 1) } };
    const [v] = await ensureVariants(one);
    expect(v.contentHash).toBe(challenge.variants!.pools[0].content_hash);
    const { ctx } = (await loadVariants(one))[0];
    expect(ctx.train.n).toBe(1000);
    expect(ctx.train.ids[0]).toBe('row-00000');
    const pub = await loadEvalContext(challenge);
    expect(ctx.test.ids).toEqual(pub.test.ids);
    let noisy = 0;
    for (let i = 0; i < ctx.train.n; i++) noisy += ctx.cleanLabels![i] !== ctx.train.labels[i] ? 1 : 0;
    expect(noisy).toBe(300);
  });
});

describe('generalisation statistics', () => {
  it("Student t quantiles match the tables and the interval holds its mean", () => {
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.302653, 5);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776445, 5);
    expect(studentTQuantile(0.025, 10)).toBeCloseTo(-2.228139, 5);
    const t = studentTInterval([0.8, 0.82, 0.81]);
    expect(t.mean).toBeCloseTo(0.81, 12);
    expect(t.high! - t.mean).toBeCloseTo((4.302653 * 0.01) / Math.sqrt(3), 5);
  });

  const summarise = (primary: string, values: number[], direction: 'max' | 'min' = 'max') => summariseGeneralisation(
    { metrics: { primary, direction, rules: 'sieve', report: [] }, variants: { recipe: 'x', pools: values.map((_, i) => ({ seed: i + 1 })) } },
    values.map((v, i) => ({ seed: i + 1, content_hash: `h${i}`, primary: v, seconds: 0 })),
    null,
  );

  it("the interval is clipped to the metric's range: never past 1 for accuracy or below 0 for a fraction, unclipped where the range is open", () => {
    // Three accuracies near 1: the raw t interval (t = 4.30) reaches past 1.
    const raw = studentTInterval([0.99, 1, 0.97]);
    expect(raw.high!).toBeGreaterThan(1);
    const acc = summarise('accuracy', [0.99, 1, 0.97]);
    expect(acc.ci95).toEqual([raw.low, 1]);
    expect(acc.mean).toBeCloseTo(0.9866666666666667, 12);
    expect(acc.interval).toBe(GENERALISATION_INTERVAL);
    expect(acc.interval).toMatch(/clipped to the metric's range/);
    // A fraction near 0 (lower is better): the raw interval goes below 0, the clipped one starts at 0.
    const frac = summarise('fraction_to_95', [0, 0.02, 0.01], 'min');
    expect(studentTInterval([0, 0.02, 0.01]).low!).toBeLessThan(0);
    expect(frac.ci95![0]).toBe(0);
    expect(frac.ci95![1]).toBe(studentTInterval([0, 0.02, 0.01]).high);
    // A per-class F1 near 0 and near 1 at once (wide spread): clipped at both ends.
    expect(summarise('f1[Shirt]', [0.02, 0.98, 0.5]).ci95).toEqual([0, 1]);
    // The ranking auc (accuracy / clean accuracy) can pass 1: its interval is not cut at 1.
    const auc = summarise('auc', [1.02, 1.05, 0.99]);
    expect(auc.ci95).toEqual([studentTInterval([1.02, 1.05, 0.99]).low, studentTInterval([1.02, 1.05, 0.99]).high]);
    expect(auc.ci95![1]).toBeGreaterThan(1.05);
    // Log loss has no upper bound either, but never goes below 0.
    const ll = summarise('log_loss', [0.01, 0.3, 0.05], 'min');
    expect(ll.ci95![0]).toBe(0);
    expect(ll.ci95![1]).toBe(studentTInterval([0.01, 0.3, 0.05]).high);
  });

  it('every interval lies in its metric\'s range and contains its estimate, for every family, 3–5 variants, scores anywhere in the range', () => {
    expect(Object.keys(METRIC_RANGES).sort()).toEqual([...METRIC_FAMILIES].sort());
    const rng = createRng(20261202);
    let clipped = 0;
    for (const family of METRIC_FAMILIES) {
      const [lo, hi] = METRIC_RANGES[family];
      const top = Number.isFinite(hi) ? hi : 3;
      for (let trial = 0; trial < 200; trial++) {
        const n = 3 + (trial % 3);
        // Half the trials crowd the scores at one end of the range, where the raw interval spills over.
        const edge = trial % 4 === 0 ? lo : trial % 4 === 1 ? top : null;
        const values = Array.from({ length: n }, () => {
          const u = rng.uniform() * (top - lo);
          return edge === null ? lo + u : edge === lo ? lo + u * 0.05 : top - u * 0.05;
        });
        const g = summarise(family === 'f1' ? 'f1[Coat]' : family, values);
        const [low, high] = g.ci95!;
        expect(low).toBeLessThanOrEqual(g.mean!);
        expect(high).toBeGreaterThanOrEqual(g.mean!);
        expect(low).toBeGreaterThanOrEqual(lo);
        expect(high).toBeLessThanOrEqual(hi);
        const raw = studentTInterval(values);
        if (raw.low! < lo || raw.high! > hi) clipped++;
        else expect([low, high]).toEqual([raw.low, raw.high]);
      }
    }
    expect(clipped).toBeGreaterThan(100);
  });

  it('a mean outside its metric\'s range is refused, not clipped out of sight', () => {
    expect(() => summarise('accuracy', [1.2, 1.1, 1.3])).toThrow(/the mean accuracy over variants, 1.2, is outside the metric's range \[0, 1\]/);
    expect(() => clipToRange(-0.1, -0.2, 0, [0, 1], 'ece')).toThrow(/outside the metric's range/);
    expect(clipToRange(0.5, 0.4, 0.6, [0, 1], 'accuracy')).toEqual([0.4, 0.6]);
  });

  it('one variant: a mean, no interval, and a note', () => {
    const g = summariseGeneralisation(
      { metrics: { primary: 'accuracy', direction: 'max', rules: 'sieve', report: [] }, variants: { recipe: 'x', pools: [{ seed: 1 }] } },
      [{ seed: 1, content_hash: 'h', primary: 0.7, seconds: 0 }],
      0.75,
    );
    expect(g).toMatchObject({ n: 1, mean: 0.7, ci95: null });
    expect(g.gap).toBeCloseTo(0.05, 12);
    expect(g.note).toMatch(/no interval/);
  });
});

describe('confident-learning corrections (the relabel baseline)', () => {
  it('relabels the flagged rows, least confident first, to the most probable class, within the budget', () => {
    // 6 rows, 2 classes; rows 1 and 4 look mislabelled, row 4 more so.
    const y = Int32Array.from([0, 0, 0, 1, 1, 1]);
    const proba = Float32Array.from([0.9, 0.1, 0.3, 0.7, 0.8, 0.2, 0.1, 0.9, 0.95, 0.05, 0.2, 0.8]);
    expect(confidentCorrections(proba, y, 2, 5)).toEqual({ rows: Int32Array.from([4, 1]), labels: Int32Array.from([0, 1]) });
    expect(confidentCorrections(proba, y, 2, 1)).toEqual({ rows: Int32Array.from([4]), labels: Int32Array.from([0]) });
  });
});
