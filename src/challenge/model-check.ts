/**
 * Checks a challenge's model hyperparameters with the evaluator's own declaration of the model
 * (evaluator/models/registry.ts) at load time, so a typo in challenge.yaml (`max_iters`) is
 * reported against the file, not mid-evaluation.
 */
import { SieveError } from '../util/errors.ts';
import type { ChallengeSpec } from './schema.ts';

export async function checkModelParams(spec: Pick<ChallengeSpec, 'model'>, where: string): Promise<void> {
  const { modelParams } = await import('../../evaluator/models/registry.ts');
  const { ModelSpecError } = await import('../../evaluator/errors.ts');
  try {
    modelParams(spec.model.kind, spec.model.params);
  } catch (err) {
    if (!(err instanceof ModelSpecError)) throw err;
    throw new SieveError(`invalid challenge spec: ${err.where}: ${err.message}`, { where });
  }
}
