/**
 * `sieve audit` end to end on generated pools with known ground truth (planted label noise,
 * duplicates, cross-split leakage), through the library and through the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { generateSynthPool, synthDraft } from '../src/pool/synth.ts';
import { writePool } from '../src/pool/write.ts';
import { openPool } from '../src/pool/read.ts';
import { readTruth } from '../src/pool/hidden.ts';
import { analysers } from '../src/analysers/registry.ts';
import { computeOosPredictions, defaultOosModel } from '../src/analysers/oos.ts';
import { runAudit, selectAnalysers } from '../src/analysers/audit.ts';
import { createAuditContext, subsetContext, type OosComputer } from '../src/analysers/context.ts';
import { auditPoolInfo, readAuditSplits, readSubsetIndices, resolveAuditTarget } from '../src/audit/target.ts';
import type { Progress } from '../src/util/progress.ts';

const ROOT = resolve(import.meta.dirname, '..');
const execFileP = promisify(execFile);
const quiet: Progress = { start() {}, tick() {}, stop() {} };

async function sieve(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], {
      cwd, env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function rowsOf(path: string, sql: string) {
  const inst = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

const SYNTH = { rows: 1500, dim: 16, classes: 4, separation: 3, noise: 0.1, exactDups: 6, nearDups: 6, crossSplitFraction: 0.5, seed: 3 };

describe('sieve audit', () => {
  let dir: string;
  let hidden: string; // test split evaluator-only (a challenge-style pool)
  let visible: string; // test split participant-visible (an auditor's own data)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sieve-audit-'));
    hidden = join(dir, 'hidden-pool');
    visible = join(dir, 'visible-pool');
    await writePool(hidden, synthDraft(generateSynthPool({ ...SYNTH, name: 'hidden' })));
    await writePool(visible, { ...synthDraft(generateSynthPool({ ...SYNTH, name: 'visible' })), testVisibility: 'participant' });
  });
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  it('computes out-of-sample predictions once and shares them with the subset audit', async () => {
    const target = await resolveAuditTarget(hidden);
    const splits = await readAuditSplits(target.pool);
    let calls = 0;
    const counting: OosComputer = (split, o) => { calls++; return computeOosPredictions(split, o); };
    const model = defaultOosModel('logistic-regression', 'embedding', 0);
    const ctx = createAuditContext({ poolName: 'hidden', train: splits.train, model, folds: 5, seed: 0, progress: quiet, computeOos: counting });
    const selected = selectAnalysers(analysers, ['label-errors', 'fairness', 'class-imbalance']);
    const pool = auditPoolInfo(target, splits);
    const whole = await runAudit(ctx, { analysers: selected, pool, folds: 5 });
    const rows = Int32Array.from({ length: 300 }, (_, i) => i * 3);
    const sub = await runAudit(subsetContext(ctx, rows), { analysers: selected, pool, folds: 5, scope: 'subset', subset: { file: 'x', rows: 300 } });
    expect(calls).toBe(1);
    expect(whole.results.map((r) => r.name)).toEqual(['class-imbalance', 'label-errors', 'fairness']);
    // The subset's out-of-sample probabilities are the pool's, row for row (the neighbour blend is the subset's own).
    const pGiven = (r: typeof whole, id: string) => r.results.find((x) => x.name === 'label-errors')!.findings.find((f) => f.id === id)!.detail.p_model_given;
    for (const i of [0, 3, 297, 897]) expect(pGiven(sub, splits.train.ids[i])).toBe(pGiven(whole, splits.train.ids[i]));
    expect(sub.rows).toBe(300);
    expect(sub.results.find((r) => r.name === 'label-errors')!.findings).toHaveLength(300);

    // Confident learning on the pool finds most of the planted noise: the audit passes the truth through intact.
    const truth = (await readTruth(await openPool(hidden)))!;
    const noisy = new Set(truth.ids.filter((_, i) => truth.noisy[i] === 1));
    const flagged = whole.results.find((r) => r.name === 'label-errors')!.findings.filter((f) => f.flagged).map((f) => f.id);
    const hits = flagged.filter((id) => noisy.has(id)).length;
    expect(hits / noisy.size).toBeGreaterThan(0.6);
    expect(hits / flagged.length).toBeGreaterThan(0.6);
  });

  it('reads the test split only when it is participant-visible or with --organiser', async () => {
    const h = await resolveAuditTarget(hidden);
    const plain = await readAuditSplits(h.pool);
    expect(plain.test).toBeUndefined();
    expect(plain.testNote).toMatch(/evaluator-only.*--organiser/);
    const organiser = await readAuditSplits(h.pool, { organiser: true });
    expect(organiser.test?.n).toBe(300);
    const v = await readAuditSplits((await resolveAuditTarget(visible)).pool);
    expect(v.test?.n).toBe(300);
    expect(v.testNote).toBeUndefined();
  });

  it('writes JSON and a DuckDB file that agree, finds planted leakage with --organiser, and is deterministic', async () => {
    const db = join(dir, 'audit.duckdb');
    const args = ['audit', hidden, '--only', 'class-imbalance,duplicates,label-errors', '--json', '--db', db, '--organiser', '--top', '5'];
    const a = await sieve(args, dir);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const doc = JSON.parse(a.stdout);
    expect(doc.pool.pool).toMatchObject({ name: 'hidden', trainRows: 1200, testRows: 300, features: 16, groups: ['group'] });
    expect(doc.outputs).toEqual({ db });
    const byName = Object.fromEntries(doc.pool.analysers.map((r: { name: string }) => [r.name, r]));
    expect(Object.keys(byName)).toEqual(['class-imbalance', 'label-errors', 'duplicates']);
    expect(byName['label-errors'].findings).toMatchObject({ total: 1200, shown: 5, truncated: true });
    // Planted pairs with the copy in test are leakage the audit reports (test split read via --organiser).
    const truth = (await readTruth(await openPool(hidden)))!;
    const crossPairs = truth.duplicatePairs!.filter((p) => p.crossSplit).length;
    expect(crossPairs).toBeGreaterThan(0);
    expect(byName.duplicates.figures.leaked_test_rows).toBeGreaterThanOrEqual(crossPairs);

    const summary = await rowsOf(db, `SELECT analyser, findings::INTEGER AS findings, flagged::INTEGER AS flagged FROM summary ORDER BY analyser`);
    for (const s of summary) {
      expect(s.findings).toBe(byName[s.analyser as string].findings.total);
      expect(s.flagged).toBe(byName[s.analyser as string].findings.flagged);
    }
    const [leak] = await rowsOf(db, `SELECT count(DISTINCT test_id)::INTEGER AS n FROM duplicates_leakage`);
    expect(leak.n).toBe(byName.duplicates.figures.leaked_test_rows);
    const top = await rowsOf(db, `SELECT id FROM findings_label_errors WHERE flagged ORDER BY score DESC, id LIMIT 5`);
    expect(top.map((r) => r.id)).toEqual(byName['label-errors'].findings.rows.map((r: { id: string }) => r.id));

    // Same inputs and seed: the same report, apart from the clock.
    const b = await sieve(args, dir);
    const strip = (s: string) => JSON.stringify(JSON.parse(s), (k, v) => (k === 'seconds' ? undefined : v));
    expect(strip(b.stdout)).toBe(strip(a.stdout));
  });

  it('audits a submission subset side by side with the pool', async () => {
    const ids = (await readAuditSplits((await resolveAuditTarget(hidden)).pool)).train.ids;
    const picked = ids.filter((_, i) => i % 4 === 1).reverse(); // any order in the file
    const csv = join(dir, 'picked.csv');
    await writeFile(csv, `id\n${picked.join('\n')}\n`);
    const html = join(dir, 'subset.html');
    const r = await sieve(['audit', hidden, '--only', 'class-imbalance,label-errors', '--subset', csv, '--json', '--html', html], dir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.subset.subset).toEqual({ file: csv, rows: picked.length });
    expect(doc.subset.rows).toBe(picked.length);
    const subsetIds = new Set(picked);
    const le = doc.subset.analysers.find((a: { name: string }) => a.name === 'label-errors');
    expect(le.findings.total).toBe(picked.length);
    for (const f of le.findings.rows) expect(subsetIds.has(f.id)).toBe(true);
    expect(existsSync(html)).toBe(true);

    // Human output: one table with a scope column, then where the report went.
    const human = await sieve(['audit', hidden, '--only', 'class-imbalance', '--subset', csv, '--html', html], dir);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/│ scope\s+│ analyser\s+│ severity/);
    expect(human.stdout).toMatch(/│ subset\s+│ class-imbalance/);
    expect(human.stdout).toContain(`html report: ${html}`);
  });

  it('reads subsets in the other submission formats through the submission parser', async () => {
    const { train } = await readAuditSplits((await resolveAuditTarget(visible)).pool);
    const json = join(dir, 'picked.json');
    await writeFile(json, JSON.stringify({ ids: [train.ids[9], train.ids[2]] }));
    expect(Array.from(await readSubsetIndices(json, train))).toEqual([2, 9]);
    const txt = join(dir, 'picked.txt');
    await writeFile(txt, `${train.ids[5]}\n${train.ids[1]}\n`);
    expect(Array.from(await readSubsetIndices(txt, train))).toEqual([1, 5]);
  });

  it('a subset made by dropping the audit\'s own flags is clean only as far as the audit sees, and says so', async () => {
    const keep = join(dir, 'keep.csv');
    const k = await sieve(['audit', visible, '--only', 'label-errors,duplicates', '--keep', keep], dir);
    expect(k.code, k.stderr).toBe(0);
    const r = await sieve(['audit', visible, '--only', 'label-errors', '--subset', keep, '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const sub = JSON.parse(r.stdout).subset.analysers.find((a: { name: string }) => a.name === 'label-errors');
    expect(sub.figures.flagged).toBe(0);
    expect(sub.verdict).toMatch(/^No label looks wrong: .* Clean as far as this audit sees: on the whole pool it flags [0-9,]+ of 1,200 rows and estimates [0-9.]+% label noise; wrong labels it does not flag stay in any subset/);
    // The shareable report names the subset file by its base name, not by this machine's folders.
    const html = join(dir, 'subset-report.html');
    expect((await sieve(['audit', visible, '--only', 'label-errors', '--subset', keep, '--html', html], dir)).code).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).toContain('Subset: keep.csv,');
    expect(text).not.toContain(dir);
  });

  it('rejects bad input with a precise error and writes nothing', async () => {
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'id\nno-such-row\nalso-missing\n');
    const db = join(dir, 'never.duckdb');
    const html = join(dir, 'never.html');
    const r = await sieve(['audit', hidden, '--subset', bad, '--db', db, '--html', html], dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/2 id\(s\) are not in the pool/);
    expect(r.stderr).toContain('no-such-row');
    expect(existsSync(db)).toBe(false);
    expect(existsSync(html)).toBe(false);

    const only = await sieve(['audit', hidden, '--only', 'label-errors,spelling'], dir);
    expect(only.code).toBe(2);
    expect(only.stderr).toMatch(/unknown analyser: spelling/);
    expect(only.stderr).toMatch(/known: class-imbalance, label-errors/);

    const missing = await sieve(['audit', 'no-such-pool-or-challenge'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/neither a pool nor a challenge/);

    const folds = await sieve(['audit', hidden, '--folds', '1'], dir);
    expect(folds.code).toBe(2);
    expect(folds.stderr).toMatch(/--folds must be an integer ≥ 2/);
    expect((await readdir(dir)).filter((f) => f.startsWith('never') || f.includes('.tmp-'))).toEqual([]);
  });

  it("applies a challenge's submission rules to --subset", async () => {
    const t = await resolveAuditTarget('fashion-select');
    const { train } = await readAuditSplits(t.pool);
    const budget = t.challenge!.budget.rows!;
    const over = join(dir, 'over-budget.txt');
    await writeFile(over, train.ids.slice(0, budget + 1).join('\n') + '\n');
    await expect(readSubsetIndices(over, train, t.challenge)).rejects.toThrow(/budget/);
    const within = join(dir, 'within-budget.txt');
    await writeFile(within, train.ids.slice(0, budget).reverse().join('\n') + '\n');
    const rows = await readSubsetIndices(within, train, t.challenge);
    expect(rows.length).toBe(budget);
    expect(rows[0]).toBe(0);
    expect(rows[budget - 1]).toBe(budget - 1);
  });

  it('resolves a challenge to its pool and its model', async () => {
    const t = await resolveAuditTarget('fashion-debug');
    expect(t.challenge?.name).toBe('fashion-debug');
    expect(t.pool.name).toBe(t.challenge!.poolRef);
    const r = await sieve(['audit', 'fashion-debug', '--only', 'class-imbalance', '--json'], dir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.pool.pool.challenge).toBe('fashion-debug');
    expect(doc.pool.model).toMatchObject({ kind: t.challenge!.model.kind, preprocess: t.challenge!.model.preprocess });
    // The challenge's model (PCA to 64, 100 iterations) is not the pool's audit model: the header says so.
    expect(doc.pool.oos_model.source).toBe('challenge');
    expect(doc.pool.oos_model.note).toMatch(/fixed model differs from the pool's audit model.*--model logistic-regression/);
    expect(doc.pool.oos_model.accuracy).toBeNull();
  });

  it('gives the same numbers through a challenge whose fixed model is the pool\'s audit model, and states model, features and accuracy', async () => {
    const args = ['--only', 'label-errors,fairness', '--json', '--top', '5'];
    const [viaPool, viaChallenge] = await Promise.all([
      sieve(['audit', 'german-credit', ...args], dir), sieve(['audit', 'credit-fair', ...args], dir),
    ]);
    expect(viaPool.code).toBe(0);
    expect(viaChallenge.code).toBe(0);
    const a = JSON.parse(viaPool.stdout).pool, b = JSON.parse(viaChallenge.stdout).pool;
    expect(a.oos_model).toMatchObject({ source: 'pool default', dims: 61, group_features: [] });
    expect(a.oos_model.features).toContain('rare categories kept');
    expect(a.oos_model.accuracy).toBeGreaterThan(0.7);
    expect(b.oos_model).toMatchObject({ source: 'challenge', challenge: 'credit-fair', model: a.oos_model.model, features: a.oos_model.features, accuracy: a.oos_model.accuracy });
    expect(b.oos_model.note).toBeUndefined();
    const strip = (doc: { analysers: { seconds?: number }[] }) => JSON.stringify(doc.analysers.map(({ seconds: _s, ...rest }) => rest));
    expect(strip(b)).toBe(strip(a));
  }, 60_000);
});
