/**
 * bench/audit-million: a full `sieve audit` (every analyser, the test split read with
 * --organiser for leakage, the HTML report and the DuckDB tables written) of a 1,000,000 × 64
 * synthetic pool with planted problems, as a user runs it: one fresh process, its wall time,
 * the seconds of each analyser (the first analyser that needs them pays for the shared
 * cross-validation and kNN graph: label-errors) and the process's peak RSS. Targets: ≤ 180 s,
 * ≤ 8 GiB.
 *
 * The pool (`sieve pool synth`, cached under $SIEVE_BENCH_DIR or the temp folder): 1,250,000
 * rows (250,000 test), 64 dimensions, 5 classes at separation 8 (the outlier test's clusters:
 * at the default 2.5 no row stands out in 64 dimensions), 15% symmetric label noise with twice
 * the rate in group b and a class prior tilted towards it, class sizes 2:1 (at 4:1 the column means lean towards the largest class and its rows' cosine neighbourhoods widen the outlier fence past the planted rows), rows / 500 exact and
 * rows / 333 near duplicate pairs (a quarter across train/test: leakage) and rows / 2,000
 * outliers. The planted problems are checked against the floors the analysers' tests assert at
 * small sizes (test/analysers-*.test.ts): label-errors precision ≥ 0.66, recall ≥ 0.83, F1 ≥
 * 0.74; label-errors-knn recall ≥ 0.83, F1 ≥ 0.64; duplicate pairs recall ≥ 0.98, precision ≥
 * 0.95, exact copies counted exactly; leaks recall ≥ 0.98 with at most one extra; outliers
 * recall ≥ 0.85, precision ≥ 0.9; and the imbalance and the noisier group reported.
 *
 * Reference, measured in the same run, ABAB (`--rounds`, default 3) on a smaller pool of the
 * same recipe (`--ref-rows`, default 50,000 train rows): sieve's full audit against cleanlab
 * 2.9.0's Datalab pieces with scikit-learn on the same rows (bench/_audit_reference.py; skipped
 * cleanly without /usr/bin/python3, scikit-learn or cleanlab), as a median time ratio.
 *
 *   npm run bench -- audit-million            (node --import tsx bench/audit-million.ts [--rows 1000000]
 *                                              [--ref-rows 50000] [--rounds 3] [--no-python] [--no-reference])
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ensureBuilt } from '../scripts/build.mjs';
import { openPool, readSplit } from '../src/pool/read.ts';
import {
  BIN, analyserSeconds, arg, flag, load, median, pythonReason, runReference, runSieveAudit, table, writeRawSplit,
} from './_audit-common.ts';

const ROWS = Number(arg('rows', '1000000'));
const REF_ROWS = Number(arg('ref-rows', '50000'));
const ROUNDS = Number(arg('rounds', '3'));
const TARGET_SECONDS = 180, TARGET_GIB = 8;
const ROOT = process.env.SIEVE_BENCH_DIR ?? join(tmpdir(), 'sieve-bench-audit');

try { setPriority(10); } catch { /* not allowed: run as is */ }
await ensureBuilt();

