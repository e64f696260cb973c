/**
 * A challenge's `one_vs_rest: <class>` view of a pool: that class is positive (index 1) and
 * every other class is merged into `other` (index 0), as DataPerf's binary concept tasks
 * score a pool. Only labels change; rows, ids and features are the pool's own.
 */
import { REST_CLASS } from '../challenge/schema.ts';
import type { PoolSplit } from '../pool/types.ts';
import { SieveError } from '../util/errors.ts';

/** The two class names of the view: [other, positive]. */
export function oneVsRestClasses(positive: string): string[] {
  return [REST_CLASS, positive];
}

/** The positive class's index in the pool, or a precise error naming the pool's classes. */
export function positiveIndex(poolClasses: readonly string[], positive: string, where: string): number {
  const c = poolClasses.indexOf(positive);
  if (c < 0) {
    throw new SieveError(`one_vs_rest class "${positive}" is not a class of the pool`, { where, examples: [`classes: ${poolClasses.join(', ')}`] });
  }
  return c;
}

/** Pool class indices → 1 for the positive class, 0 for every other. */
export function binaryLabels(labels: Int32Array, positive: number): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i] === positive ? 1 : 0;
  return out;
}

export function oneVsRestSplit(split: PoolSplit, positive: number): PoolSplit {
  return { ...split, labels: binaryLabels(split.labels, positive), classNames: oneVsRestClasses(split.classNames[positive]) };
}
