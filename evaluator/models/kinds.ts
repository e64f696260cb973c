/**
 * The names of the fixed models, and nothing else: this module imports nothing, so the CLI can
 * list `--model` choices and the challenge schema can name the kinds without loading a model.
 * Each name has its model file (evaluator/models/NAME.ts) and one line in registry.ts, which
 * the type checker holds to this list; everything else about a model comes from its file
 * through the registry.
 */
export const MODEL_KINDS = ['logistic-regression', 'knn', 'mlp'] as const;

export type ModelKind = (typeof MODEL_KINDS)[number];
