/**
 * The audit service: one call from a target (a pool or a challenge, by name or path, or already
 * opened) to the audit of its train split and, when asked, of the rows a submission selects.
 * It resolves the target, reads the splits (the evaluator-only test split only for organisers),
 * reads and validates the subset under the challenge's task, reads the user's out-of-sample
 * probabilities, picks the out-of-sample model and runs the analysers. `sieve audit` and the
 * server are thin layers over it; writing reports (HTML, DuckDB, --keep) stays with the caller.
 */
import { runAudit, selectAnalysers, type AuditBundle, type AuditReport } from '../analysers/audit.ts';
import { createAuditContext, PhasedProgress, subsetContext } from '../analysers/context.ts';
import { analysers as registry } from '../analysers/registry.ts';
import { computeOosPredictions } from '../analysers/oos.ts';
import { auditCv } from '../analysers/types.ts';
import type { PoolSplit } from '../pool/types.ts';
import type { ReadSubmission } from '../submission/parse.ts';
import type { ModelKind } from '../../evaluator/types.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { auditPoolInfo, readAuditSplits, readSubsetIndices, resolveAuditTarget, resolveOosModel, subsetIndicesOf, subsetRows, type AuditSplits, type AuditTarget } from './target.ts';

export interface AuditRequest {
  /** A built-in pool or challenge name, a pool directory, a challenge.yaml, or a target already opened. */
  target: string | AuditTarget;
  /** Analysers to run, by name, in registry order (default: all). */
  only?: readonly string[];
  /** Read the challenge pool's evaluator-only test split (leakage checks). */
  organiser?: boolean;
  /** The audit's model of this kind instead of the challenge's fixed model or the pool default. */
  model?: ModelKind;
  /** Also give the out-of-sample model the group columns (all, or these), one-hot. */
  groupsAsFeatures?: true | readonly string[];
  /** Cross-validation folds and repeats (default: auditCv for the pool's size). */
  folds?: number;
  repeats?: number;
  seed: number;
  /** fairness: judge a rate only where its denominator reaches this. */
  minGroupSize?: number;
  /** fairness: the class whose rates are compared. */
  positiveClass?: string;
  /** fairness: judge these columns (group or categorical feature columns) instead of the pool's groups. */
  groupColumns?: readonly string[];
  /** label-errors: confident learning's filter_by rule. */
  labelFilter?: string;
  /** A file of out-of-sample class probabilities (id + one column per class) used instead of cross-validation. */
  predProbs?: string;
  /**
   * Also audit these rows: a submission file (read under the challenge's task and budget, or as
   * a list of ids for a plain pool), a submission already read (a server's upload, a strategy's
   * output: validated here the same way), or rows already validated, with the name the report
   * gives them.
   */
  subset?: { file: string } | { read: ReadSubmission; name: string } | { rows: Int32Array; name: string };
  /**
   * Read the pool-level part (the out-of-sample probabilities and the whole pool's report) from
   * the disk cache when an earlier audit with the same settings stored it, and store it when not
   * (src/audit/pool-cache.ts): the same bundle, bit for bit, for the price of the subset's audit.
   * Not with `predProbs` (the user's file is read every time).
   */
  poolCache?: boolean;
  /** One bar over the cross-validation and every analyser (default: none). */
  progress?: Progress;
}

export interface AuditRun {
  bundle: AuditBundle;
  target: AuditTarget;
  /** The audited train split (with --group-columns' columns as groups). */
  train: PoolSplit;
  splits: AuditSplits;
  /** True when the pool's report and probabilities came from the disk cache (poolCache). */
  poolCached: boolean;
}

const silent: Progress = { start() {}, tick() {}, stop() {} };

