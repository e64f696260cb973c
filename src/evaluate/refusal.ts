/**
 * The evaluator's typed refusals (evaluator/errors.ts) as the SieveError a user sees. They are
 * problems of the challenge (its model spec) or of sieve, never of the submission, and are
 * told apart by class, not by the wording of a message.
 */
import { EvaluatorInputError, ModelSpecError } from '../../evaluator/errors.ts';
import { SieveError } from '../util/errors.ts';

/** `err` as a SieveError against the challenge file when the evaluator refused; anything else unchanged. */
export function evaluatorRefusal(err: unknown, specPath: string): unknown {
  if (err instanceof ModelSpecError) {
    return new SieveError(`the challenge's model spec is invalid: ${err.message}`, { where: `${specPath}: ${err.where}` });
  }
  if (err instanceof EvaluatorInputError) {
    return new SieveError(`the evaluator refused the run: ${err.message}`, {
      where: `${specPath} (${err.where})`,
      examples: err.examples,
      count: err.count,
    });
  }
  return err;
}
