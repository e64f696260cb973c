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
export const EVALUATOR_VERSION = '2.0.0';
