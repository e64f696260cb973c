/**
 * The evaluator's typed errors. Callers tell them apart by class (`instanceof`), never by the
 * wording of a message: src/evaluate/ turns an EvaluatorInputError into "the evaluator refused
 * the run" and a ModelSpecError into "the challenge's model spec is invalid".
 */

/** Thrown for inputs the evaluator cannot score; callers turn it into their own error type. */
export class EvaluatorInputError extends Error {
  readonly where: string;
  readonly examples: string[];
  readonly count?: number;
  constructor(message: string, where: string, examples: (string | number)[] = [], count?: number) {
    super(message);
    this.name = 'EvaluatorInputError';
    this.where = where;
    this.examples = examples.slice(0, 10).map(String);
    this.count = count;
  }
}

/**
 * A model spec the evaluator refuses: an unknown model kind, an unknown or out-of-range model
 * parameter, a bad preprocessing option. `where` is the spec path (`model.params.max_iter`,
 * `model.preprocess.pca`, `model.kind`); the message starts with the model's kind (or
 * `preprocess`) and names the parameter, the value given and what is allowed.
 */
export class ModelSpecError extends EvaluatorInputError {
  constructor(message: string, where: string) {
    super(message, where);
    this.name = 'ModelSpecError';
  }
}
