/**
 * Every analyser, in the order an audit runs them (cheap and model-free first; those that
 * share the out-of-sample predictions next to each other). `sieve audit --only` picks by name.
 */
import { SieveError } from '../util/errors.ts';
import type { Analyser } from './types.ts';
import { classImbalance } from './class-imbalance.ts';
import { labelErrors } from './label-errors.ts';
import { labelErrorsKnn } from './label-errors-knn.ts';
import { duplicates } from './duplicates.ts';
import { outliers } from './outliers.ts';
import { fairness } from './fairness.ts';

export const analysers: Analyser<any>[] = [classImbalance, labelErrors, labelErrorsKnn, duplicates, outliers, fairness];

export function getAnalyser(name: string): Analyser<any> {
  const a = analysers.find((x) => x.name === name);
  if (!a) throw new SieveError(`unknown analyser "${name}"`, { where: '--only', examples: analysers.map((x) => x.name) });
  return a;
}
