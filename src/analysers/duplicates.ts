/**
 * Duplicates and leakage: exact duplicates (identical content bytes), near duplicates (cosine
 * ≥ threshold on standardised features), clusters of rows joined by either (union-find),
 * clusters whose labels conflict, and train/test leakage (test rows with an exact or near
 * duplicate in train). See duplicate-search.ts for how pairs are found.
 */
import { SieveError } from '../util/errors.ts';
import type { Analyser, AnalyserResult, ExtraTable, Finding } from './types.ts';
import {
  UnionFind, dupSpace, embedRows, exactGroups, exactMatches, nearPairsCross, nearPairsSelf, rowContent,
  type NearSearch,
} from './duplicate-search.ts';
import { barChart, count, pct, secondsSince } from './specs.ts';
import { spaceOf } from './neighbour-space.ts';
import { gatherRows } from '../../compute/rows.ts';

export interface DuplicateOptions {
  /** Cosine similarity at or above which two rows are near duplicates. */
  threshold: number;
  /** Exact all-pairs search up to this many rows; an LSH index with measured recall above. */
  exactMaxRows: number;
  /** Projection width of the exact bound used for rows wider than this. */
  boundDims: number;
  lshRecall: number;
  recallSampleRows: number;
  /** Most pairs kept in the duplicate_pairs table (all are counted). */
  maxPairRows: number;
}

export interface DuplicateAnalysis {
  /** Cluster id per train row (−1: in no cluster); clusters are numbered by first row. */
  cluster: Int32Array;
  clusterSize: Int32Array;
  /** Exact-content group representative per train row. */
  exactGroup: Int32Array;
  /** Near pairs between distinct content groups (train row indices, a < b). */
  near: NearSearch;
  /** Per test row: train row with identical content or −1; near pairs (test, train). */
  leakExact: Int32Array | null;
  leakNear: { a: Int32Array; b: Int32Array; sim: Float32Array; count: number } | null;
  /** Recall of the approximate leakage search (only when the train split is beyond exactMaxRows). */
  leakRecall: number | null;
}

/** Runs the searches on a train split (and a test split for leakage). */
export async function analyseDuplicates(
  train: import('../pool/types.ts').PoolSplit, test: import('../pool/types.ts').PoolSplit | undefined,
  opts: DuplicateOptions, seed: number, progress?: import('../util/progress.ts').Progress,
): Promise<DuplicateAnalysis> {
  const n = train.n;
  const content = rowContent(train);
  const exactGroup = exactGroups(content, n);
  const reps = Int32Array.from(exactGroup.filter((g, i) => g === i));
  const searchOpts = { threshold: opts.threshold, exactMaxRows: opts.exactMaxRows, boundDims: opts.boundDims, lshRecall: opts.lshRecall, recallSampleRows: opts.recallSampleRows, seed, progress };
  let near: NearSearch = { pairs: { a: new Int32Array(0), b: new Int32Array(0), sim: new Float32Array(0), count: 0 }, method: 'exact', candidates: 0 };
  let leakExact: Int32Array | null = null;
  let leakNear: DuplicateAnalysis['leakNear'] = null;
  let leakRecall: number | null = null;
  if (train.d > 0) {
    const space = dupSpace(train.features, n, train.d);
    // The exact bound for wide rows reuses the principal directions of the shared neighbour space.
    const basis = train.d > opts.boundDims + 1 ? (await spaceOf(train, { seed })).basis : null;
    // Search one row per exact group: identical rows are joined by their group already.
    const U = gatherRows(space.U, train.d, reps);
    const found = await nearPairsSelf(U, reps.length, train.d, searchOpts, basis);
    const a = new Int32Array(found.pairs.count), b = new Int32Array(found.pairs.count);
    for (let p = 0; p < found.pairs.count; p++) { a[p] = reps[found.pairs.a[p]]; b[p] = reps[found.pairs.b[p]]; }
    near = { ...found, pairs: { a, b, sim: found.pairs.sim, count: found.pairs.count } };
    if (test && test.n > 0) {
      if (test.d !== train.d) throw new SieveError(`test rows have ${test.d} feature dimensions, train rows ${train.d}`, { where: 'duplicates' });
      const T = embedRows(space, test.features, test.n);
      const cross = await nearPairsCross(T, test.n, space.U, n, train.d, searchOpts, basis);
      leakNear = cross.pairs;
      if (cross.recall) leakRecall = cross.recall.recall;
    }
  }
  if (test && test.n > 0) leakExact = exactMatches(content, n, rowContent(test), test.n);

  const uf = new UnionFind(n);
  for (let i = 0; i < n; i++) if (exactGroup[i] !== i) uf.union(i, exactGroup[i]);
  for (let p = 0; p < near.pairs.count; p++) uf.union(near.pairs.a[p], near.pairs.b[p]);
  const size = new Int32Array(n);
  for (let i = 0; i < n; i++) size[uf.find(i)]++;
  const cluster = new Int32Array(n).fill(-1);
  const clusterSize = new Int32Array(n);
  const idOfRoot = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = uf.find(i);
    if (size[r] < 2) continue;
    let c = idOfRoot.get(r);
    if (c === undefined) { c = idOfRoot.size; idOfRoot.set(r, c); }
    cluster[i] = c;
    clusterSize[i] = size[r];
  }
  return { cluster, clusterSize, exactGroup, near, leakExact, leakNear, leakRecall };
}

