/**
 * The evaluator's version, written into every result record so that a score can be traced to
 * the code that produced it and `sieve verify` can tell a changed evaluator from a changed
 * submission.
 *
 * Bump rule (MAJOR.MINOR.PATCH):
 * - MAJOR: any change that can alter a number an earlier version produced for the same inputs
 *   and seeds — models, solver, tolerances, preprocessing, metric definitions, bootstrap,
 *   RNG, protocol rules (e.g. how the ranking curve is scored).
 * - MINOR: new metrics, options or protocols that leave every existing number bit-identical.
 * - PATCH: no output changes at all (speed, docs, error messages), checked by re-verifying
 *   stored results.
 */
// 2.0.0: log_loss as scikit-learn ≥ 1.2 (clip every probability at float64 eps, renormalise rows).
// 2.0.0: group figures judge a rate only where its denominator reaches 30 (rows, positives,
// negatives; compute/group-metrics.ts), so worst-group accuracy, the parity gap and the
// equalized-odds difference can change or become NaN; every interval now holds its estimate
// (percentile extended to the mean where it missed it, bias reported).
// 2.0.0: PCA (`pca: k`) from compute/pca.ts: covariance by the SIMD dot kernel in float32 slabs
// summed in float64 instead of a sparse float64 XᵀX (components agree to ~1e-5 per entry).
export const EVALUATOR_VERSION = '2.0.0';