/** `sieve pool synth` with the recipe above for `rows` train rows (cached by its options). */
function ensurePool(rows: number): string {
  const opts = [
    '--rows', String(Math.round(rows * 1.25)), '--test-rows', String(Math.round(rows / 4)), '--dim', '64', '--classes', '5',
    '--separation', '8', '--noise', '0.15', '--exact-dups', String(Math.round(rows / 500)), '--near-dups', String(Math.round(rows / 333)),
    '--cross-split-fraction', '0.25', '--imbalance', '2', '--group-noise-factor', '2', '--group-prior-shift', '0.3',
    '--outliers', String(Math.round(rows / 2000)), '--seed', '1',
  ];
  const dir = join(ROOT, `synth-${opts.join('_').replace(/-/g, '')}`);
  if (existsSync(join(dir, 'pool.json'))) return dir;
  mkdirSync(ROOT, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'pool', 'synth', ...opts, '--out', dir, '--overwrite', '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`sieve pool synth exited ${r.status}:\n${r.stderr}`);
  console.log(`generated ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

const prf = (flagged: Set<string>, truth: Set<string>) => {
  let tp = 0;
  for (const f of flagged) if (truth.has(f)) tp++;
  const precision = flagged.size ? tp / flagged.size : 0, recall = truth.size ? tp / truth.size : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
};

/** The planted problems against the audit's DuckDB tables, with the tests' floors. */
async function plantedChecks(poolDir: string, db: string): Promise<{ rows: (string | number)[][]; failed: number }> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run(`ATTACH '${db.replace(/'/g, "''")}' AS a (READ_ONLY)`);
  const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjects() as Record<string, any>[];
  const ids = async (sql: string) => new Set((await q(sql)).map((r) => String(r.id)));
  const pq = (f: string) => `read_parquet('${join(poolDir, f).replace(/'/g, "''")}')`;
  const noisy = await ids(`SELECT id FROM ${pq('truth.parquet')} WHERE noisy`);
  const outlierTruth = await ids(`SELECT id FROM ${pq('truth.parquet')} WHERE outlier`);
  const rows: (string | number)[][] = [];
  let failed = 0;
  const check = (what: string, value: number, floor: number, cmp: '≥' | '≤' | '=' = '≥') => {
    const ok = cmp === '≥' ? value >= floor : cmp === '≤' ? value <= floor : value === floor;
    if (!ok) failed++;
    rows.push([what, Number.isInteger(value) ? value : value.toFixed(3), `${cmp} ${floor}`, ok ? 'met' : 'NOT MET']);
  };
  const le = prf(await ids(`SELECT id FROM a.findings_label_errors WHERE flagged`), noisy);
  check('label-errors precision', le.precision, 0.66); check('label-errors recall', le.recall, 0.83); check('label-errors F1', le.f1, 0.74);
  const kn = prf(await ids(`SELECT id FROM a.findings_label_errors_knn WHERE flagged`), noisy);
  check('label-errors-knn recall', kn.recall, 0.83); check('label-errors-knn F1', kn.f1, 0.64);
  // Duplicates: every pair inside a reported cluster, against the planted train pairs.
  const planted = await q(`SELECT a, b, kind, cross_split FROM ${pq('duplicates.parquet')}`);
  const key = (x: string, y: string) => (x < y ? `${x}|${y}` : `${y}|${x}`);
  const want = new Set(planted.filter((p) => !p.cross_split).map((p) => key(p.a, p.b)));
  const found = new Set<string>();
  for (const c of await q(`SELECT member_ids FROM a.duplicates_duplicate_clusters`)) {
    const m = String(c.member_ids).split(' ');
    for (let x = 0; x < m.length; x++) for (let y = x + 1; y < m.length; y++) found.add(key(m[x], m[y]));
  }
  const dp = prf(found, want);
  check('duplicate pairs recall', dp.recall, 0.98); check('duplicate pairs precision', dp.precision, 0.95);
  const exactTruth = planted.filter((p) => !p.cross_split && p.kind === 'exact').length;
  const fig = async (analyser: string, figure: string) => (await q(`SELECT value, text FROM a.figures WHERE analyser = '${analyser}' AND figure = '${figure}'`))[0];
  check('exact duplicate rows (planted in train)', Number((await fig('duplicates', 'exact_duplicate_rows')).value), exactTruth, '=');
  const leakWant = new Set(planted.filter((p) => p.cross_split).map((p) => `${p.a}|${p.b}`));
  const leakFound = new Set((await q(`SELECT train_id, test_id FROM a.duplicates_leakage`)).map((r) => `${r.train_id}|${r.test_id}`));
  const lk = prf(leakFound, leakWant);
  check('leaks recall', lk.recall, 0.98);
  check('leaks found beyond the planted', leakFound.size - Math.round(lk.precision * leakFound.size), 1, '≤');
  const ol = prf(await ids(`SELECT id FROM a.findings_outliers WHERE flagged`), outlierTruth);
  check('outliers recall', ol.recall, 0.85); check('outliers precision', ol.precision, 0.9);
  const ratio = Number((await fig('class-imbalance', 'imbalance_ratio')).value);
  check('class imbalance ratio reported (planted 2 before noise)', ratio, 1.3);
  const groups = await q(`SELECT "group", label_error_rate FROM a.fairness_groups WHERE attribute = 'group' ORDER BY "group"`);
  const rate = (g: string) => Number(groups.find((r) => r.group === g)?.label_error_rate ?? NaN);
  check('label-error rate, group b over group a (planted 2)', rate('b') / rate('a'), 1.5);
  conn.closeSync();
  return { rows, failed };
}

