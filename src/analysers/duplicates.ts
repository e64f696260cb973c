/**
 * Duplicates and leakage: exact duplicates (identical raw content), near duplicates with a
 * metric fitted to the kind of features (cosine for embeddings and pixels, standardised
 * Euclidean distance relative to the nearest-neighbour scale for tabular and low-dimensional
 * rows), clusters in which every two members are near duplicates (they never chain), clusters
 * whose labels conflict, and train/test leakage (test rows with an exact or near duplicate in
 * train, by the same rule). On tabular rows exact matches are judged against the number chance
 * gives on the feature values (rounded and low-cardinality columns coincide by chance): only the
 * share beyond chance counts as duplication or leakage. See duplicate-search.ts for how pairs
 * are found and exactChance for the chance model.
 */
import { SieveError } from '../util/errors.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { Progress } from '../util/progress.ts';
import type { Analyser, AnalyserResult, ColumnKindName, ExtraTable, Finding, PlotSpec } from './types.ts';
import {
  cliqueClusters, columnResolution, embedRows, featureColumns, euclideanPairsCross, euclideanPairsSelf, euclideanScale, exactChance, exactGroups, exactMatches,
  nearPairs, rowContent, rowHashes,
  type DuplicateMetric, type EuclideanScale, type ExactChance, type NearSearch,
} from './duplicate-search.ts';
import { applyScaling } from '../../compute/scaling.ts';
import { barChart, count, pct, secondsSince } from './specs.ts';
import { spaceOf, standardScalingOf, unitRowsOf } from './neighbour-space.ts';
import { metricFor, textOnly } from './vectors.ts';
import { gatherRows } from '../../compute/rows.ts';
import type { PairList } from '../../compute/neighbours.ts';
import { mergePairs } from '../../compute/neighbours-core.ts';

export interface DuplicateOptions {
  /** 'auto': cosine for pixels and embeddings of ≥ 16 dimensions, else Euclidean. */
  metric: 'auto' | DuplicateMetric;
  /** Cosine similarity at or above which two rows are near duplicates (cosine metric). */
  threshold: number;
  /** Euclidean: expected rows of a pool without duplicates that the threshold lets through by chance. */
  falseRows: number;
  /** Euclidean: never call rows farther apart than this many median nearest-neighbour distances near. */
  maxRelativeDistance: number;
  /** Euclidean: rows whose nearest neighbours measure the distance scale. */
  scaleSampleRows: number;
  /** Cosine: exact all-pairs search up to this many rows; an LSH index with measured recall above. */
  exactMaxRows: number;
  /** Projection width of the exact bound used for rows wider than this. */
  boundDims: number;
  lshRecall: number;
  recallSampleRows: number;
  /** Most pairs kept in the duplicate_pairs table (all are counted). */
  maxPairRows: number;
}

export interface DuplicateCluster {
  /** Train rows, smallest first; the first is the one a de-duplication keeps. */
  rows: number[];
  kind: 'exact' | 'near';
  /** The least similar pair of rows (a, b) and how close they are. */
  worstA: number;
  worstB: number;
  /** Cosine similarity (cosine metric) or distance relative to the median nearest-neighbour distance. */
  worstValue: number;
}

export interface DuplicateAnalysis {
  metric: DuplicateMetric;
  /** Cluster id per train row (−1: in no cluster); clusters are numbered by first row. */
  cluster: Int32Array;
  clusters: DuplicateCluster[];
  /** Exact-content group representative per train row. */
  exactGroup: Int32Array;
  /**
   * Near pairs between distinct content groups (train row indices, a < b); `sim` holds the
   * cosine similarity (cosine) or the distance relative to the median nearest-neighbour
   * distance (euclidean).
   */
  near: NearSearch;
  /** Euclidean metric: the distance scale and threshold. */
  scale: EuclideanScale | null;
  /** Per test row: train row with identical content or −1; near pairs (test, train), values as `near`. */
  leakExact: Int32Array | null;
  leakNear: PairList | null;
  /** Recall of the approximate leakage search (only when the train split is beyond exactMaxRows). */
  leakRecall: number | null;
  /** Exact matches expected by chance on these feature values (null: not estimable, see exactChance). */
  chance: ExactChance | null;
}

const emptyPairs = (): PairList => ({ a: new Int32Array(0), b: new Int32Array(0), sim: new Float32Array(0), count: 0 });

/** Pairs over representatives mapped to train rows (and, for Euclidean, distances made relative). */
function mapPairs(p: PairList, mapA: ArrayLike<number> | null, mapB: ArrayLike<number> | null, divide = 1): PairList {
  const a = new Int32Array(p.count), b = new Int32Array(p.count), sim = new Float32Array(p.count);
  for (let i = 0; i < p.count; i++) {
    a[i] = mapA ? mapA[p.a[i]] : p.a[i];
    b[i] = mapB ? mapB[p.b[i]] : p.b[i];
    sim[i] = p.sim[i] / divide;
  }
  return { a, b, sim, count: p.count };
}