/** Runs an audit; every bad option or input is a SieveError thrown before any analyser runs. */
export async function runAuditService(req: AuditRequest): Promise<AuditRun> {
  const selected = selectAnalysers(registry, req.only);
  const target = typeof req.target === 'string' ? await resolveAuditTarget(req.target) : req.target;
  const splits = await readAuditSplits(target.pool, { organiser: req.organiser });
  const cv = auditCv(splits.train.n);
  const folds = req.folds ?? cv.folds;
  const repeats = req.repeats ?? cv.repeats;
  const seed = req.seed;
  if (req.positiveClass !== undefined && !splits.train.classNames.includes(req.positiveClass)) {
    throw new SieveError(`--positive-class "${req.positiveClass}" is not a class of the pool`, { where: '--positive-class', examples: [`classes: ${splits.train.classNames.join(', ')}`] });
  }
  const subset = req.subset === undefined ? undefined
    : 'file' in req.subset
      ? { rows: await readSubsetIndices(req.subset.file, splits.train, target.challenge), name: req.subset.file }
      : 'read' in req.subset
        ? { rows: subsetIndicesOf(req.subset.read, splits.train, target.challenge), name: req.subset.name }
        : { rows: subsetRows(req.subset.rows), name: req.subset.name };
  if (subset) {
    for (const r of subset.rows) {
      if (!(r >= 0 && r < splits.train.n)) throw new SieveError(`subset row ${r} is not a train row of ${target.pool.name}`, { where: subset.name });
    }
  }

  const groupsAsFeatures = req.groupsAsFeatures === undefined || req.groupsAsFeatures === true ? req.groupsAsFeatures : [...req.groupsAsFeatures];
  const { spec: model, header: oosModel } = resolveOosModel(target, splits.train, { model: req.model, groupsAsFeatures, seed });
  const groupColumns = req.groupColumns?.length ? [...req.groupColumns] : undefined;
  // After the model is resolved, so --groups-as-features sees the pool's own group columns.
  if (groupColumns) {
    const { withGroupColumns } = await import('../analysers/group-columns.ts');
    splits.train = withGroupColumns(splits.train, target.pool.manifest.features, groupColumns);
  }

  // The file is validated against the audited train rows.
  const probabilities = req.predProbs
    ? await (await import('./pred-probs.ts')).readPredProbs(req.predProbs, { ids: splits.train.ids, classNames: splits.train.classNames, name: target.pool.name })
      .then((p) => ({ proba: p.proba, n: p.n, k: p.k, folds: 0, seed, model, source: p.source }))
    : undefined;
  const pool = { ...auditPoolInfo(target, splits), ...(groupColumns ? { groups: groupColumns } : {}) };
  const fairness = {
    ...(req.minGroupSize !== undefined ? { minGroupSize: req.minGroupSize } : {}),
    ...(req.positiveClass !== undefined ? { positiveClass: req.positiveClass } : {}),
    ...(groupColumns ? { columns: groupColumns } : {}),
  };
  // Your own probabilities are used as they are, as cleanlab's find_label_issues takes
  // pred_probs: no blend with the neighbours' labels (the built-in model's probabilities get
  // one where it lowers their log-loss), so the flags are cleanlab's on the same file.
  const labelOptions = { ...(req.labelFilter ? { filterBy: req.labelFilter } : {}), ...(probabilities ? { knnWeight: 0 } : {}) };
  const options = { fairness, ...(Object.keys(labelOptions).length ? { 'label-errors': labelOptions } : {}) };

  // Everything the pool's part of the audit is a function of (the pool's content hash and the
  // code are added by poolAuditKey): where the pool lies is not.
  const cache = req.poolCache && !probabilities ? await import('./pool-cache.ts') : undefined;
  const { path: _path, ...poolInfo } = pool;
  const cacheKey = cache?.poolAuditKey(target.pool, {
    analysers: selected.map((a) => a.name), options, folds, repeats, seed, model, oosModel, pool: poolInfo, testNote: splits.testNote ?? null,
  });
  const hit = cache && cacheKey ? cache.readPoolAudit(target.pool, cacheKey) : null;
  const cached = hit && hit.report.rows === splits.train.n && (!hit.oos || hit.oos.n === splits.train.n) ? hit : null;

  const progress = req.progress ?? silent;
  const usesOos = !probabilities && !cached?.oos && selected.some((a) => a.needs.includes('oos-probabilities'));
  const phases = new PhasedProgress(progress, (usesOos ? 1 : 0) + selected.length * ((cached ? 0 : 1) + (subset ? 1 : 0)));
  const ctx = createAuditContext({
    poolName: target.pool.name,
    train: splits.train,
    test: splits.test,
    model,
    folds,
    repeats,
    seed,
    progress,
    oosProgress: usesOos ? phases.phase() : undefined,
    computeOos: (split, o) => computeOosPredictions(split, o),
    probabilities: probabilities ?? cached?.oos,
  });
  const common = { analysers: selected, pool, folds, repeats, oosModel, options, testNote: splits.testNote, phase: () => phases.phase() };
  try {
    const bundle: AuditBundle = { pool: cached ? { ...cached.report, pool, train: splits.train } : await runAudit(ctx, common) };
    if (cache && cacheKey && !cached) {
      const { train: _train, pool: _pool, ...report } = bundle.pool;
      // The probabilities were computed only if an analyser asked for them (the report's accuracy says so).
      cache.writePoolAudit(target.pool, cacheKey, { report, ...(report.oosAccuracy !== null && report.oosAccuracy !== undefined ? { oos: await ctx.oos() } : {}) });
    }
    if (subset) {
      // The subset's fairness figures are for the whole pool's default class (with two classes,
      // the pool's less frequent one), so the two columns of the report compare the same class.
      const { binaryDefaultClass } = await import('../analysers/fairness.ts');
      const poolDefault = req.positiveClass === undefined ? binaryDefaultClass(splits.train.labels, splits.train.classNames.length) : null;
      const subsetOptions = poolDefault
        ? { ...options, fairness: { ...fairness, positiveClass: splits.train.classNames[poolDefault.index], positiveClassRule: `the whole pool's default: ${poolDefault.rule}` } }
        : options;
      bundle.subset = await runAudit(subsetContext(ctx, subset.rows), {
        ...common, options: subsetOptions, scope: 'subset', subset: { file: subset.name, rows: subset.rows.length },
      });
      noteCleanSubset(bundle.pool, bundle.subset);
    }
    return { bundle, target, train: splits.train, splits, poolCached: cached !== null };
  } finally {
    phases.stop();
  }
}

/**
 * A subset in which the label audit flags nothing, of a pool in which it flags rows: said to be
 * clean only as far as the audit sees. A subset made by dropping the audit's own flags is clean
 * to it by construction, while the wrong labels it missed stay (a teacher's class: "No label
 * looks wrong" about 1,000 rows of which 28 were wrong).
 */
function noteCleanSubset(pool: AuditReport, subset: AuditReport): void {
  const whole = pool.results.find((r) => r.name === 'label-errors');
  const part = subset.results.find((r) => r.name === 'label-errors');
  if (!whole || !part || part.summary.figures.flagged !== 0) return;
  const flagged = Number(whole.summary.figures.flagged), rows = Number(whole.summary.figures.rows), est = whole.summary.figures.estimated_noise_rate;
  if (!(flagged > 0)) return;
  part.summary.verdict += ` Clean as far as this audit sees: on the whole pool it flags ${flagged.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows` +
    (typeof est === 'number' ? ` and estimates ${(100 * est).toFixed(1)}% label noise` : '') +
    `; wrong labels it does not flag stay in any subset (one made by dropping its flags is clean to it by construction).`;
}
