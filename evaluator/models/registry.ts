/**
 * The fixed models by kind. Callers go through getModel(kind); nothing else picks a model or
 * lists the kinds (their names, import-free, are kinds.ts). Adding a model: its file
 * (evaluator/models/NAME.ts, declaring everything `Model` asks for) and its test, its name in
 * kinds.ts and one line here; the challenge schema, the parameter check, the audit's `--model`
 * choices and defaults, warm starts, the convergence note and the docs' tables follow.
 */
import { ModelSpecError } from '../errors.ts';
import type { Model, ModelSpec, ParamValues } from '../types.ts';
import { MODEL_KINDS, type ModelKind } from './kinds.ts';
import { parseParams } from './params.ts';
import { logisticRegression } from './logreg.ts';
import { knn } from './knn.ts';
import { mlp } from './mlp.ts';

const MODELS: Readonly<Record<ModelKind, Model>> = {
  'logistic-regression': logisticRegression,
  knn,
  mlp,
};

export { MODEL_KINDS, type ModelKind };

export function isModelKind(kind: string): kind is ModelKind {
  return Object.hasOwn(MODELS, kind);
}

export function getModel(kind: ModelKind | string): Model {
  if (!isModelKind(kind)) {
    throw new ModelSpecError(`unknown model kind '${String(kind)}'; known: ${MODEL_KINDS.join(', ')}`, 'model.kind');
  }
  return MODELS[kind];
}

/** The model's parameters checked against its declaration, defaults filled in (throws ModelSpecError). */
export function modelParams(kind: ModelKind | string, params: ModelSpec['params']): ParamValues {
  const model = getModel(kind);
  return parseParams(model.kind, model.params, params);
}

/** "logistic regression (l2 1, ≤ 100 L-BFGS iterations)": the model and its main parameters. */
export function describeModelSpec(spec: Pick<ModelSpec, 'kind' | 'params'>): string {
  return getModel(spec.kind).describe(modelParams(spec.kind, spec.params));
}

/** The iteration limit of this spec's fits (Model.iterationLimit: the parameter and its value), or undefined. */
export function iterationLimit(spec: Pick<ModelSpec, 'kind' | 'params'>): { param: string; limit: number } | undefined {
  const param = getModel(spec.kind).iterationLimit;
  if (param === undefined) return undefined;
  return { param, limit: modelParams(spec.kind, spec.params)[param] as number };
}
