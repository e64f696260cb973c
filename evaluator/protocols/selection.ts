/**
 * Selection protocol (DataPerf / DataComp style): the participant picks a subset of pool
 * rows; the fixed model is trained on exactly those rows with the pool's labels, once per
 * seed, and scored on the hidden test split.
 */
import type { ModelSpec } from '../types.ts';
import {
  checkPool, checkRowIndices, checkScoring, checkSpec, checkTest, prepareFeatures,
  trainAndScore, type EvaluationOutput, type PoolInput, type ScoringOptions, type TestInput,
} from './common.ts';
import { gatherRows } from '../../compute/rows.ts';

export interface SelectionInput extends ScoringOptions {
  spec: ModelSpec;
  pool: PoolInput;
  /** Pool row indices to train on (distinct, any order; order does not change the score). */
  subset: Int32Array;
  test: TestInput;
}

export async function evaluateSelection(input: SelectionInput): Promise<EvaluationOutput> {
  const { spec, pool, test } = input;
  checkSpec(spec);
  checkPool(pool, input.features);
  checkTest(test, pool, input.features);
  checkScoring(input, test, pool.k);
  checkRowIndices(input.subset, pool.n, 'subset');
  // Train rows in ascending pool order, so that the score depends on the set, not its order.
  const rows = Int32Array.from(input.subset).sort();
  const features = prepareFeatures(spec, pool, test, input.features);
  const train = { X: gatherRows(features.Xpool, features.d, rows), n: rows.length, d: features.d, y: gatherRows(pool.y, 1, rows), k: pool.k };
  return trainAndScore(spec, pool, features, train, test, input);
}
