/**
 * bench/synth: a 1,000,000-row × 64-dim synthetic pool (the defaults of `sieve pool synth`:
 * 800,000 train / 200,000 test, 10 classes) generated with every kind of planted problem,
 * written as a pool, and read back into Float32Arrays (train through the participant reader,
 * test through the evaluator's hidden reader). Budgets from the issue: generate + write
 * < 60 s, read-back < 5 s. Then the same through the CLI (`sieve pool synth --rows 1000000
 * --dim 64 --out DIR`), startup included.
 *
 * Reference measured in the same run: filling a 1M × 64 Float32Array with rng.normal() and
 * nothing else, the floor of generation; generation is printed as a ratio to it.
 *   node --import tsx bench/synth.ts [--rows N] [--dim D] [--no-cli]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRng } from '../compute/rng.ts';
import { generateSynthPool, synthDraft } from '../src/pool/synth.ts';
import { writePool } from '../src/pool/write.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { readHiddenSplit } from '../src/pool/hidden.ts';
import { printTable } from '../src/util/output.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROWS = arg('--rows', 1_000_000);
const DIM = arg('--dim', 64);
const CLI = !process.argv.includes('--no-cli');
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');

const tmp = await mkdtemp(join(tmpdir(), 'sieve-bench-synth-'));
try {
  // Reference: Gaussian draws alone.
  let t0 = performance.now();
  const rng = createRng(1);
  const ref = new Float32Array(ROWS * DIM);
  for (let i = 0; i < ref.length; i++) ref[i] = rng.normal();
  const refS = seconds(t0);

  t0 = performance.now();
  const p = generateSynthPool({
    rows: ROWS, dim: DIM, classes: 10, noise: 0.1, noiseType: 'mixed', exactDups: 1000, nearDups: 1000,
    imbalance: 3, groupNoiseFactor: 2, groupPriorShift: 0.3, seed: 1,
  });
  const genS = seconds(t0);

  t0 = performance.now();
  const out = join(tmp, 'synth');
  // zstd 3, as `sieve pool synth` writes by default: random floats barely compress at any level.
  const m = await writePool(out, synthDraft(p), { compressionLevel: 3 });
  const writeS = seconds(t0);

  t0 = performance.now();
  const pool = await openPool(out);
  const train = await readSplit(pool, 'train');
  const trainS = seconds(t0);
  t0 = performance.now();
  const test = await readHiddenSplit(pool, 'test');
  const testS = seconds(t0);
  const readS = trainS + testS;
  if (train.n + test.n !== ROWS || train.d !== DIM) throw new Error(`read back ${train.n}+${test.n} × ${train.d}, expected ${ROWS} × ${DIM}`);

  const rows: (string | number)[][] = [
    [`reference: ${ROWS.toLocaleString('en')} × ${DIM} rng.normal() into a Float32Array`, refS.toFixed(2), rate(ROWS, refS), ''],
    ['generate (labels, groups, clusters, duplicates, noise, tables)', genS.toFixed(2), rate(ROWS, genS), ''],
    ['write pool (DuckDB chunks → zstd Parquet, hash)', writeS.toFixed(2), rate(ROWS, writeS), ''],
    ['generate + write', (genS + writeS).toFixed(2), rate(ROWS, genS + writeS), `< 60 s: ${genS + writeS < 60 ? 'yes' : 'NO'}`],
    [`read train (${train.n.toLocaleString('en')} rows, readSplit)`, trainS.toFixed(2), rate(train.n, trainS), ''],
    [`read test (${test.n.toLocaleString('en')} rows, readHiddenSplit)`, testS.toFixed(2), rate(test.n, testS), ''],
    ['read back, all rows', readS.toFixed(2), rate(ROWS, readS), `< 5 s: ${readS < 5 ? 'yes' : 'NO'}`],
  ];

  let cliS: number | null = null;
  if (CLI) {
    const bin = resolve(import.meta.dirname, '..', 'bin', 'sieve.mjs');
    t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, 'pool', 'synth', '--rows', String(ROWS), '--dim', String(DIM), '--out', join(tmp, 'cli'), '--json'], { encoding: 'utf8' });
    cliS = seconds(t0);
    if (r.status !== 0) throw new Error(`sieve pool synth failed: ${r.stderr}`);
    rows.push([`CLI: sieve pool synth --rows ${ROWS} --dim ${DIM} (startup included)`, cliS.toFixed(2), rate(ROWS, cliS), `< 60 s: ${cliS < 60 ? 'yes' : 'NO'}`]);
  }

  const bytes = m.files.reduce((s, f) => s + f.bytes, 0);
  console.log(`synthetic pool: ${ROWS.toLocaleString('en')} rows × ${DIM} dims, 10 classes, ${(bytes / 1e6).toFixed(0)} MB on disk`);
  printTable(['phase', 'seconds', 'rows/s', 'budget'], rows);
  console.log(
    `generate ${genS.toFixed(2)} s = ${(genS / refS).toFixed(2)}× the rng-only reference; ` +
      `generate + write ${(genS + writeS).toFixed(2)} s (${((genS + writeS) / 60).toFixed(2)} of the 60 s budget); ` +
      `read-back ${readS.toFixed(2)} s (${(readS / 5).toFixed(2)} of the 5 s budget)`,
  );
} finally {
  await rm(tmp, { recursive: true, force: true });
}
