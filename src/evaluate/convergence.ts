/**
 * The convergence note: when the challenge's fixed model stops at its iteration limit on most
 * fits (the model's `iterationLimit` parameter, evaluator/models/), the score is that of a
 * model stopped early. It is still the official score (the challenge fixes the model, limit
 * included), but a reader should know: `sieve evaluate` and `sieve baselines` print one line,
 * and the record and `--json` carry it.
 */
import { getModel, iterationLimit } from '../../evaluator/models/registry.ts';
import type { ModelSpec } from '../../evaluator/types.ts';
import type { FitSummary } from './record.ts';

export interface ConvergenceNote {
  /** Distinct fits looked at (a seedless model's one fit stands for every seed). */
  fits: number;
  /** Of those, fits that ran the full limit. */
  at_limit: number;
  /** The parameter that caps the iterations and its value, e.g. max_iter 100. */
  param: string;
  limit: number;
  note: string;
}

/**
 * The fits as distinct fits: every seed's, or the one fit of a seedless model that the
 * protocols report for every seed. `perSeedRows`: each seed trained on rows of its own (the
 * baselines' fresh draws per seed), so each seed's fit is its own even for a seedless model.
 */
function distinctIterations(spec: Pick<ModelSpec, 'kind'>, fits: readonly { iterations: number }[], perSeedRows: boolean): number[] {
  const its = fits.map((f) => f.iterations);
  return getModel(spec.kind).seedless && !perSeedRows ? its.slice(0, 1) : its;
}

/**
 * The note for fits of `spec` (one per seed; a ranking's curve fits are not counted one by one,
 * so ranking records get none), or undefined when most fits converged or the model has no limit.
 */
export function convergenceNote(
  spec: Pick<ModelSpec, 'kind' | 'params'>, fits: FitSummary | readonly { iterations: number }[], opts: { perSeedRows?: boolean } = {},
): ConvergenceNote | undefined {
  if (!Array.isArray(fits) || fits.length === 0) return undefined;
  const cap = iterationLimit(spec);
  if (!cap) return undefined;
  const its = distinctIterations(spec, fits as readonly { iterations: number }[], opts.perSeedRows === true);
  const atLimit = its.filter((i) => i >= cap.limit).length;
  if (atLimit * 2 <= its.length) return undefined;
  return { fits: its.length, at_limit: atLimit, param: cap.param, limit: cap.limit, note: noteText(its.length, atLimit, cap, fits.length) };
}

function noteText(fits: number, atLimit: number, cap: { param: string; limit: number }, seeds: number): string {
  const which = fits === 1 && seeds > 1
    ? `the one fit (for all ${seeds} seeds: the model uses no seed)`
    : `${atLimit} of ${fits} fit${fits === 1 ? '' : 's'}`;
  return `${which} stopped at the iteration limit (${cap.param} ${cap.limit}) short of convergence: the score is still the ` +
    'official one (the challenge fixes the limit), but a higher limit could change it';
}

/** One note for several results (the baselines of a leaderboard): the fits added up, per result in brackets. */
export function combinedConvergenceNote(results: readonly { name: string; convergence?: ConvergenceNote }[]): string | undefined {
  const noted = results.filter((r) => r.convergence);
  if (!noted.length) return undefined;
  const first = noted[0].convergence!;
  const at = noted.reduce((s, r) => s + r.convergence!.at_limit, 0), of = noted.reduce((s, r) => s + r.convergence!.fits, 0);
  const per = noted.map((r) => `${r.name} ${r.convergence!.at_limit}/${r.convergence!.fits}`).join(', ');
  return `${at} of ${of} fits (${per}) stopped at the iteration limit (${first.param} ${first.limit}) short of convergence: ` +
    'the scores are still the official ones (the challenge fixes the limit), but a higher limit could change them';
}
