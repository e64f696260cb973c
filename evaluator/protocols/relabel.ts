/**
 * Relabel protocol: the participant submits (row, new label) corrections; they are applied to
 * the whole pool and the fixed model is trained on every pool row, once per seed, and scored
 * on the hidden test split.
 */
import type { ModelSpec } from '../types.ts';
import {
  checkPool, checkRowIndices, checkScoring, checkSpec, checkTest, EvaluatorInputError, prepareFeatures, trainAndScore,
  type EvaluationOutput, type PoolInput, type ScoringOptions, type TestInput,
} from './common.ts';

export interface Corrections {
  /** Pool row indices (distinct). */
  rows: Int32Array;
  /** New class index per corrected row. */
  labels: Int32Array;
}

export interface RelabelInput extends ScoringOptions {
  spec: ModelSpec;
  pool: PoolInput;
  corrections: Corrections;
  test: TestInput;
}

export interface RelabelOutput extends EvaluationOutput {
  /** Corrections that changed a label (the others restate the pool's label). */
  changed: number;
}

/** The pool's labels with the corrections applied (validated). */
export function applyCorrections(y: Int32Array, k: number, corrections: Corrections): { labels: Int32Array; changed: number } {
  const { rows, labels } = corrections;
  if (rows.length !== labels.length) {
    throw new EvaluatorInputError(`${rows.length} rows but ${labels.length} labels`, 'corrections');
  }
  checkRowIndices(rows, y.length, 'corrections.rows', true);
  const bad: string[] = [];
  let nBad = 0;
  for (let j = 0; j < labels.length; j++) {
    if (!(labels[j] >= 0 && labels[j] < k)) { nBad++; if (bad.length < 5) bad.push(`position ${j}: ${labels[j]}`); }
  }
  if (nBad) throw new EvaluatorInputError(`labels must be class indices in [0, ${k})`, 'corrections.labels', bad, nBad);
  const out = Int32Array.from(y);
  let changed = 0;
  for (let j = 0; j < rows.length; j++) {
    if (out[rows[j]] !== labels[j]) changed++;
    out[rows[j]] = labels[j];
  }
  return { labels: out, changed };
}

export async function evaluateRelabel(input: RelabelInput): Promise<RelabelOutput> {
  const { spec, pool, test } = input;
  checkSpec(spec);
  checkPool(pool, input.features);
  checkTest(test, pool, input.features);
  checkScoring(input, test, pool.k);
  const { labels, changed } = applyCorrections(pool.y, pool.k, input.corrections);
  const features = prepareFeatures(spec, pool, test, input.features);
  const train = { X: features.Xpool, n: pool.n, d: features.d, y: labels, k: pool.k };
  const out = await trainAndScore(spec, pool, features, train, test, input);
  return { ...out, changed };
}
