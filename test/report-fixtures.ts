/**
 * Generated data with known ground truth for the report tests: small images of three shapes,
 * some labels flipped on purpose, some rows planted as duplicates, and the analyser results a
 * correct analyser would return for them (built here from the known truth, so the renderer and
 * table writer are tested against exactly known content).
 */
import { createRng } from '../compute/rng.ts';
import { AUDIT_FORMAT, type AuditReport, type AuditResult } from '../src/analysers/audit.ts';
import type { Finding } from '../src/analysers/types.ts';
import type { PoolSplit } from '../src/pool/types.ts';

export const SIDE = 12;
export const CLASSES = ['circle', 'square', 'cross'];

function drawShape(cls: number, rng: ReturnType<typeof createRng>): Uint8Array {
  const img = new Uint8Array(SIDE * SIDE);
  const c = (SIDE - 1) / 2;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const dx = x - c, dy = y - c;
      let on = false;
      if (cls === 0) on = Math.abs(Math.hypot(dx, dy) - 4) < 1;
      else if (cls === 1) on = Math.max(Math.abs(dx), Math.abs(dy)) > 3 && Math.max(Math.abs(dx), Math.abs(dy)) < 5;
      else on = Math.abs(dx - dy) < 1 || Math.abs(dx + dy) < 1;
      img[y * SIDE + x] = on ? 200 + rng.int(56) : rng.int(30);
    }
  }
  return img;
}

export interface Fixture {
  split: PoolSplit;
  /** Rows whose label was flipped (ground truth for label errors). */
  flipped: Set<number>;
  /** Planted duplicate clusters, as row indices. */
  clusters: number[][];
}

export function makeSplit(n = 60, seed = 7, withPixels = true): Fixture {
  const rng = createRng(seed);
  const px = SIDE * SIDE;
  const data = new Uint8Array(n * px);
  const labels = new Int32Array(n);
  const clean = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    clean[i] = i % 3;
    data.set(drawShape(clean[i], rng), i * px);
  }
  // Plant two duplicate clusters: rows 3, 33 copy row 0 (a circle); row 10 copies row 4, relabelled.
  const clusters = [[0, 3, 33].filter((r) => r < n), [4, 10].filter((r) => r < n)];
  for (const cl of clusters) for (const r of cl.slice(1)) { data.copyWithin(r * px, cl[0] * px, cl[0] * px + px); clean[r] = clean[cl[0]]; }
  labels.set(clean);
  const flipped = new Set<number>();
  for (const r of [5, 17, 29, 42, 10]) if (r < n) { labels[r] = (clean[r] + 1) % 3; flipped.add(r); }
  const features = new Float32Array(n * px);
  for (let i = 0; i < data.length; i++) features[i] = data[i] / 255;
  const site = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : i % 2 === 0 ? 'north' : 'south'));
  const split: PoolSplit = {
    split: 'train',
    n,
    d: withPixels ? px : 3,
    ids: Array.from({ length: n }, (_, i) => `r${String(i).padStart(3, '0')}`),
    labels,
    classNames: CLASSES,
    features: withPixels ? features : Float32Array.from({ length: n * 3 }, (_, k) => (k % 3 === 2 ? (k % 2) : k / 7)),
    featureNames: withPixels ? Array.from({ length: px }, (_, j) => `pixels[${j}]`) : ['age', 'amount', 'purpose=car'],
    groups: { site },
    ...(withPixels ? { pixels: { width: SIDE, height: SIDE, channels: 1, data } } : {}),
  };
  return { split, flipped, clusters };
}

/** Restricts a split to some rows, as a subset audit does. */
export function subsetOf(split: PoolSplit, rows: number[]): PoolSplit {
  const d = split.d;
  const px = split.pixels ? split.pixels.width * split.pixels.height * split.pixels.channels : 0;
  const features = new Float32Array(rows.length * d);
  const data = new Uint8Array(rows.length * px);
  rows.forEach((r, i) => {
    features.set(split.features.subarray(r * d, (r + 1) * d), i * d);
    if (split.pixels) data.set(split.pixels.data.subarray(r * px, (r + 1) * px), i * px);
  });
  return {
    ...split,
    n: rows.length,
    ids: rows.map((r) => split.ids[r]),
    labels: Int32Array.from(rows, (r) => split.labels[r]),
    features,
    groups: Object.fromEntries(Object.entries(split.groups).map(([k, v]) => [k, rows.map((r) => v[r])])),
    ...(split.pixels ? { pixels: { ...split.pixels, data } } : {}),
  };
}

