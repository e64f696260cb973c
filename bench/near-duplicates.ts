/**
 * Near-duplicate search at scale: 1,000,000 × 64 synthetic rows (seeded Gaussian) with 50,000
 * planted near-duplicate pairs (copy + Gaussian jitter, cosine ≈ 0.993–0.9998), threshold
 * cosine ≥ 0.99, through the approximate index the duplicates analyser uses beyond 100,000
 * rows (random-hyperplane LSH, exact verification of candidates).
 *
 * Reported next to each other:
 *   - recall against an exact search for a seeded sample of rows (sample × all rows), the
 *     figure the analyser reports; target ≥ 0.99;
 *   - recall on the planted pairs (known exactly, no sampling);
 *   - total seconds against the two-minute budget, and against the projected time of an exact
 *     all-pairs search measured from the sample search in the same run.
 *
 *   node --import tsx bench/near-duplicates.ts [--rows 1000000] [--sample 2000]
 */
import { createRng, deriveSeed } from '../compute/rng.ts';
import { lshPairsAbove, lshParamsFor, measureRecall } from '../compute/ann-index.ts';
import { normalizeRowsInPlace } from '../compute/scaling.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('rows', 1_000_000);
const D = 64;
const PLANTED = Math.round(N * 0.05);
const SAMPLE = arg('sample', 2000);
const THRESHOLD = 0.99;
const BUDGET_S = 120;

const t0 = performance.now();
const rng = createRng(deriveSeed(7, 'bench', 'near-duplicates'));
const X = new Float32Array(N * D);
for (let i = 0; i < X.length; i++) X[i] = rng.normal();
// Plant pairs: row dst becomes row src plus jitter of std σ ∈ [0.02, 0.12] per dimension.
const perm = rng.permutation(N);
const plantedA = new Int32Array(PLANTED), plantedB = new Int32Array(PLANTED);
for (let p = 0; p < PLANTED; p++) {
  const src = perm[2 * p], dst = perm[2 * p + 1];
  const sigma = 0.02 + 0.1 * rng.uniform();
  for (let t = 0; t < D; t++) X[dst * D + t] = X[src * D + t] + sigma * rng.normal();
  plantedA[p] = Math.min(src, dst);
  plantedB[p] = Math.max(src, dst);
}
normalizeRowsInPlace(X, N, D);
const tData = performance.now();

// The parameters the duplicates analyser would choose on these rows (key width from their angles).
const params = lshParamsFor(X, N, D, THRESHOLD, 0.995, 0);
const search = await lshPairsAbove(X, N, D, THRESHOLD, params);
const tSearch = performance.now();

const recall = await measureRecall(X, N, D, THRESHOLD, search.pairs, SAMPLE, 1);
const tRecall = performance.now();

// Planted pairs above the threshold (exact dot products) and how many the index found.
const found = new Set<number>();
for (let p = 0; p < search.pairs.count; p++) found.add(search.pairs.a[p] * N + search.pairs.b[p]);
let plantedAbove = 0, plantedFound = 0;
for (let p = 0; p < PLANTED; p++) {
  let s = 0;
  for (let t = 0; t < D; t++) s += X[plantedA[p] * D + t] * X[plantedB[p] * D + t];
  if (s < THRESHOLD) continue;
  plantedAbove++;
  if (found.has(plantedA[p] * N + plantedB[p])) plantedFound++;
}

const searchS = (tSearch - tData) / 1000;
const recallS = (tRecall - tSearch) / 1000;
const totalS = (tRecall - t0) / 1000;
// Exact all-pairs = N(N−1)/2 dot products; the sample search did SAMPLE × N of them.
const exactProjectedS = recallS * ((N - 1) / 2) / recall.sampleRows;
const f = (x: number, d = 4) => x.toFixed(d);
console.log(`near-duplicates: ${N.toLocaleString('en-US')} × ${D} rows, ${PLANTED.toLocaleString('en-US')} planted pairs, cosine ≥ ${THRESHOLD}`);
console.log(`  index: LSH ${params.tables} tables × ${params.bits} bits, ${search.candidates.toLocaleString('en-US')} candidates verified, largest bucket ${search.largestBucket}`);
console.log(`  pairs found: ${search.pairs.count.toLocaleString('en-US')}`);
console.log(`  recall vs exact search on a ${recall.sampleRows}-row sample: ${recall.recall === null ? 'n/a' : f(recall.recall)} (${recall.found}/${recall.truePairs} pairs); target 0.99 → ratio ${recall.recall === null ? 'n/a' : f(recall.recall / 0.99, 3)}`);
console.log(`  recall on planted pairs above the threshold: ${f(plantedFound / Math.max(plantedAbove, 1))} (${plantedFound}/${plantedAbove})`);
console.log(`  seconds: data ${f((tData - t0) / 1000, 1)}, index search ${f(searchS, 1)}, recall check ${f(recallS, 1)}, total ${f(totalS, 1)}`);
console.log(`  total vs 120 s budget: ratio ${f(totalS / BUDGET_S, 3)}; index search vs exact all-pairs (projected from the sample search, ${f(exactProjectedS, 0)} s): ${f(exactProjectedS / searchS, 1)}× faster`);
if (recall.recall !== null && recall.recall < 0.99) process.exitCode = 1;
