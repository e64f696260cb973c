/**
 * Checks a challenge's model hyperparameters with the evaluator's own parsers at load time, so
 * a typo in challenge.yaml (`max_iters`) is reported against the file, not mid-evaluation.
 */
import { SieveError } from '../util/errors.ts';
import type { ChallengeSpec } from './schema.ts';

export async function checkModelParams(spec: Pick<ChallengeSpec, 'model'>, where: string): Promise<void> {
  const { kind, params } = spec.model;
  try {
    if (kind === 'logistic-regression') (await import('../../evaluator/models/logreg.ts')).logRegParams(params);
    else if (kind === 'knn') (await import('../../evaluator/models/knn.ts')).knnParams(params);
    else (await import('../../evaluator/models/mlp.ts')).mlpParams(params);
  } catch (err) {
    throw new SieveError(`invalid challenge spec: model.params: ${(err as Error).message}`, { where });
  }
}
