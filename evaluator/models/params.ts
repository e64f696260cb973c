/**
 * Reading model hyperparameters from a ModelSpec's loose `params` record, with defaults and
 * precise errors (which model, which parameter, what was given, what is allowed).
 */
import type { ModelSpec } from '../types.ts';

type Params = ModelSpec['params'];

export function numberParam(
  model: string, params: Params, name: string, dflt: number,
  check: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  const raw = params[name];
  if (raw === undefined) return dflt;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    throw new Error(`${model}: parameter '${name}' must be a finite number, got ${JSON.stringify(raw)}`);
  }
  if (check.integer && !Number.isInteger(raw)) throw new Error(`${model}: parameter '${name}' must be an integer, got ${raw}`);
  if (check.min !== undefined && (check.exclusiveMin ? raw <= check.min : raw < check.min)) {
    throw new Error(`${model}: parameter '${name}' must be ${check.exclusiveMin ? '>' : '>='} ${check.min}, got ${raw}`);
  }
  if (check.max !== undefined && raw > check.max) throw new Error(`${model}: parameter '${name}' must be <= ${check.max}, got ${raw}`);
  return raw;
}

export function choiceParam<T extends string>(model: string, params: Params, name: string, dflt: T, allowed: readonly T[]): T {
  const raw = params[name];
  if (raw === undefined) return dflt;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    throw new Error(`${model}: parameter '${name}' must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

/** Rejects parameters the model does not know (a typo must not silently fall back to a default). */
export function rejectUnknownParams(model: string, params: Params, known: readonly string[]): void {
  const unknown = Object.keys(params).filter((p) => !known.includes(p));
  if (unknown.length) throw new Error(`${model}: unknown parameter(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
}

export function checkDataset(model: string, X: Float32Array, n: number, d: number, y: Int32Array, k: number): void {
  if (!(n >= 1) || !(d >= 1) || !(k >= 2)) throw new Error(`${model}: need n >= 1 rows, d >= 1 features and k >= 2 classes, got n=${n}, d=${d}, k=${k}`);
  if (X.length !== n * d) throw new Error(`${model}: X has ${X.length} values, expected n×d = ${n}×${d} = ${n * d}`);
  if (y.length !== n) throw new Error(`${model}: y has ${y.length} labels, expected n = ${n}`);
  const bad: string[] = [];
  for (let i = 0; i < n && bad.length < 5; i++) if (!(y[i] >= 0 && y[i] < k)) bad.push(`row ${i}: ${y[i]}`);
  if (bad.length) throw new Error(`${model}: labels must be class indices in [0, ${k}); first offending: ${bad.join(', ')}`);
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) throw new Error(`${model}: X has a non-finite value ${X[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
  }
}
