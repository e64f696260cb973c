import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTruth } from '../src/pool/hidden.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { runBaseline } from '../src/evaluate/baselines.ts';
import { loadEvalContext, type EvalContext } from '../src/evaluate/context.ts';
import { publicView, type ResultRecord } from '../src/evaluate/record.ts';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { verifyRecord } from '../src/evaluate/verify.ts';
import { rescoreRecord } from '../src/evaluate/rescore.ts';
import { dataperfFractionFixes } from '../evaluator/protocols/ranking-rules.ts';
import { partitionTestRows } from '../src/evaluate/partition.ts';
import { SieveError } from '../src/util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything that must repeat exactly (system figures and the timestamp may not). */
function scores(r: ResultRecord) {
  return JSON.stringify({ metrics: r.metrics, private: r.private, curve: r.curve, subset: r.subset, primary: r.primary });
}

describe('public/private partition', () => {
  it('is stratified, seeded, disjoint and complete', () => {
    const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 4);
    const a = partitionTestRows(labels, 4, 0.5, 0);
    const b = partitionTestRows(labels, 4, 0.5, 0);
    const c = partitionTestRows(labels, 4, 0.5, 1);
    expect(Array.from(a.public)).toEqual(Array.from(b.public));
    expect(Array.from(a.public)).not.toEqual(Array.from(c.public));
    expect(a.public.length + a.private.length).toBe(1000);
    expect(new Set([...a.public, ...a.private]).size).toBe(1000);
    for (let k = 0; k < 4; k++) expect(Array.from(a.public).filter((i) => labels[i] === k).length).toBe(125);
    expect(partitionTestRows(labels, 4, 1, 0).private.length).toBe(0);
  });
});