console.log(`load average before: ${load()}`);
const big = ensurePool(ROWS);
const out = join(ROOT, 'out-million');
const run = runSieveAudit(big, ['--organiser'], out, { html: true, db: true });
const secs = analyserSeconds(run.json);
console.log(`\nsieve audit of ${ROWS.toLocaleString('en-US')} × 64 rows (every analyser, --organiser, --html, --db), load ${load()}:`);
table(['phase', 'seconds'], [
  ...secs.map((s) => [s.name + (s.name === 'label-errors' ? ' (with the shared cross-validation and kNN graph)' : ''), s.seconds.toFixed(1)]),
  ['read, model set-up and reports (the rest of the wall time)', (run.wall - Number(run.json.pool.seconds)).toFixed(1)],
  ['wall, end to end', run.wall.toFixed(1)],
]);
const knn = run.json.pool.analysers.find((a: any) => a.name === 'outliers')?.figures ?? {};
console.log(`peak RSS ${(run.rssMiB / 1024).toFixed(2)} GiB (target ≤ ${TARGET_GIB}); wall ${run.wall.toFixed(1)} s (target ≤ ${TARGET_SECONDS}): ` +
  `${run.wall <= TARGET_SECONDS && run.rssMiB / 1024 <= TARGET_GIB ? 'met' : 'NOT MET'}`);
console.log(`kNN graph: ${knn.knn_search}, recall@10 ${knn.knn_recall}; HTML report ${((run.htmlBytes ?? 0) / 1e6).toFixed(2)} MB, DuckDB ${((run.dbBytes ?? 0) / 1e6).toFixed(0)} MB; oos accuracy ${Number(run.json.pool.oos_model?.accuracy ?? run.json.pool.oos_accuracy).toFixed(3)}`);
const checks = await plantedChecks(big, join(out, 'audit.duckdb'));
console.log('\nplanted problems against the tests\' floors:');
table(['check', 'measured', 'floor', ''], checks.rows);

if (!flag('no-reference')) {
  const reason = pythonReason();
  const small = ensurePool(REF_ROWS);
  console.log(`\nreference at ${REF_ROWS.toLocaleString('en-US')} rows, ABAB × ${ROUNDS}: sieve's full audit vs cleanlab 2.9.0 Datalab pieces + scikit-learn 5-fold (bench/_audit_reference.py)`);
  if (reason) console.log(`  reference ${reason}`);
  const split = await readSplit(await openPool(small), 'train');
  const raw = reason ? null : writeRawSplit(split, join(ROOT, 'ref-raw'));
  const rows: (string | number)[][] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = runSieveAudit(small, ['--organiser'], join(ROOT, 'out-ref'), { html: true, db: true });
    const b = raw ? runReference(raw, split.n, split.d, split.classNames.length) : null;
    if (b) ratios.push(a.wall / b.wall);
    rows.push([r + 1, a.wall.toFixed(1), (a.rssMiB / 1024).toFixed(2), b ? b.wall.toFixed(1) : '–', b ? (a.wall / b.wall).toFixed(2) : '–', load()]);
    if (b && r === 0) console.log(`  reference pieces (s): ${Object.entries(b.json.seconds).map(([k, v]) => `${k} ${(v as number).toFixed(1)}`).join(', ')}`);
  }
  table(['round', 'sieve s', 'sieve GiB', 'reference s', 'ratio', 'load'], rows);
  if (ratios.length) console.log(`median time ratio sieve / reference: ${median(ratios).toFixed(2)}`);
}
console.log(`\nload average after: ${load()}`);
process.exit(checks.failed ? 1 : 0);
