/**
 * Row gathering: the one copy of "take these rows of a row-major matrix", shared by the
 * evaluator (training subsets, K-fold splits), the analysers (subset audits, samples for
 * recall checks and k-means) and the runner. Labels are a matrix of width 1.
 */

/** Typed arrays that hold row-major matrices here. */
export type RowMatrix = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * The rows `rows[0 .. count)` of the row-major matrix `X` (each row `width` values), in that
 * order, as a new array of the same type.
 */
export function gatherRows<T extends RowMatrix>(X: T, width: number, rows: ArrayLike<number>, count = rows.length): T {
  const out = new (X.constructor as new (length: number) => T)(count * width);
  if (width === 1) {
    for (let i = 0; i < count; i++) out[i] = X[rows[i]];
    return out;
  }
  const src = X as RowMatrix;
  for (let i = 0; i < count; i++) {
    const r = rows[i] * width;
    (out as RowMatrix).set(src.subarray(r, r + width) as never, i * width);
  }
  return out;
}