/** Pairs (q, unit) as pairs (q, row) for every train row of the unit (exact-content group), sorted by (q, row). */
function membersOfUnits(p: PairList, unitStart: Int32Array, unitRows: Int32Array): PairList {
  const out: PairList[] = [];
  let count = 0;
  for (let i = 0; i < p.count; i++) count += unitStart[p.b[i] + 1] - unitStart[p.b[i]];
  const a = new Int32Array(count), b = new Int32Array(count), sim = new Float32Array(count);
  let o = 0;
  for (let i = 0; i < p.count; i++) {
    for (let r = unitStart[p.b[i]]; r < unitStart[p.b[i] + 1]; r++) { a[o] = p.a[i]; b[o] = unitRows[r]; sim[o] = p.sim[i]; o++; }
  }
  out.push({ a, b, sim, count });
  return mergePairs(out);
}

/** Runs the searches on a train split (and a test split for leakage). */
export async function analyseDuplicates(
  train: PoolSplit, test: PoolSplit | undefined, opts: DuplicateOptions, seed: number, progress?: Progress,
): Promise<DuplicateAnalysis> {
  const n = train.n;
  const content = rowContent(train);
  const hashes = rowHashes(content, n);
  const exactGroup = exactGroups(content, n, hashes);
  const reps = Int32Array.from(exactGroup.filter((g, i) => g === i));
  // Each row's exact-content group as an index into reps ("unit"), and the rows of each unit.
  const unitOf = new Int32Array(n);
  reps.forEach((r, u) => { unitOf[r] = u; });
  for (let i = 0; i < n; i++) unitOf[i] = unitOf[exactGroup[i]];
  const unitStart = new Int32Array(reps.length + 1);
  for (let i = 0; i < n; i++) unitStart[unitOf[i] + 1]++;
  for (let u = 0; u < reps.length; u++) unitStart[u + 1] += unitStart[u];
  const unitRows = new Int32Array(n);
  { const fill = unitStart.slice(0, reps.length); for (let i = 0; i < n; i++) unitRows[fill[unitOf[i]]++] = i; }
  const metric: DuplicateMetric = opts.metric === 'auto' ? metricFor(train) : opts.metric;
  let near: NearSearch = { pairs: emptyPairs(), method: 'exact', candidates: 0 };
  let scale: EuclideanScale | null = null;
  let leakNear: PairList | null = null;
  let leakRecall: number | null = null;
  const hasTest = !!test && test.n > 0;
  if (hasTest && test!.d !== train.d) throw new SieveError(`test rows have ${test!.d} feature dimensions, train rows ${train.d}`, { where: 'duplicates' });
  if (train.d > 0 && reps.length > 1 && metric === 'cosine') {
    const searchOpts = { threshold: opts.threshold, exactMaxRows: opts.exactMaxRows, boundDims: opts.boundDims, lshRecall: opts.lshRecall, recallSampleRows: opts.recallSampleRows, seed, progress };
    // The standardised unit rows and, for the exact bound on wide rows, the principal
    // directions of the shared neighbour space (built once per audit, see neighbour-space.ts).
    const basis = train.d > opts.boundDims + 1 ? (await spaceOf(train, { seed })).basis : null;
    const space = await unitRowsOf(train);
    // Search one row per exact group: identical rows are joined by their group already, and a
    // test row near one of them is near every row of its group (same content, same rows).
    const U = reps.length === n ? space.U : gatherRows(space.U, train.d, reps);
    const T = hasTest ? embedRows(space, test!.features, test!.n) : null;
    const found = await nearPairs(U, reps.length, T, hasTest ? test!.n : 0, train.d, searchOpts, basis);
    near = { ...found.self, pairs: mapPairs(found.self.pairs, reps, reps) };
    if (found.cross) {
      leakNear = membersOfUnits(found.cross.pairs, unitStart, unitRows);
      if (found.cross.recall) leakRecall = found.cross.recall.recall;
    }
  } else if (train.d > 0 && reps.length > 1) {
    const scaling = standardScalingOf(train);
    const Z = applyScaling(gatherRows(train.features, train.d, reps), reps.length, train.d, scaling);
    scale = await euclideanScale(Z, reps.length, train.d, { falseRows: opts.falseRows, maxRelativeDistance: opts.maxRelativeDistance, sampleRows: opts.scaleSampleRows, seed });
    const unit = scale.medianNn > 0 ? scale.medianNn : 1;
    const resolution = columnResolution(Z, reps.length, train.d);
    const columns = featureColumns(train.featureNames, train.d);
    const pairs = euclideanPairsSelf(Z, reps.length, train.d, scale, seed, resolution, columns);
    near = { pairs: mapPairs(pairs, reps, reps, unit), method: 'radius', candidates: pairs.count };
    if (hasTest) {
      const T = applyScaling(test!.features, test!.n, train.d, scaling);
      leakNear = mapPairs(euclideanPairsCross(T, test!.n, Z, reps.length, train.d, scale, seed, resolution, columns), null, reps, unit);
    }
  }
  const leakExact = hasTest ? exactMatches(content, n, rowContent(test!), test!.n, hashes) : null;

  // Clusters over exact groups: a group joins a cluster only if it is near every other member.
  const P = near.pairs;
  const ua = new Int32Array(P.count), ub = new Int32Array(P.count), strength = new Float64Array(P.count);
  for (let p = 0; p < P.count; p++) {
    ua[p] = unitOf[P.a[p]]; ub[p] = unitOf[P.b[p]];
    strength[p] = metric === 'cosine' ? P.sim[p] : -P.sim[p];
  }
  const cliques = cliqueClusters(reps.length, ua, ub, strength, P.count);
  const rowsOfUnit = (u: number) => Array.from(unitRows.subarray(unitStart[u], unitStart[u + 1]));
  const clusters: DuplicateCluster[] = [];
  for (const c of cliques.clusters) {
    const rows = c.units.flatMap(rowsOfUnit).sort((x, y) => x - y);
    clusters.push({ rows, kind: 'near', worstA: reps[c.worstA], worstB: reps[c.worstB], worstValue: metric === 'cosine' ? c.worstStrength : -c.worstStrength });
  }
  for (let u = 0; u < reps.length; u++) {
    if (unitStart[u + 1] - unitStart[u] < 2 || cliques.clusterOf[u] >= 0) continue;
    const rows = rowsOfUnit(u);
    clusters.push({ rows, kind: 'exact', worstA: rows[0], worstB: rows[1], worstValue: metric === 'cosine' ? 1 : 0 });
  }
  clusters.sort((x, y) => x.rows[0] - y.rows[0]);
  const cluster = new Int32Array(n).fill(-1);
  clusters.forEach((c, id) => { for (const r of c.rows) cluster[r] = id; });
  // Exact matches against chance on tabular and narrow rows (Euclidean), where rounded and
  // low-cardinality values coincide; embeddings and pixels (cosine) do not by chance.
  const anyExact = exactDupRowsOf(exactGroup) > 0 || (!!leakExact && leakExact.some((v) => v >= 0));
  const chance = metric === 'euclidean' && anyExact ? exactChance(train, test) : null;
  return { metric, cluster, clusters, exactGroup, near, scale, leakExact, leakNear, leakRecall, chance };
}