export const duplicates: Analyser<DuplicateOptions> = {
  name: 'duplicates',
  title: 'Duplicates and train/test leakage',
  needs: ['features', 'labels', 'test'],
  defaults: { threshold: 0.99, exactMaxRows: 100_000, boundDims: 32, lshRecall: 0.995, recallSampleRows: 500, maxPairRows: 50_000 },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    if (!(opts.threshold > 0 && opts.threshold <= 1)) throw new SieveError(`threshold must be in (0, 1], got ${opts.threshold}`, { where: 'duplicates options' });
    const train = ctx.train, test = ctx.test;
    const names = train.classNames;
    const r = await analyseDuplicates(train, test, opts, ctx.seed, ctx.progress);
    const n = train.n;

    // Per-cluster facts: members, labels, first row.
    const clusters = new Map<number, number[]>();
    for (let i = 0; i < n; i++) if (r.cluster[i] >= 0) {
      const l = clusters.get(r.cluster[i]);
      if (l) l.push(i); else clusters.set(r.cluster[i], [i]);
    }
    const conflict = new Uint8Array(clusters.size);
    const clusterRows: ExtraTable['rows'] = [];
    let exactDupRows = 0;
    for (let i = 0; i < n; i++) if (r.exactGroup[i] !== i) exactDupRows++;
    for (const [c, members] of clusters) {
      const labels = [...new Set(members.map((i) => names[train.labels[i]]))].sort();
      conflict[c] = labels.length > 1 ? 1 : 0;
      const allExact = members.every((i) => r.exactGroup[i] === r.exactGroup[members[0]]);
      clusterRows.push({
        cluster: c, size: members.length, kind: allExact ? 'exact' : 'near', labels: labels.join('|'),
        label_conflict: labels.length > 1, first_id: train.ids[members[0]],
        member_ids: members.slice(0, 20).map((i) => train.ids[i]).join(' ') + (members.length > 20 ? ' …' : ''),
      });
    }

    // Best similarity seen per row (1 for exact duplicates).
    const best = new Float64Array(n).fill(-1);
    for (let i = 0; i < n; i++) if (r.exactGroup[i] !== i) { best[i] = 1; best[r.exactGroup[i]] = 1; }
    for (let p = 0; p < r.near.pairs.count; p++) {
      const a = r.near.pairs.a[p], b = r.near.pairs.b[p], s = r.near.pairs.sim[p];
      if (s > best[a]) best[a] = s;
      if (s > best[b]) best[b] = s;
    }

    // Leakage: test rows with an exact or near twin in train.
    const leakRows: ExtraTable['rows'] = [];
    const leakedTest = new Set<number>();
    const leakOfTrain = new Map<number, string[]>();
    const addLeak = (t: number, tr: number, s: number, kind: string) => {
      leakedTest.add(t);
      leakRows.push({ test_id: test!.ids[t], train_id: train.ids[tr], similarity: s, kind, same_label: test!.labels[t] === train.labels[tr] });
      const l = leakOfTrain.get(tr);
      if (l) { if (l.length < 5) l.push(test!.ids[t]); } else leakOfTrain.set(tr, [test!.ids[t]]);
    };
    if (test && r.leakExact) for (let t = 0; t < test.n; t++) if (r.leakExact[t] >= 0) addLeak(t, r.leakExact[t], 1, 'exact');
    if (test && r.leakNear) for (let p = 0; p < r.leakNear.count; p++) {
      const t = r.leakNear.a[p], tr = r.leakNear.b[p];
      if (r.leakExact && r.leakExact[t] === tr) continue;
      addLeak(t, tr, r.leakNear.sim[p], 'near');
    }

    const groupSize = new Int32Array(n);
    for (let i = 0; i < n; i++) groupSize[r.exactGroup[i]]++;
    const findings: Finding[] = [];
    for (let i = 0; i < n; i++) {
      const c = r.cluster[i];
      const leaks = leakOfTrain.get(i);
      if (c < 0 && !leaks) continue;
      const first = c >= 0 ? clusters.get(c)![0] : i;
      const redundant = c >= 0 && first !== i;
      findings.push({
        id: train.ids[i],
        score: Math.max(best[i], 0),
        flagged: redundant || (c >= 0 && conflict[c] === 1) || !!leaks,
        detail: {
          cluster: c >= 0 ? c : null,
          cluster_size: c >= 0 ? r.clusterSize[i] : null,
          kind: c < 0 ? null : groupSize[r.exactGroup[i]] > 1 ? 'exact' : 'near',
          duplicate_of: redundant ? train.ids[first] : null,
          best_similarity: best[i] >= 0 ? best[i] : null,
          label: names[train.labels[i]],
          label_conflict: c >= 0 && conflict[c] === 1,
          leaked_test_ids: leaks ? leaks.join(' ') : null,
        },
      });
    }

    const pairRows: ExtraTable['rows'] = [];
    const pairTotal = r.near.pairs.count;
    for (let p = 0; p < pairTotal && pairRows.length < opts.maxPairRows; p++) {
      const a = r.near.pairs.a[p], b = r.near.pairs.b[p];
      pairRows.push({ a_id: train.ids[a], b_id: train.ids[b], similarity: r.near.pairs.sim[p], kind: 'near', same_label: train.labels[a] === train.labels[b] });
    }

    const rowsInClusters = findings.filter((f) => f.detail.cluster !== null).length;
    const redundantRows = rowsInClusters - clusters.size;
    const conflicting = conflict.reduce((s, v) => s + v, 0);
    const leaked = leakedTest.size;
    const recall = r.near.recall?.recall ?? null;

    const parts: string[] = [];
    if (clusters.size === 0) parts.push(`No duplicates: no two train rows are identical or have cosine similarity ≥ ${opts.threshold}.`);
    else parts.push(`${count(rowsInClusters)} train rows fall in ${count(clusters.size)} duplicate clusters (${count(exactDupRows)} exact copies); keeping one row per cluster would drop ${count(redundantRows)} rows (${pct(redundantRows / Math.max(n, 1))}).`);
    if (conflicting) parts.push(`${count(conflicting)} cluster${conflicting > 1 ? 's carry' : ' carries'} conflicting labels.`);
    if (test) parts.push(leaked ? `${count(leaked)} test rows (${pct(leaked / Math.max(test.n, 1))}) have a duplicate in train: scores on them overstate generalisation.` : 'No test row has a duplicate in train.');
    else parts.push('Leakage not checked: no test split available.');
    if (r.near.method === 'lsh') parts.push(`Near duplicates were found with an approximate index; measured recall ${recall === null ? 'n/a (no pairs in the sample)' : pct(recall)} on a ${r.near.recall!.sampleRows}-row exact sample.`);

    const redundantShare = redundantRows / Math.max(n, 1);
    const leakShare = test ? leaked / Math.max(test.n, 1) : 0;
    let severity: 'ok' | 'info' | 'warning' | 'problem' = clusters.size === 0 ? 'ok' : redundantShare < 0.01 ? 'info' : redundantShare < 0.05 ? 'warning' : 'problem';
    if (conflicting && severity !== 'problem') severity = 'warning';
    if (leaked) severity = leakShare >= 0.01 ? 'problem' : severity === 'problem' ? 'problem' : 'warning';

    const sizeCounts = new Map<number, number>();
    for (const row of clusterRows) sizeCounts.set(row.size as number, (sizeCounts.get(row.size as number) ?? 0) + 1);
    const sizeBars = [...sizeCounts.entries()].sort((a, b) => a[0] - b[0]).map(([s, c]) => ({ cluster_size: String(s), clusters: c }));
    return {
      name: 'duplicates',
      summary: {
        verdict: parts.join(' '),
        severity,
        figures: {
          rows: n,
          threshold: opts.threshold,
          content: rowContent(train).kind,
          exact_duplicate_rows: exactDupRows,
          near_pairs: pairTotal,
          clusters: clusters.size,
          rows_in_clusters: rowsInClusters,
          redundant_rows: redundantRows,
          conflicting_clusters: conflicting,
          test_rows: test ? test.n : null,
          leaked_test_rows: test ? leaked : null,
          method: r.near.method,
          candidates_verified: r.near.candidates,
          lsh_tables: r.near.lsh?.tables ?? null,
          lsh_bits: r.near.lsh?.bits ?? null,
          recall: r.near.method === 'lsh' ? recall : 1,
          recall_sample_rows: r.near.recall?.sampleRows ?? null,
          recall_sample_pairs: r.near.recall?.truePairs ?? null,
          leakage_recall: test ? (r.leakRecall ?? 1) : null,
        },
      },
      findings,
      tables: [
        { name: 'duplicate_clusters', rows: clusterRows },
        { name: 'duplicate_pairs', rows: pairRows },
        { name: 'leakage', rows: leakRows },
      ],
      plots: sizeBars.length ? [barChart({ title: 'Duplicate clusters by size', values: sizeBars, category: 'cluster_size', value: 'clusters', integer: true, valueTitle: 'clusters' })] : [],
      seconds: secondsSince(t0),
    };
  },
};
