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
// 3.0.0: one SIMD dot-product kernel (compute/tile-kernel.ts, four float32 lanes per product
// reduced as (l0 + l1) + (l2 + l3)) under every dot product: PCA covariance, kNN distances and
// the logistic-regression warm starts' Hessian Gram matrices, instead of the sparse-query
// kernel's float32 sums in input order; products change at float32 rounding (≈ 1e-7 relative),
// so PCA components, kNN neighbours at near-ties and warm-start paths can move.
// 4.0.0: the MLP trains with AdamW (decoupled weight decay, parameter `weight_decay`, default
// 0.01; was Adam with an L2 penalty `l2` in the loss) on float32 WebAssembly SIMD kernels
// (compute/gemm.ts products, evaluator/kernels/mlp-wasm.ts bias/ReLU/AdamW) instead of float64
// JavaScript loops: every MLP number changes; other models are untouched.
// 5.0.0: logistic regression fits in float32 on register-tiled kernels (kernels/logistic-tiles.ts:
// row tiles forward, input blocks backward, float32 row sums in blocks of 256 added in float64)
// and continues in float64 near convergence (float64 chunks of 256 rows, was 2,048): every
// logistic-regression number moves at float32 rounding; MLP and kNN are untouched.
// 6.0.0: L-BFGS follows L-BFGS-B's path as scipy/scikit-learn run it (evaluator/models/line-search.ts:
// MINPACK-2's Moré–Thuente line search dcsrch/dcstep with ftol 1e-3, gtol 0.9, xtol 0.1, at most 20
// evaluations; first step 1/‖∇f‖; a pair with sᵀy ≤ ε·stp·|∇fᵀd| is skipped; a failed search is
// retried from steepest descent), was Nocedal & Wright's strong-Wolfe search with a cubic zoom: every logistic-regression
// number changes; MLP and kNN are untouched.
// 6.0.0: generalisation ci95 clipped to the primary metric's range (src/challenge/schema.ts
// METRIC_RANGES), so a recorded interval can change at the bounds.
// 6.0.0: group-metric notes count in the singular for one (1 row, 1 positive) — wording only.
export const EVALUATOR_VERSION = '6.0.0';
