/**
 * The audit header's words for the out-of-sample model, shared by the terminal table
 * (src/cli/audit.ts), the HTML report and the JSON report: the model, its features, the folds
 * and seed, its out-of-sample accuracy, and why the figures differ from the pool's own audit
 * when they do. One wording, so the three outputs cannot disagree.
 */
import { basename } from 'node:path';
import type { AuditReport } from '../analysers/audit.ts';

/** What the header reads of a report (a stored report has no split). */
type HeaderReport = Pick<AuditReport, 'oosAccuracy' | 'folds' | 'repeats' | 'predictions' | 'oosModel' | 'model' | 'seed'>;

export interface OosHeaderText {
  /** One line: "out-of-sample model (pool default): … ; 5-fold, seed 0; accuracy 0.851". */
  line: string;
  /** Why these figures differ from `sieve audit POOL`, when they do. */
  note?: string;
}

function accuracyText(r: HeaderReport): string {
  if (r.oosAccuracy === undefined) return '';
  return r.oosAccuracy === null
    ? '; accuracy not computed (no analyser that ran needed the predictions)'
    : `; out-of-sample accuracy ${r.oosAccuracy.toFixed(3)}`;
}

/** "10-fold × 2 repeats" (or "5-fold"). */
function cvText(r: HeaderReport): string {
  return `${r.folds}-fold${(r.repeats ?? 1) > 1 ? ` × ${r.repeats} repeats` : ''}`;
}

/**
 * The header's words. `shareable`: for a report that leaves the machine (the HTML file), a
 * file the user named is given by its base name (the sha256 identifies it; its folder is the
 * user's business).
 */
export function oosHeaderText(r: HeaderReport, opts: { shareable?: boolean } = {}): OosHeaderText {
  if (r.predictions) {
    return { line: `out-of-sample probabilities: from ${opts.shareable ? basename(r.predictions.file) : r.predictions.file} (${r.predictions.format}, sha256 ${r.predictions.sha256})${accuracyText(r)}` };
  }
  const m = r.oosModel;
  if (!m) return { line: `out-of-sample model: ${r.model.kind}, ${cvText(r)}, seed ${r.seed}${accuracyText(r)}` };
  const source = m.source === 'challenge' ? `challenge ${m.challenge}'s fixed model` : m.source;
  return {
    line: `out-of-sample model (${source}): ${m.model} on ${m.features}; ${cvText(r)}, seed ${r.seed}${accuracyText(r)}`,
    ...(m.note ? { note: m.note } : {}),
  };
}

/** The header's model block for the JSON report (snake_case, plain values). */
export function oosHeaderJson(r: HeaderReport) {
  const text = oosHeaderText(r);
  // With the user's own probabilities no model ran: the block names the file, not a model.
  if (r.predictions) {
    return { source: 'predictions' as const, file: r.predictions.file, format: r.predictions.format, sha256: r.predictions.sha256, folds: r.folds, repeats: r.repeats ?? 1, seed: r.seed, accuracy: r.oosAccuracy ?? null, text: text.line };
  }
  return {
    ...(r.oosModel ? {
      source: r.oosModel.source,
      ...(r.oosModel.challenge ? { challenge: r.oosModel.challenge } : {}),
      model: r.oosModel.model,
      features: r.oosModel.features,
      dims: r.oosModel.dims,
      group_features: r.oosModel.groupFeatures,
    } : {}),
    folds: r.folds,
    repeats: r.repeats ?? 1,
    seed: r.seed,
    accuracy: r.oosAccuracy ?? null,
    text: text.line,
    ...(text.note ? { note: text.note } : {}),
  };
}