describe('fashion-select: scoring, determinism, verify', () => {
  let ctx: EvalContext;
  let subPath: string;
  let ids: string[];
  let first: ResultRecord;
  beforeAll(async () => {
    ctx = await loadEvalContext('fashion-select');
    const train = await readSplit(await openPool('fashion-mnist'), 'train', { columns: [] });
    ids = train.ids.filter((_, i) => i % 20 === 3); // 1,000 ids spread over the pool
    subPath = join(dir, 'ids.csv');
    writeFileSync(subPath, 'id\n' + ids.join('\n') + '\n');
    first = await evaluateFile(ctx.challenge, subPath, { context: ctx });
  });

  it('records what was scored, with every metric summarised over the five seeds', () => {
    expect(first.format).toBe('sieve-result/1');
    expect(first.challenge).toMatchObject({ name: 'fashion-select', version: 1, task: 'selection', ref: 'fashion-select' });
    expect(first.pool.content_hash).toBe(ctx.pool.manifest.content_hash);
    expect(first.submission).toMatchObject({ format: 'csv', rows: 1000, path: subPath });
    expect(first.submission.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.evaluator.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(first.seeds).toEqual([0, 1, 2, 3, 4]);
    const acc = first.metrics.accuracy;
    expect(acc.per_seed).toHaveLength(5);
    expect(acc.mean).toBeGreaterThan(0.7);
    expect(acc.mean).toBeLessThan(0.9);
    expect(acc.ci95[0]).toBeLessThanOrEqual(acc.mean);
    expect(acc.ci95[1]).toBeGreaterThanOrEqual(acc.mean);
    expect(acc.ci95[1] - acc.ci95[0]).toBeGreaterThan(0.005); // 2,500 public rows: an interval of a few points
    expect(first.primary).toEqual({ name: 'accuracy', direction: 'max', mean: acc.mean });
    expect(first.test).toMatchObject({ rows: 5000, public_rows: 2500, private_rows: 2500 });
    expect(Object.keys(first.metrics)).toContain('f1[Coat]');
    expect(Object.values(first.subset.class_counts).reduce((a, b) => a + b, 0)).toBe(1000);
    expect(first.private!.metrics.accuracy.per_seed).toHaveLength(5);
    expect(first.private!.metrics.accuracy.mean).not.toBe(acc.mean);
    expect(first.system.cores).toBeGreaterThan(0);
    expect(first.system.duckdb).toMatch(/\d/);
  });

  it('gives bit-identical metrics when the same submission is scored again, and ignores id order', async () => {
    const again = await evaluateFile('fashion-select', subPath);
    expect(scores(again)).toBe(scores(first));
    const shuffled = join(dir, 'shuffled.json');
    writeFileSync(shuffled, JSON.stringify([...ids].reverse()));
    const rev = await evaluateFile(ctx.challenge, shuffled, { context: ctx });
    expect(JSON.stringify(rev.metrics)).toBe(JSON.stringify(first.metrics));
    expect(rev.submission.sha256).not.toBe(first.submission.sha256);
  });

  it('hides private scores while the challenge is open', () => {
    const view = publicView(first);
    expect(view.private).toEqual({ hidden: true, until: null });
    expect(publicView(first, { showPrivate: true }).private).toBe(first.private);
    const closed = { ...first, challenge: { ...first.challenge, closes: '2001-01-01' } };
    expect(publicView(closed).private).toBe(first.private);
  });

  it('verify confirms a record, lists tampered figures, and refuses a changed submission', async () => {
    const recPath = join(dir, 'result.json');
    writeFileSync(recPath, JSON.stringify(first, null, 2));
    const ok = await verifyRecord(recPath);
    expect(ok.differences).toEqual([]);
    expect(ok.ok).toBe(true);
    expect(ok.compared).toBeGreaterThan(100);

    const tampered = JSON.parse(readFileSync(recPath, 'utf8'));
    tampered.metrics.accuracy.per_seed[2] += 1e-12;
    const badRec = join(dir, 'tampered.json');
    writeFileSync(badRec, JSON.stringify(tampered));
    const bad = await verifyRecord(badRec);
    expect(bad.ok).toBe(false);
    expect(bad.differences.map((d) => d.path)).toEqual(['metrics.accuracy.per_seed[2]']);

    // The fields a citation names are compared too, not only the figures; timings and paths are not.
    const edits: [string, (r: Record<string, any>) => void][] = [
      ['challenge.name', (r) => { r.challenge.name = 'fashion-concept'; }],
      ['challenge.version', (r) => { r.challenge.version += 1; }],
      ['pool.name', (r) => { r.pool.name = 'other'; }],
      ['submission.rows', (r) => { r.submission.rows -= 1; }],
      ['fits[0].iterations', (r) => { r.fits[0].iterations += 1; }],
      ['invented', (r) => { r.invented = 1; }],
      // A record of this evaluator has its generalisation block (a file of ids': a note): removed, it differs.
      ...(first.generalisation ? [['generalisation', (r: Record<string, any>) => { delete r.generalisation; }] as [string, (r: Record<string, any>) => void]] : []),
    ];
    for (const [path, edit] of edits) {
      const t = JSON.parse(readFileSync(recPath, 'utf8'));
      edit(t);
      writeFileSync(badRec, JSON.stringify(t));
      expect((await verifyRecord(badRec)).differences.map((d) => d.path)).toEqual([path]);
    }
    expect(first.generalisation).toBeDefined();
    // A damaged field a re-run starts from is bad input, not a crash.
    const damaged = JSON.parse(readFileSync(recPath, 'utf8'));
    damaged.bootstrap.samples = 1.5;
    writeFileSync(badRec, JSON.stringify(damaged));
    await expect(verifyRecord(badRec)).rejects.toThrow(/^the result record is damaged: bootstrap\.samples is 1\.5, not an integer from 1 to 100,000/);
    const volatile = JSON.parse(readFileSync(recPath, 'utf8'));
    volatile.fits[0].seconds += 5; volatile.created_at = '2000-01-01T00:00:00Z'; volatile.system = {}; volatile.submission.path = '/elsewhere/ids.csv';
    writeFileSync(badRec, JSON.stringify(volatile));
    expect((await verifyRecord(badRec, { submission: first.submission.path })).ok).toBe(true);

    const moved = join(dir, 'changed.csv');
    writeFileSync(moved, 'id\n' + ids.slice(1).join('\n') + '\n');
    const err = await verifyRecord(recPath, { submission: moved }).catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect(err.message).toMatch(/submission file changed/);
  });

  it('rejects an invalid submission before training and writes nothing', async () => {
    const over = join(dir, 'over.txt');
    const train = await readSplit(await openPool('fashion-mnist'), 'train', { columns: [] });
    writeFileSync(over, train.ids.slice(0, 1001).join('\n'));
    const err = await evaluateFile(ctx.challenge, over, { context: ctx }).catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect(err.problem).toBe('over-budget');
  });

  it('random baseline: five draws within the budget, accuracy in the expected band', async () => {
    const r = await runBaseline(ctx, 'random', { bootstrapSamples: 200 });
    expect(r.rows).toBe(1000);
    expect(r.over_budget).toBe(false);
    const acc = r.metrics.accuracy;
    expect(acc.mean).toBeGreaterThan(0.7);
    expect(acc.mean).toBeLessThan(0.85);
    expect(new Set(acc.per_seed).size).toBeGreaterThan(1); // different draws, different scores
    const balanced = await runBaseline(ctx, 'class-balanced', { bootstrapSamples: 200 });
    expect(balanced.rows).toBe(1000);
  });
});

describe('credit-fair: group metrics', () => {
  it('reports worst-group accuracy and parity gaps by sex and age band, and group counts of the subset', async () => {
    const pool = await openPool('german-credit');
    const train = await readSplit(pool, 'train', { columns: ['sex'] });
    const path = join(dir, 'credit.txt');
    const chosen = train.ids.slice(0, 400);
    writeFileSync(path, chosen.join('\n'));
    const r = await evaluateFile('credit-fair', path);
    for (const name of ['worst_group_accuracy[sex]', 'worst_group_accuracy[age_band]', 'demographic_parity_gap[sex]', 'demographic_parity_gap[age_band]']) {
      expect(r.metrics[name], name).toBeDefined();
      expect(r.metrics[name].per_seed).toHaveLength(5);
    }
    expect(r.metrics['worst_group_accuracy[sex]'].mean).toBeLessThanOrEqual(r.metrics.accuracy.mean + 1e-12);
    const sexCounts = r.subset.group_counts.sex;
    expect(Object.values(sexCounts).reduce((a, b) => a + b, 0)).toBe(400);
    const expectedFemale = train.groups.sex.slice(0, 400).filter((v) => v === 'female').length;
    expect(sexCounts.female ?? 0).toBe(expectedFemale);
  });
});

describe('relabel on synth-teach: fixing planted errors helps', () => {
  it('true corrections beat no corrections; changed counts real label changes', async () => {
    const cdir = join(dir, 'relabel');
    mkdirSync(cdir);
    writeFileSync(join(cdir, 'challenge.yaml'), `
name: synth-relabel
version: 1
title: Relabel synth-teach
pool: synth-teach
task: relabel
budget: { corrections: 800 }
model: { kind: logistic-regression, params: { l2: 1.0, max_iter: 100 }, preprocess: { standardize: true }, seeds: [0] }
metrics: { primary: accuracy, direction: max, report: [macro_f1] }
test: { public_fraction: 0.5 }
bootstrap: { samples: 200 }
baselines: [no-corrections, random-corrections]
`);
    const ctx = await loadEvalContext(cdir);
    const truth = (await readTruth(ctx.pool))!;
    const clean = new Map(truth.ids.map((id, i) => [id, truth.cleanLabels[i]]));
    const rows: string[] = [];
    for (let i = 0; i < ctx.train.n && rows.length < 800; i++) {
      const c = clean.get(ctx.train.ids[i]);
      if (c !== undefined && c !== ctx.train.labels[i]) rows.push(`${ctx.train.ids[i]},${ctx.train.classNames[c]}`);
    }
    expect(rows.length).toBe(800);
    const path = join(cdir, 'fix.csv');
    writeFileSync(path, 'id,label\n' + rows.join('\n') + '\n');
    const fixed = await evaluateFile(ctx.challenge, path, { context: ctx });
    const none = await runBaseline(ctx, 'no-corrections');
    const random = await runBaseline(ctx, 'random-corrections');
    expect(fixed.subset.changed).toBe(800);
    // Relabel records re-score, intervals included, from the record alone.
    const stored = JSON.parse(JSON.stringify(fixed)) as ResultRecord;
    const rescored = rescoreRecord(stored);
    expect(rescored.differences).toEqual([]);
    expect(rescored.notes.join('\n')).toMatch(/intervals re-scored from the record's replays \(200 resamples/);
    stored.private!.metrics.macro_f1.ci95[0] += 0.001;
    expect(rescoreRecord(stored).differences.map((d) => d.path)).toEqual(['private.metrics.macro_f1.ci95[0]']);
    expect(fixed.metrics.accuracy.mean).toBeGreaterThan(none.metrics.accuracy.mean);
    expect(none.metrics.accuracy.mean).toBeGreaterThan(random.metrics.accuracy.mean);
    expect(random.rows).toBe(800);
  });
});

describe('ranking on fashion-debug', () => {
  it('noisy-rows-first beats a random order; the curve reaches every planted error', async () => {
    // The built-in challenge retrains after every fix; a grid of every 20th fix keeps this test
    // short while exercising the same protocol (bench/debug-curve times the full curve).
    const cdir = join(dir, 'debug');
    mkdirSync(cdir);
    const spec = readFileSync(join(import.meta.dirname, '..', 'challenges', 'fashion-debug', 'challenge.yaml'), 'utf8')
      .replace('name: fashion-debug', 'name: fashion-debug-coarse')
      .replace('  step: 1', '  step: 20')
      .replace('dataperf_fraction_fixes, ', ''); // DataPerf's figure needs a refit after every fix
    expect(spec).toContain('step: 20');
    writeFileSync(join(cdir, 'challenge.yaml'), spec);
    const ctx = await loadEvalContext(cdir);
    const noisyFirst = [...ctx.train.ids.keys()].sort((a, b) => {
      const na = ctx.cleanLabels![a] !== ctx.train.labels[a] ? 0 : 1;
      const nb = ctx.cleanLabels![b] !== ctx.train.labels[b] ? 0 : 1;
      return na - nb || a - b;
    });
    const path = join(dir, 'ranking.txt');
    writeFileSync(path, noisyFirst.map((i) => ctx.train.ids[i]).join('\n'));
    const r = await evaluateFile(ctx.challenge, path, { context: ctx, bootstrapSamples: 200 });
    const random = await runBaseline(ctx, 'random-order', { bootstrapSamples: 200 });
    expect(r.ranking!.noisy_rows).toBe(300);
    expect(r.ranking!.noisy_fixed).toBe(300);
    expect(r.curve!.k).toHaveLength(51);
    expect(r.curve!.k[50]).toBe(1000);
    expect(r.metrics.auc.mean).toBeGreaterThan(random.metrics.auc.mean);
    expect(r.metrics.fraction_to_95.mean).toBeLessThan(random.metrics.fraction_to_95.mean);
    expect(r.metrics.fraction_to_95.mean).toBeLessThanOrEqual(0.3);
    expect(r.metrics.final_accuracy.mean).toBe(r.metrics.clean_accuracy.mean);
    const again = await evaluateFile(ctx.challenge, path, { context: ctx, bootstrapSamples: 200 });
    expect(scores(again)).toBe(scores(r));
  });
});

describe('fashion-debug, a 60-row prefix: both scoring rules, curves per part, re-scoring', () => {
  it('the DataPerf figure is the official rule applied to the recorded curve; the record re-scores to what it shows', async () => {
    const ctx = await loadEvalContext('fashion-debug');
    const noisyFirst = [...ctx.train.ids.keys()].sort((a, b) => {
      const na = ctx.cleanLabels![a] !== ctx.train.labels[a] ? 0 : 1;
      const nb = ctx.cleanLabels![b] !== ctx.train.labels[b] ? 0 : 1;
      return na - nb || a - b;
    });
    const path = join(dir, 'prefix.txt');
    writeFileSync(path, noisyFirst.slice(0, 60).map((i) => ctx.train.ids[i]).join('\n'));
    const r = JSON.parse(JSON.stringify(await evaluateFile(ctx.challenge, path, { context: ctx, bootstrapSamples: 50 }))) as ResultRecord;
    const n = r.ranking!.pool_rows;
    expect(r.curve!.k).toHaveLength(61);
    for (const [part, where] of [['public', r.metrics], ['private', r.private!.metrics], ['all', r.private!.all_metrics]] as const) {
      const c = r.curve!.parts[part][0];
      expect(c.rows).toBe(part === 'public' ? r.test.public_rows : part === 'private' ? r.test.private_rows : r.test.rows);
      // The official curve: one accuracy per fix 1..n, fixes past the prefix change nothing.
      const official = Array.from({ length: n }, (_, i) => c.correct[Math.min(i + 1, 60)] / c.rows);
      expect(where.dataperf_fraction_fixes.mean).toBe(dataperfFractionFixes(official));
      // The loophole: a prefix of K rows scores at most K / n under DataPerf's moving target.
      expect(where.dataperf_fraction_fixes.mean).toBeLessThanOrEqual(60 / n);
    }
    expect(r.curve!.accuracy[60]).toBe(r.curve!.parts.all[0].correct[60] / r.test.rows);

    const ok = rescoreRecord(r);
    expect(ok.differences).toEqual([]);
    expect(ok.compared).toBeGreaterThan(100);
    const tampered = structuredClone(r);
    tampered.curve!.parts.public[0].correct[0] -= 1;
    const bad = rescoreRecord(tampered);
    expect(bad.ok).toBe(false);
    expect(bad.differences.map((d) => d.path)).toContain('metrics.noisy_accuracy.mean');
    // The public replay no longer gives the tampered count back, and says where.
    expect(bad.differences.map((d) => d.path)).toContain('curve.parts.public[0] (from the replay).correct[0]');
    expect(bad.differences.every((d) => d.path.startsWith('metrics.') || d.path === 'primary.mean' || d.path.startsWith('curve.parts.public[0]'))).toBe(true);

    // Intervals re-score from the replays too, the all-rows ones interleaved from both parts.
    expect(ok.notes).toContain("18 intervals re-scored from the record's replays (50 resamples, seed 0)");
    const moved = structuredClone(r);
    moved.private!.all_metrics.auc.ci95[0] -= 1e-6;
    expect(rescoreRecord(moved).differences).toEqual([
      { path: 'private.all_metrics.auc.ci95[0]', recorded: r.private!.all_metrics.auc.ci95[0] - 1e-6, rerun: r.private!.all_metrics.auc.ci95[0] },
    ]);
    // A replay whose flips were edited changes counts and intervals, each named.
    const flipped = structuredClone(r);
    const set = flipped.replay!.kind === 'curve' ? flipped.replay!.sets[0] : null;
    set!.correct0 = set!.correct0.replace(/^bits:./, (m) => (m.endsWith('A') ? 'bits:B' : 'bits:A'));
    const flippedPaths = rescoreRecord(flipped).differences.map((d) => d.path);
    expect(flippedPaths).toContain('curve.parts.public[0] (from the replay).correct[0]');
  });
});

describe('fashion-concept: a one_vs_rest view of fashion-mnist under DataPerf selection rules', () => {
  it('scores Shirt against the rest by the positive class F1, and re-scores from its counts', async () => {
    const ctx = await loadEvalContext('fashion-concept');
    expect(ctx.poolInput.k).toBe(2);
    expect(ctx.train.classNames).toEqual(['other', 'Shirt']);
    expect(ctx.positiveClass).toBe(1);
    const pool = await readSplit(await openPool('fashion-mnist'), 'train', { columns: [] });
    const shirt = pool.classNames.indexOf('Shirt');
    for (let i = 0; i < pool.n; i++) expect(ctx.train.labels[i]).toBe(pool.labels[i] === shirt ? 1 : 0);
    const path = join(dir, 'concept.csv');
    writeFileSync(path, 'id\n' + ctx.train.ids.filter((_, i) => i % 50 === 7).join('\n') + '\n');
    const r = JSON.parse(JSON.stringify(await evaluateFile(ctx.challenge, path, { context: ctx, bootstrapSamples: 20 }))) as ResultRecord;
    expect(r.challenge.rules).toBe('dataperf');
    expect(r.primary.name).toBe('f1[Shirt]');
    expect(r.primary.mean).toBe(r.metrics['f1[Shirt]'].mean);
    expect(Object.keys(r.subset.class_counts)).toEqual(['other', 'Shirt']);
    expect(r.subset.class_counts.other + r.subset.class_counts.Shirt).toBe(400);
    expect(r.metrics['f1[Shirt]'].mean).toBeGreaterThan(0.2);
    expect(rescoreRecord(r).differences).toEqual([]);
  });
});