function exactDupRowsOf(group: Int32Array): number {
  let c = 0;
  for (let i = 0; i < group.length; i++) if (group[i] !== i) c++;
  return c;
}

const fmt = (x: number) => (Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(3) : x.toPrecision(2));

export const duplicates: Analyser<DuplicateOptions> = {
  name: 'duplicates',
  title: 'Duplicates and train/test leakage',
  needs: ['features', 'labels', 'test'],
  defaults: {
    metric: 'auto', threshold: 0.99, falseRows: 0.002, maxRelativeDistance: 0.25, scaleSampleRows: 2000,
    exactMaxRows: 100_000, boundDims: 32, lshRecall: 0.995, recallSampleRows: 500, maxPairRows: 50_000,
  },
  async run(ctx, opts): Promise<AnalyserResult> {
    const t0 = performance.now();
    if (!(opts.threshold > 0 && opts.threshold <= 1)) throw new SieveError(`threshold must be in (0, 1], got ${opts.threshold}`, { where: 'duplicates options' });
    if (!(opts.falseRows > 0)) throw new SieveError(`falseRows must be > 0, got ${opts.falseRows}`, { where: 'duplicates options' });
    if (!(opts.maxRelativeDistance > 0)) throw new SieveError(`maxRelativeDistance must be > 0, got ${opts.maxRelativeDistance}`, { where: 'duplicates options' });
    if (!['auto', 'cosine', 'euclidean'].includes(opts.metric)) throw new SieveError(`metric must be auto, cosine or euclidean, got ${opts.metric}`, { where: 'duplicates options' });
    const train = ctx.train, test = ctx.test;
    const names = train.classNames;
    const r = await analyseDuplicates(train, test, opts, ctx.seed, ctx.progress);
    const n = train.n;
    const cosine = r.metric === 'cosine';
    const ids = train.ids;

    const groupSize = new Int32Array(n);
    for (let i = 0; i < n; i++) groupSize[r.exactGroup[i]]++;
    let exactDupRows = 0;
    for (let i = 0; i < n; i++) if (r.exactGroup[i] !== i) exactDupRows++;

    // Exact matches against chance: the share of equal pairs beyond what chance gives on these
    // feature values (1 when chance is not estimable: every match counts, as before; 0 when
    // the matches are within chance's margin: listed, not counted as duplicates or leaks).
    const ch = r.chance;
    const beyond = (obs: number | null, expected: number | null, upper: number | null) =>
      obs === null || expected === null || upper === null ? 1 : obs > upper ? (obs - expected) / obs : 0;
    const trainBeyond = ch ? beyond(ch.trainPairs, ch.trainExpected, ch.trainUpper) : 1;
    const crossBeyond = ch ? beyond(ch.crossPairs, ch.crossExpected, ch.crossUpper) : 1;
    const chanceLevel = r.clusters.map((c) => c.kind === 'exact' && trainBeyond === 0);

    const conflict = new Uint8Array(r.clusters.length);
    const clusterRows: ExtraTable['rows'] = [];
    r.clusters.forEach((c, id) => {
      const labels = [...new Set(c.rows.map((i) => names[train.labels[i]]))].sort();
      conflict[id] = labels.length > 1 ? 1 : 0;
      clusterRows.push({
        cluster: id, size: c.rows.length, kind: c.kind, labels: labels.join('|'),
        label_conflict: labels.length > 1, first_id: ids[c.rows[0]],
        member_ids: c.rows.slice(0, 20).map((i) => ids[i]).join(' ') + (c.rows.length > 20 ? ' …' : ''),
        least_similar_pair: `${ids[c.worstA]} ${ids[c.worstB]}`,
        least_similarity: cosine ? c.worstValue : null,
        largest_relative_distance: cosine ? null : c.worstValue,
        chance_level: chanceLevel[id],
      });
    });

    // Closest other row per row, among its cluster's members and its near pairs.
    const best = new Float64Array(n).fill(NaN);
    const bestRow = new Int32Array(n).fill(-1);
    const better = (v: number, old: number) => Number.isNaN(old) || (cosine ? v > old : v < old);
    const offer = (i: number, j: number, v: number) => { if (better(v, best[i])) { best[i] = v; bestRow[i] = j; } };
    for (let i = 0; i < n; i++) if (r.exactGroup[i] !== i) { offer(i, r.exactGroup[i], cosine ? 1 : 0); offer(r.exactGroup[i], i, cosine ? 1 : 0); }
    for (let p = 0; p < r.near.pairs.count; p++) {
      const a = r.near.pairs.a[p], b = r.near.pairs.b[p], v = r.near.pairs.sim[p];
      offer(a, b, v);
      offer(b, a, v);
    }

    // Which feature columns a near pair differs in (tabular rows): a pair that differs in one
    // column only is the same record with one value changed, and the user judges which.
    const cols = cosine ? [] : featureColumns(train.featureNames, train.d);
    const colName = (c: Int32Array) => { const f = train.featureNames[c[0]] ?? `x${c[0]}`; const eq = f.indexOf('='); return c.length > 1 || eq > 0 ? f.slice(0, eq > 0 ? eq : undefined) : f; };
    const differsIn = (X: Float32Array, i: number, Y: Float32Array, j: number): string | null => {
      if (cosine) return null;
      const d = train.d, out: string[] = [];
      for (const c of cols) {
        let diff = false;
        for (const q of c) if (X[i * d + q] !== Y[j * d + q]) { diff = true; break; }
        if (diff) out.push(colName(c));
      }
      return out.length <= 3 ? out.join(', ') : `${out.length} columns`;
    };
    // Leakage: test rows with an exact or near twin in train.
    const leakRows: ExtraTable['rows'] = [];
    const leakedTest = new Set<number>();
    const leakOfTrain = new Map<number, string[]>();
    const exactLeaked = new Set<number>();
    // Train rows with a test twin that counts (a near one, or an exact one beyond chance).
    const leakCounts = new Set<number>();
    const addLeak = (t: number, tr: number, v: number, kind: string) => {
      leakedTest.add(t);
      if (kind === 'exact') exactLeaked.add(t);
      const chanceLeak = kind === 'exact' && crossBeyond === 0;
      if (!chanceLeak) leakCounts.add(tr);
      leakRows.push({
        test_id: test!.ids[t], train_id: ids[tr], similarity: cosine ? v : null, relative_distance: cosine ? null : v,
        differs_in: kind === 'near' ? differsIn(test!.features, t, train.features, tr) : null,
        kind, same_label: test!.labels[t] === train.labels[tr], chance_level: chanceLeak,
      });
      const l = leakOfTrain.get(tr);
      if (l) { if (l.length < 5) l.push(test!.ids[t]); } else leakOfTrain.set(tr, [test!.ids[t]]);
    };
    if (test && r.leakExact) for (let t = 0; t < test.n; t++) if (r.leakExact[t] >= 0) addLeak(t, r.leakExact[t], cosine ? 1 : 0, 'exact');
    if (test && r.leakNear) for (let p = 0; p < r.leakNear.count; p++) {
      const t = r.leakNear.a[p], tr = r.leakNear.b[p];
      if (r.leakExact && r.leakExact[t] >= 0) continue;
      addLeak(t, tr, r.leakNear.sim[p], 'near');
    }

    const findings: Finding[] = [];
    for (let i = 0; i < n; i++) {
      const c = r.cluster[i];
      const leaks = leakOfTrain.get(i);
      const hasPair = bestRow[i] >= 0;
      if (c < 0 && !leaks && !hasPair) continue;
      const first = c >= 0 ? r.clusters[c].rows[0] : i;
      const chanceMatch = c >= 0 && chanceLevel[c];
      const redundant = c >= 0 && first !== i && !chanceMatch;
      const v = best[i];
      findings.push({
        id: ids[i],
        // Higher = more of a duplicate: 1 for exact copies.
        score: Number.isNaN(v) ? 0 : cosine ? Math.max(v, 0) : Math.max(0, 1 - v),
        flagged: redundant || (c >= 0 && conflict[c] === 1 && !chanceMatch) || leakCounts.has(i),
        detail: {
          cluster: c >= 0 ? c : null,
          cluster_size: c >= 0 ? r.clusters[c].rows.length : null,
          kind: groupSize[r.exactGroup[i]] > 1 ? 'exact' : hasPair ? 'near' : null,
          duplicate_of: redundant ? ids[first] : null,
          // An exact match as likely chance as copy (see the verdict): the group's first row.
          chance_match_of: chanceMatch && first !== i ? ids[first] : null,
          nearest_duplicate_id: hasPair ? ids[bestRow[i]] : null,
          best_similarity: cosine && !Number.isNaN(v) ? v : null,
          relative_distance: !cosine && !Number.isNaN(v) ? v : null,
          label: names[train.labels[i]],
          label_conflict: c >= 0 && conflict[c] === 1,
          leaked_test_ids: leaks ? leaks.join(' ') : null,
        },
      });
    }

    const pairRows: ExtraTable['rows'] = [];
    const pairTotal = r.near.pairs.count;
    for (let p = 0; p < pairTotal && pairRows.length < opts.maxPairRows; p++) {
      const a = r.near.pairs.a[p], b = r.near.pairs.b[p], v = r.near.pairs.sim[p];
      pairRows.push({
        a_id: ids[a], b_id: ids[b], similarity: cosine ? v : null, relative_distance: cosine ? null : v,
        differs_in: differsIn(train.features, a, train.features, b),
        kind: 'near', same_cluster: r.cluster[a] >= 0 && r.cluster[a] === r.cluster[b], same_label: train.labels[a] === train.labels[b],
      });
    }

    const dup = r.clusters.filter((_, id) => !chanceLevel[id]);
    const chanceClusters = r.clusters.filter((_, id) => chanceLevel[id]);
    const rowsInClusters = dup.reduce((s, c) => s + c.rows.length, 0);
    const redundantRows = rowsInClusters - dup.length;
    const rowsInChance = chanceClusters.reduce((s, c) => s + c.rows.length, 0);
    const conflicting = r.clusters.reduce((s, _, id) => s + (conflict[id] && !chanceLevel[id] ? 1 : 0), 0);
    const chanceConflicts = r.clusters.reduce((s, _, id) => s + (conflict[id] && chanceLevel[id] ? 1 : 0), 0);
    let exactCopiesInDup = 0;
    for (const c of dup) for (const i of c.rows) if (r.exactGroup[i] !== i) exactCopiesInDup++;
    const leaked = leakedTest.size;
    const exactLeakRows = exactLeaked.size, nearLeakRows = leaked - exactLeakRows;
    const recall = r.near.recall?.recall ?? null;
    let worstInClusters: number | null = null;
    for (const c of dup) if (worstInClusters === null || (cosine ? c.worstValue < worstInClusters : c.worstValue > worstInClusters)) worstInClusters = c.worstValue;

    // The detection limit in the units of the metric: the largest distance (smallest cosine) counted as near.
    const radius = r.scale ? r.scale.radius : null;
    const rule = cosine
      ? `cosine similarity ≥ ${opts.threshold}, an angle of at most ${(Math.acos(Math.min(1, opts.threshold)) * 180 / Math.PI).toPrecision(2)}° between the ${textOnly(train) ? 'hashed TF-IDF rows of the text' : 'standardised rows'}`
      : `standardised Euclidean distance ≤ ${fmt(radius ?? 0)} (${fmt(r.scale?.relativeThreshold ?? 0)} × the median nearest-neighbour distance ${fmt(r.scale?.medianNn ?? 0)}), a distance chance reaches for ~${fmt(r.scale?.chanceRows ?? 0)} rows at intrinsic dimension ${(r.scale?.intrinsicDim ?? 0).toFixed(1)}: copies moved farther apart are not told from chance neighbours${train.d > 1 ? '; rows equal on every column but one are near when chance rarely makes two rows agree on all the others and that close in the one' : ''}`;
    const about = (x: number) => (x < 0.05 ? 'almost none' : `about ${x < 10 ? x.toFixed(1) : count(Math.round(x))}`);
    const chanceText = (obs: number, expected: number) => `${count(obs)} equal pair${obs === 1 ? '' : 's'}, ${about(expected)} expected by chance on these feature values`;
    const plural = (k: number, one: string, many: string) => `${count(k)} ${k === 1 ? one : many}`;
    const parts: string[] = [];
    if (r.clusters.length === 0) parts.push(`No duplicates within train: no two train rows are identical or within ${rule}.`);
    else {
      if (dup.length) {
        const chanceNote = ch && exactCopiesInDup ? `: ${chanceText(ch.trainPairs, ch.trainExpected)}` : '';
        parts.push(`${count(rowsInClusters)} train rows fall in ${plural(dup.length, 'duplicate cluster', 'duplicate clusters')} (${count(exactCopiesInDup)} exact copies${chanceNote}; near: ${rule}); keeping one row per cluster would drop ${plural(redundantRows, 'row', 'rows')} (${pct(redundantRows / Math.max(n, 1))}).`);
        if (worstInClusters !== null && dup.some((c) => c.kind === 'near')) parts.push(`Every two rows of a cluster are near duplicates; the least similar pair of any cluster is at ${cosine ? `cosine ${fmt(worstInClusters)}` : `${fmt(worstInClusters)} × the median nearest-neighbour distance`}.`);
      }
      if (chanceClusters.length) {
        parts.push(`${count(rowsInChance)} train rows share their exact feature values with another (${plural(chanceClusters.length, 'group', 'groups')}; ${chanceText(ch!.trainPairs, ch!.trainExpected)}): consistent with chance, so they are listed but not counted as duplicates${chanceConflicts ? `; ${plural(chanceConflicts, 'group carries', 'groups carry')} different labels (these features do not settle the label)` : ''}.`);
        if (!dup.length) parts.push(`No near duplicates: none within ${rule}.`);
      }
    }
    // Rows with a near pair that complete linkage kept out of every cluster (their partner's
    // cluster has a member they are not near): listed, not counted, and said, so that the
    // findings hold no row the verdict does not account for.
    const leftOut = findings.filter((f) => f.detail.cluster === null && f.detail.nearest_duplicate_id !== null).length;
    if (leftOut) parts.push(`${leftOut === 1 ? '1 more row is a near duplicate' : `${count(leftOut)} more rows are near duplicates`} of a row in a cluster but not of every member of it, so ${leftOut === 1 ? 'it joins' : 'they join'} none: listed (nearest_duplicate_id), not counted.`);
    if (conflicting) parts.push(`${count(conflicting)} cluster${conflicting > 1 ? 's carry' : ' carries'} conflicting labels.`);
    if (test) {
      const share = (k: number) => pct(k / Math.max(test.n, 1));
      if (!leaked) parts.push('No test row has a duplicate in train.');
      else if (ch && ch.crossPairs !== null && exactLeakRows && crossBeyond === 0) {
        parts.push(`${plural(exactLeakRows, 'test row', 'test rows')} (${share(exactLeakRows)}) equal${exactLeakRows === 1 ? 's' : ''} a train row (${chanceText(ch.crossPairs, ch.crossExpected!)}): consistent with chance, not evidence of leakage (though a model that memorises rows has seen them).`);
        if (nearLeakRows) parts.push(`${plural(nearLeakRows, 'test row', 'test rows')} (${share(nearLeakRows)}) ${nearLeakRows === 1 ? 'has' : 'have'} a near duplicate in train: scores on them overstate generalisation.`);
      } else {
        const chanceNote = ch && ch.crossPairs !== null && exactLeakRows ? ` (${count(exactLeakRows)} exact: ${chanceText(ch.crossPairs, ch.crossExpected!)})` : '';
        parts.push(`${plural(leaked, 'test row', 'test rows')} (${share(leaked)}) ${leaked === 1 ? 'has' : 'have'} a duplicate in train${chanceNote}: scores on ${leaked === 1 ? 'it overstate' : 'them overstate'} generalisation.`);
      }
    } else parts.push('Leakage not checked: no test split was read.');
    // What "flagged" counts, which is not the rows a kept-one-per-cluster would drop (a tryout
    // read 126 flagged beside "would drop 90").
    const flaggedRows = findings.filter((f) => f.flagged);
    if (flaggedRows.length) {
      const copies = flaggedRows.filter((f) => f.detail.duplicate_of !== null).length;
      const conflicted = flaggedRows.filter((f) => f.detail.duplicate_of === null && f.detail.label_conflict === true).length;
      const leaking = flaggedRows.filter((f) => f.detail.duplicate_of === null && f.detail.label_conflict !== true && f.detail.leaked_test_ids !== null).length;
      const why = [
        copies ? `${count(copies)} ${copies === 1 ? 'copy' : 'copies'} beyond a cluster's first row` : '',
        conflicted ? `${count(conflicted)} first ${conflicted === 1 ? 'row' : 'rows'} of clusters with conflicting labels` : '',
        leaking ? `${count(leaking)} more train ${leaking === 1 ? 'row' : 'rows'} with a twin in test` : '',
      ].filter(Boolean);
      parts.push(`Flagged: ${plural(flaggedRows.length, 'row', 'rows')} (${why.join(', ')}).`);
    }
    if (r.near.method === 'lsh') parts.push(`Near duplicates were found with an approximate index; measured recall ${recall === null ? 'n/a (no pairs in the sample)' : pct(recall)} on a ${r.near.recall!.sampleRows}-row exact sample.`);

    // Severity counts exact copies only in the share beyond chance.
    const countedRedundant = dup.reduce((s, c) => s + (c.rows.length - 1) * (c.kind === 'exact' ? trainBeyond : 1), 0);
    const redundantShare = countedRedundant / Math.max(n, 1);
    const countedLeaks = nearLeakRows + exactLeakRows * crossBeyond;
    const leakShare = test ? countedLeaks / Math.max(test.n, 1) : 0;
    let severity: 'ok' | 'info' | 'warning' | 'problem' = r.clusters.length === 0 && !leaked ? 'ok' : redundantShare < 0.01 ? 'info' : redundantShare < 0.05 ? 'warning' : 'problem';
    if (conflicting && severity !== 'problem') severity = 'warning';
    if (countedLeaks > 0) severity = leakShare >= 0.01 ? 'problem' : severity === 'problem' ? 'problem' : 'warning';

    const sizeCounts = new Map<string, number>();
    for (const c of r.clusters) {
      const key = `${c.rows.length}|${c.kind}`;
      sizeCounts.set(key, (sizeCounts.get(key) ?? 0) + 1);
    }
    const sizeBars = [...sizeCounts.entries()]
      .map(([key, clusters]) => { const [size, kind] = key.split('|'); return { size: Number(size), cluster_size: `${size} rows, ${kind}`, clusters }; })
      .sort((a, b) => a.size - b.size || (a.cluster_size < b.cluster_size ? -1 : 1))
      .map(({ cluster_size, clusters }) => ({ cluster_size, clusters }));
    return {
      name: 'duplicates',
      summary: {
        verdict: parts.join(' '),
        severity,
        figures: {
          rows: n,
          metric: r.metric,
          threshold: cosine ? opts.threshold : null,
          relative_threshold: r.scale?.relativeThreshold ?? null,
          near_radius: radius,
          max_angle_degrees: cosine ? Math.acos(Math.min(1, opts.threshold)) * 180 / Math.PI : null,
          median_nn_distance: r.scale?.medianNn ?? null,
          intrinsic_dim: r.scale?.intrinsicDim ?? null,
          chance_rows: r.scale?.chanceRows ?? null,
          content: rowContent(train).kind,
          exact_duplicate_rows: exactDupRows,
          near_pairs: pairTotal,
          clusters: r.clusters.length,
          rows_in_clusters: rowsInClusters,
          redundant_rows: redundantRows,
          least_similar_in_clusters: worstInClusters,
          conflicting_clusters: conflicting,
          exact_chance_model: ch?.model ?? null,
          exact_pairs: ch?.trainPairs ?? null,
          exact_pairs_expected_by_chance: ch?.trainExpected ?? null,
          exact_pairs_chance_upper: ch?.trainUpper ?? null,
          chance_level_clusters: chanceClusters.length,
          chance_level_conflicting_clusters: chanceConflicts,
          leak_exact_pairs: ch?.crossPairs ?? null,
          leak_exact_pairs_expected_by_chance: ch?.crossExpected ?? null,
          leak_exact_pairs_chance_upper: ch?.crossUpper ?? null,
          leaked_test_rows_exact: test ? exactLeakRows : null,
          leaked_test_rows_counted: test ? countedLeaks : null,
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
      findingColumns: FINDING_COLUMNS,
      tables: [
        { name: 'duplicate_clusters', rows: clusterRows, columns: CLUSTER_COLUMNS },
        { name: 'duplicate_pairs', rows: pairRows, columns: PAIR_COLUMNS },
        { name: 'leakage', rows: leakRows, columns: LEAK_COLUMNS },
      ],
      plots: r.clusters.length || leaked ? [
        duplicateCostChart(n, r.clusters.flatMap((c, i) => (chanceLevel[i] ? [] : [{ rows: c.rows.length, conflict: conflict[i] === 1 }])), test ? { rows: test.n, leaked: nearLeakRows + (crossBeyond > 0 ? exactLeakRows : 0) } : null),
        ...(sizeBars.length ? [barChart({ title: 'Duplicate clusters by size and kind', values: sizeBars, category: 'cluster_size', value: 'clusters', integer: true, valueTitle: 'clusters' })] : []),
      ] : [],
      seconds: secondsSince(t0),
    };
  },
};

// The columns of the findings and tables above, declared so a pool without duplicates gets the
// same (empty) tables to query as one with them.
const FINDING_COLUMNS: Record<string, ColumnKindName> = {
  cluster: 'number', cluster_size: 'number', kind: 'text', duplicate_of: 'text', chance_match_of: 'text',
  nearest_duplicate_id: 'text', best_similarity: 'number', relative_distance: 'number', label: 'text',
  label_conflict: 'boolean', leaked_test_ids: 'text',
};
const CLUSTER_COLUMNS: Record<string, ColumnKindName> = {
  cluster: 'number', size: 'number', kind: 'text', labels: 'text', label_conflict: 'boolean', first_id: 'text',
  member_ids: 'text', least_similar_pair: 'text', least_similarity: 'number', largest_relative_distance: 'number',
  chance_level: 'boolean',
};
const PAIR_COLUMNS: Record<string, ColumnKindName> = {
  a_id: 'text', b_id: 'text', similarity: 'number', relative_distance: 'number', differs_in: 'text', kind: 'text',
  same_cluster: 'boolean', same_label: 'boolean',
};
const LEAK_COLUMNS: Record<string, ColumnKindName> = {
  test_id: 'text', train_id: 'text', similarity: 'number', relative_distance: 'number', differs_in: 'text', kind: 'text',
  same_label: 'boolean', chance_level: 'boolean',
};

/**
 * What the duplicates mean for the pool, as shares with their counts printed: rows with no
 * copy, the one row kept per cluster, copies that could be dropped, rows whose cluster
 * carries conflicting labels (a decision, not a drop), and test rows with a copy in train.
 */
function duplicateCostChart(n: number, clusters: { rows: number; conflict: boolean }[], test: { rows: number; leaked: number } | null): PlotSpec {
  const inClusters = clusters.reduce((s, c) => s + c.rows, 0);
  const conflictRows = clusters.reduce((s, c) => s + (c.conflict ? c.rows : 0), 0);
  const plain = clusters.filter((c) => !c.conflict);
  const values: { what: string; split: string; rows: number; share: number; label: string }[] = [];
  const add = (what: string, split: string, rows: number, of: number) =>
    values.push({ what, split, rows, share: of ? rows / of : 0, label: `${count(rows)} (${pct(of ? rows / of : 0)})` });
  add('train rows with no copy', 'train', n - inClusters, n);
  add('kept: one row per clean cluster', 'train', plain.length, n);
  add('droppable copies (labels agree)', 'train', plain.reduce((s, c) => s + c.rows - 1, 0), n);
  add('in clusters with conflicting labels', 'train', conflictRows, n);
  if (test) add('test rows with a copy in train', 'test', test.leaked, test.rows);
  return {
    title: 'What the duplicates mean: share of rows (counts printed; log scale)',
    vegaLite: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 360,
      height: { step: 22 },
      data: { values },
      encoding: {
        y: { field: 'what', type: 'nominal', sort: null, title: null, axis: { labelLimit: 0 } },
        tooltip: [{ field: 'what' }, { field: 'rows' }, { field: 'share', format: '.2%' }],
      },
      layer: [
        {
          // Shares span 1e-4 to 1: a log axis keeps a handful of copies visible next to the bulk.
          transform: [{ calculate: 'max(datum.share, 1e-4)', as: 'plotted' }],
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'plotted', type: 'quantitative', title: 'share of the split', scale: { type: 'log', domain: [1e-4, 1] }, axis: { format: '~%' } },
            x2: { datum: 1e-4 },
            // The legend names the test split only where it was read.
            color: { field: 'split', type: 'nominal', title: null, scale: test ? { domain: ['train', 'test'], range: ['#4c78a8', '#e45756'] } : { domain: ['train'], range: ['#4c78a8'] }, legend: { orient: 'bottom' } },
          },
        },
        { mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 }, transform: [{ calculate: 'max(datum.share, 1e-4)', as: 'plotted' }], encoding: { x: { field: 'plotted', type: 'quantitative' }, text: { field: 'label' } } },
      ],
    },
  };
}
