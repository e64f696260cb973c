/** The fixed models by kind. Callers go through getModel(kind); nothing else picks a model. */
import type { Model, ModelKind } from '../types.ts';
import { logisticRegression } from './logreg.ts';
import { knn } from './knn.ts';
import { mlp } from './mlp.ts';

const MODELS: Record<ModelKind, Model> = {
  'logistic-regression': logisticRegression,
  knn,
  mlp,
};

export const MODEL_KINDS: readonly ModelKind[] = ['logistic-regression', 'knn', 'mlp'];

export function getModel(kind: ModelKind): Model {
  const m = MODELS[kind];
  if (!m) throw new Error(`unknown model kind '${String(kind)}'; known: ${Object.keys(MODELS).join(', ')}`);
  return m;
}
