/**
 * Reading model hyperparameters from a ModelSpec's loose `params` record by the model's own
 * declaration (its ParamSchema), with defaults and precise errors: a ModelSpecError naming the
 * model, the parameter, what was given and what is allowed.
 */
import { EvaluatorInputError, ModelSpecError } from '../errors.ts';
import type { ModelSpec, ParamSchema, ParamSpec, ParamValues } from '../types.ts';

type Params = ModelSpec['params'];

function fail(model: string, name: string, message: string): never {
  throw new ModelSpecError(`${model}: parameter '${name}' ${message}`, `model.params.${name}`);
}

function readParam(model: string, name: string, spec: ParamSpec, raw: unknown): number | string | boolean {
  if (raw === undefined) return spec.default;
  switch (spec.type) {
    case 'number': {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) fail(model, name, `must be a finite number, got ${JSON.stringify(raw)}`);
      if (spec.integer && !Number.isInteger(raw)) fail(model, name, `must be an integer, got ${raw}`);
      if (spec.min !== undefined && (spec.exclusiveMin ? raw <= spec.min : raw < spec.min)) {
        fail(model, name, `must be ${spec.exclusiveMin ? '>' : '>='} ${spec.min}, got ${raw}`);
      }
      if (spec.max !== undefined && raw > spec.max) fail(model, name, `must be <= ${spec.max}, got ${raw}`);
      return raw;
    }
    case 'choice':
      if (typeof raw !== 'string' || !spec.values.includes(raw)) fail(model, name, `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
    case 'boolean':
      if (typeof raw !== 'boolean') fail(model, name, `must be true or false, got ${JSON.stringify(raw)}`);
      return raw;
  }
}

/**
 * Every declared parameter of `model`, given ones checked and the rest at their defaults.
 * Parameters the schema does not declare are refused: a typo must not silently fall back to a default.
 */
export function parseParams(model: string, schema: ParamSchema, params: Params): ParamValues {
  const known = Object.keys(schema);
  const unknown = Object.keys(params).filter((p) => !Object.hasOwn(schema, p));
  if (unknown.length) {
    throw new ModelSpecError(`${model}: unknown parameter(s) ${unknown.join(', ')}; known: ${known.join(', ')}`, `model.params.${unknown[0]}`);
  }
  const out: ParamValues = {};
  for (const name of known) out[name] = readParam(model, name, schema[name], params[name]);
  return out;
}

export function checkDataset(model: string, X: Float32Array, n: number, d: number, y: Int32Array, k: number): void {
  const refuse = (message: string): never => { throw new EvaluatorInputError(`${model}: ${message}`, 'training data'); };
  if (!(n >= 1) || !(d >= 1) || !(k >= 2)) refuse(`need n >= 1 rows, d >= 1 features and k >= 2 classes, got n=${n}, d=${d}, k=${k}`);
  if (X.length !== n * d) refuse(`X has ${X.length} values, expected n×d = ${n}×${d} = ${n * d}`);
  if (y.length !== n) refuse(`y has ${y.length} labels, expected n = ${n}`);
  const bad: string[] = [];
  for (let i = 0; i < n && bad.length < 5; i++) if (!(y[i] >= 0 && y[i] < k)) bad.push(`row ${i}: ${y[i]}`);
  if (bad.length) refuse(`labels must be class indices in [0, ${k}); first offending: ${bad.join(', ')}`);
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) refuse(`X has a non-finite value ${X[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
  }
}
