/**
 * The self-confidence baseline ranks rows by the out-of-sample probability of their given
 * label (evaluator/oos.ts's stratified K-fold cross-validation with the challenge's fixed model).
 */

/** Rows in ascending probability of their given label (most suspicious first); ties by row. */
export function selfConfidenceOrder(proba: Float32Array, y: Int32Array, k: number): Int32Array {
  const n = y.length;
  const conf = new Float64Array(n);
  for (let i = 0; i < n; i++) conf[i] = proba[i * k + y[i]];
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => conf[a] - conf[b] || a - b);
  return order;
}