/** The results a correct set of analysers would give on `split`, given the planted truth. */
export function resultsFor(split: PoolSplit, flipped: Set<number>, clusters: number[][]): AuditResult[] {
  const labelFindings: Finding[] = split.ids.map((id, i) => {
    const bad = flipped.has(i);
    const given = split.labels[i];
    const suggested = bad ? (given + 2) % 3 : given;
    return {
      id,
      score: bad ? 0.9 - i / 1000 : 0.05 + (i % 10) / 100,
      flagged: bad,
      detail: {
        given_label: split.classNames[given],
        suggested_label: split.classNames[suggested],
        self_confidence: bad ? 0.1 : 0.9,
        margin: bad ? -0.5 : 0.6,
      },
    };
  });
  const dupFindings: Finding[] = [];
  clusters.forEach((cl, c) => {
    for (const r of cl) {
      const id = split.ids[r];
      if (id !== undefined) dupFindings.push({ id, score: 1, flagged: true, detail: { cluster: c, kind: 'exact', cluster_size: cl.length } });
    }
  });
  const counts = new Array(split.classNames.length).fill(0);
  for (const l of split.labels) counts[l]++;
  const siteRows: Record<string, string | number | null>[] = [];
  const site = split.groups.site ?? [];
  for (const g of ['north', 'south', null]) {
    const members = site.map((v, i) => (v === g ? i : -1)).filter((i) => i >= 0);
    const errors = members.filter((i) => flipped.has(i)).length;
    siteRows.push({
      group: g ?? '(missing)',
      rows: members.length,
      label_error_rate: members.length ? errors / members.length : null,
      accuracy: members.length ? 1 - errors / members.length : null,
      accuracy_low: members.length ? Math.max(0, 1 - errors / members.length - 0.1) : null,
      accuracy_high: members.length ? Math.min(1, 1 - errors / members.length + 0.05) : null,
    });
  }
  return [
    {
      name: 'label-errors', title: 'Label errors', seconds: 0.1,
      summary: {
        verdict: `About ${Math.round((100 * flipped.size) / split.n)}% of labels look wrong (${flipped.size} rows).`,
        severity: 'warning',
        figures: { flagged: flipped.size, flagged_share: flipped.size / split.n, method: 'confident learning' },
      },
      findings: labelFindings,
      tables: [],
      plots: [],
    },
    {
      name: 'class-imbalance', title: 'Class imbalance', seconds: 0.01,
      summary: { verdict: 'Classes are balanced.', severity: 'ok', figures: { imbalance_ratio: Math.max(...counts) / Math.min(...counts) } },
      findings: [],
      tables: [{ name: 'class_counts', rows: split.classNames.map((c, i) => ({ class: c, rows: counts[i], share: counts[i] / split.n })) }],
      plots: [{
        title: 'Rows per class',
        vegaLite: {
          data: { values: split.classNames.map((c, i) => ({ class: c, rows: counts[i] })) },
          mark: 'bar',
          encoding: { x: { field: 'class', type: 'nominal' }, y: { field: 'rows', type: 'quantitative' } },
        },
      }],
    },
    {
      name: 'duplicates', title: 'Duplicates and leakage', seconds: 0.02,
      summary: { verdict: `${dupFindings.length} rows sit in ${clusters.length} duplicate clusters; one has conflicting labels.`, severity: 'problem', figures: { clusters: clusters.length, rows_in_clusters: dupFindings.length } },
      findings: dupFindings,
      tables: [],
      plots: [{
        title: 'Cluster sizes',
        vegaLite: {
          data: { values: clusters.map((cl, c) => ({ cluster: String(c), size: cl.length })) },
          mark: 'bar',
          encoding: { y: { field: 'cluster', type: 'nominal' }, x: { field: 'size', type: 'quantitative' } },
        },
      }],
    },
    {
      name: 'fairness', title: 'Fairness across groups', seconds: 0.03,
      summary: { verdict: 'Accuracy differs little between sites.', severity: 'info', figures: { worst_group_accuracy: Math.min(...siteRows.map((r) => Number(r.accuracy ?? 1))) } },
      findings: [],
      tables: [{ name: 'per_group', rows: siteRows }],
      plots: [{
        title: 'Accuracy per site with 95% interval',
        vegaLite: {
          data: { values: siteRows },
          layer: [
            { mark: 'point', encoding: { y: { field: 'group', type: 'nominal' }, x: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] } } } },
            { mark: 'rule', encoding: { y: { field: 'group', type: 'nominal' }, x: { field: 'accuracy_low', type: 'quantitative' }, x2: { field: 'accuracy_high' } } },
          ],
        },
      }],
    },
  ];
}

export function reportFor(fx: Fixture, scope: 'pool' | 'subset' = 'pool', split = fx.split): AuditReport {
  const rowsInSplit = new Set(split.ids);
  const full = fx.split;
  // Truth restricted to the audited rows, re-indexed to the audited split.
  const idx = new Map(split.ids.map((id, i) => [id, i]));
  const flipped = new Set([...fx.flipped].filter((r) => rowsInSplit.has(full.ids[r])).map((r) => idx.get(full.ids[r])!));
  const clusters = fx.clusters.map((cl) => cl.filter((r) => rowsInSplit.has(full.ids[r])).map((r) => idx.get(full.ids[r])!)).filter((cl) => cl.length > 1);
  return {
    format: AUDIT_FORMAT,
    scope,
    pool: {
      name: 'shapes', classes: full.classNames, trainRows: full.n, testRows: null, features: full.d,
      groups: Object.keys(full.groups), hasPixels: !!full.pixels, hasText: false,
    },
    rows: split.n,
    ...(scope === 'subset' ? { subset: { file: 'picked.csv', rows: split.n } } : {}),
    model: { kind: 'logistic-regression', params: { l2: 1 }, seeds: [0] },
    folds: 5,
    seed: 0,
    testNote: 'The test split was not read: leakage was not checked (use --organiser).',
    results: resultsFor(split, flipped, clusters),
    skipped: [{ name: 'outliers', title: 'Outliers', reason: 'skipped in this fixture' }],
    seconds: 0.2,
    train: split,
  };
}
