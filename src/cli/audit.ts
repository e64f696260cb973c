/**
 * `sieve audit <pool | challenge>`: runs the analysers on a pool (or on the rows a submission
 * selects, next to the whole pool), prints a table of verdicts, and writes the JSON, the
 * self-contained HTML report and the DuckDB findings tables on request.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { extname } from 'node:path';
import type { ModelKind } from '../../evaluator/types.ts';
import { MODEL_KINDS } from '../../evaluator/models/kinds.ts';
import type { AuditBundle, AuditReport } from '../analysers/audit.ts';
import { SieveError } from '../util/errors.ts';
import { checkOutputPath } from '../util/outpath.ts';
import { printJson, printTable, printWrapped } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';
import { oosHeaderText } from '../report/header.ts';
import { FILTERS } from '../analysers/confident-learning.ts';

interface AuditOptions {
  subset?: string;
  only?: string;
  json?: boolean;
  html?: string;
  db?: string;
  organiser?: boolean;
  model?: ModelKind;
  groupsAsFeatures?: true | string;
  folds?: string;
  repeats?: string;
  seed: string;
  top: string;
  minGroupSize: string;
  positiveClass?: string;
  groupColumns?: string;
  predProbs?: string;
  labelFilter?: string;
  keep?: string;
  keepDrop?: string;
}

function positiveInt(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new SieveError(`${flag} must be an integer ≥ ${min}, got "${value}"`, { where: flag });
  return n;
}

export function register(program: Command): void {
  program
    .command('audit')
    .description('audit a pool (or the rows a submission selects) for label errors, imbalance, duplicates and leakage, unfair groups and outliers')
    .argument('<target>', 'built-in pool name, pool directory, or challenge (name, directory or challenge.yaml)')
    .option('--subset <file>', 'also audit the rows this submission selects (CSV, TXT, JSON, Parquet or Arrow), side by side with the whole pool')
    .option('--only <analysers>', 'comma-separated analysers to run (default: all)')
    .option('--json', 'print the report as JSON (summaries, figures, plot specs, top findings)')
    .option('--html <file>', 'write the self-contained HTML report here')
    .option('--db <file>', 'keep every finding in this DuckDB file (tables summary, figures, findings_<analyser>, …)')
    .option('--organiser', "read the challenge pool's evaluator-only test split (for leakage checks)")
    .addOption(new Option('--model <kind>', "out-of-sample model: the audit's model of this kind for the pool's feature kind (default: the challenge's fixed model, else logistic regression)")
      .choices([...MODEL_KINDS]))
    .option('--groups-as-features [columns]', 'also give the out-of-sample model the group columns (all, or these comma-separated ones), one-hot')
    .option('--folds <n>', 'cross-validation folds for out-of-sample predictions (default: 10 up to 10,000 rows, else 5)')
    .option('--repeats <n>', 'repeats of the cross-validation with other fold assignments, averaged (default: 2 up to 10,000 rows, else 1)')
    .option('--seed <n>', 'seed for folds, models and sampling', '0')
    .option('--top <n|all>', 'findings per analyser in --json output (all: every finding and every extra-table row)', '50')
    .option('--keep <file>', 'write a submission by the keep rule (docs/audit.md, "From audit to submission"): drop flagged rows, then fill the challenge\'s budget class-balanced, most trusted labels first; .csv, .txt or .json')
    .option('--keep-drop <analysers>', `analysers whose flagged rows --keep drops (label-errors, duplicates: copies beyond a cluster's first row, label-errors-knn, outliers)`, 'label-errors,duplicates')
    .option('--min-group-size <n>', 'fairness: judge a rate only where its denominator (rows, positives for TPR, negatives for FPR) reaches n', '30')
    .option('--positive-class <name>', 'fairness: the class whose selection rate, TPR and FPR are compared (default: with two classes the less frequent one; with more, per attribute the class with the largest parity difference). The verdict also gives the lowest parity ratio over every class')
    .option('--group-columns <a,b>', 'fairness: judge these columns (group or categorical feature columns) instead of the pool\'s group columns')
    .option('--pred-probs <file>', 'out-of-sample class probabilities of your own model (CSV, Parquet or Arrow: id + one column per class), used instead of the built-in cross-validation')
    .addOption(new Option('--label-filter <rule>', 'which rows label-errors flags: sieve\'s default rule or one of confident learning\'s filter_by variants (docs/analysers.md)')
      .choices([...FILTERS]))
    .addHelpText('after', `
Examples:
  sieve audit fashion-mnist --html report.html
  sieve audit german-credit --only fairness,class-imbalance --json
  sieve audit german-credit --only fairness --positive-class bad --group-columns sex,purpose --min-group-size 50
  sieve audit fashion-select --subset my-ids.csv --html subset.html
  sieve audit synth-teach --db audit.duckdb   # then: sieve sql audit.duckdb "SELECT * FROM summary"
  sieve audit german-credit --pred-probs my-model.csv --label-filter prune_by_class
  sieve audit credit-fair --keep ids.csv && sieve evaluate credit-fair ids.csv   # audit → submission → score`)
    .action(async (target: string, opts: AuditOptions) => {
      const report = await runAuditCommand(target, opts);
      if (opts.json) printJson(report.json);
      else printHuman(report.bundle, report.outputs, report.warnings);
    });
}

async function runAuditCommand(target: string, opts: AuditOptions) {
  // Checked before anything is read; defaults follow the pool's size (auditCv) below.
  const foldsAsked = opts.folds === undefined ? undefined : positiveInt(opts.folds, '--folds', 2);
  const repeatsAsked = opts.repeats === undefined ? undefined : positiveInt(opts.repeats, '--repeats', 1);
  const seed = positiveInt(opts.seed, '--seed', 0);
  const top = opts.top === 'all' ? Infinity : positiveInt(opts.top, '--top', 0);
  const only = opts.only?.split(',').map((s) => s.trim()).filter(Boolean);
  // Refuse a bad --html / --db before minutes of analysis, not after.
  const inputs = opts.subset ? [opts.subset] : [];
  if (opts.html !== undefined) await checkOutputPath(opts.html, { kind: 'file', option: '--html', inputs });
  if (opts.db !== undefined) await checkOutputPath(opts.db, { kind: 'file', option: '--db', inputs });
  if (opts.keep !== undefined) {
    if (opts.subset) throw new SieveError('--keep applies the keep rule to the whole pool; leave out --subset', { where: '--keep' });
    if (!['.csv', '.txt', '.json'].includes(extname(opts.keep).toLowerCase()))
      throw new SieveError(`--keep writes .csv, .txt or .json, not "${extname(opts.keep) || '(no extension)'}"`, { where: '--keep' });
    await checkOutputPath(opts.keep, { kind: 'file', option: '--keep', inputs });
  }
  const minGroupSize = positiveInt(opts.minGroupSize, '--min-group-size', 1);
  const groupColumns = opts.groupColumns?.split(',').map((s) => s.trim()).filter(Boolean);
  const groupsAsFeatures = opts.groupsAsFeatures === undefined ? undefined
    : opts.groupsAsFeatures === true ? true as const
    : opts.groupsAsFeatures.split(',').map((g) => g.trim()).filter(Boolean);

  // The service (and through it the analysers, models and DuckDB) loads only when the command runs.
  const { runAuditService } = await import('../audit/service.ts');
  const { bundle, target: t, train } = await runAuditService({
    target,
    only,
    organiser: opts.organiser,
    model: opts.model,
    groupsAsFeatures,
    folds: foldsAsked,
    repeats: repeatsAsked,
    seed,
    minGroupSize,
    positiveClass: opts.positiveClass,
    groupColumns,
    labelFilter: opts.labelFilter,
    predProbs: opts.predProbs,
    subset: opts.subset !== undefined ? { file: opts.subset } : undefined,
    progress: progressBar({ enabled: !opts.json }),
  });

  const outputs: { html?: string; db?: string; tables?: { name: string; rows: number }[]; keep?: { path: string; rows: number; task: string; rule: string; dropped: Record<string, number>; budget?: number; challenge?: string } } = {};
  const warnings: string[] = [];
  if (opts.html !== undefined) {
    const { writeHtmlReport } = await import('../report/html.ts');
    const html = await writeHtmlReport(opts.html, bundle);
    warnings.push(...html.warnings);
    outputs.html = opts.html;
  }
  if (opts.db !== undefined) {
    const { writeAuditDb } = await import('../report/tables.ts');
    outputs.tables = await writeAuditDb(opts.db, bundle);
    outputs.db = opts.db;
  }
  if (opts.keep !== undefined) {
    const { keepRows, keepFileText } = await import('../audit/keep.ts');
    const { writeFileAtomically } = await import('../util/atomic.ts');
    const drop = opts.keepDrop?.split(',').map((x) => x.trim()).filter(Boolean);
    const kept = keepRows(bundle.pool, train, { challenge: t.challenge, drop });
    await writeFileAtomically(opts.keep, keepFileText(opts.keep, kept, train), { option: '--keep', inputs });
    outputs.keep = {
      path: opts.keep, rows: kept.rows.length, task: kept.task, rule: kept.rule, dropped: kept.dropped,
      ...(kept.budget !== undefined ? { budget: kept.budget } : {}), ...(t.challenge ? { challenge: t.challenge.name } : {}),
    };
  }
  const { bundleToJson } = await import('../report/json.ts');
  const json = opts.json
    ? bundleToJson(bundle, {
      maxFindings: top,
      ...(top === Infinity ? { maxTableRows: Infinity } : {}),
      outputs: { ...(outputs.html ? { html: outputs.html } : {}), ...(outputs.db ? { db: outputs.db } : {}), ...(outputs.keep ? { keep: outputs.keep } : {}) },
    })
    : null;
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  return { bundle, outputs, warnings, json };
}

/**
 * Flagged rows against the rows of the scope, not against the analyser's findings: duplicates
 * lists only clustered rows and class-imbalance only rare-class rows, so "8 / 16" or "X / X"
 * read as a share of the pool that it is not.
 */
export function flaggedCell(r: AuditReport['results'][number], scopeRows: number): string {
  // Analysers that judge the pool as a whole (imbalance, fairness) have no per-row findings.
  if (r.findings.length === 0) return '–';
  let n = 0;
  for (const f of r.findings) if (f.flagged) n++;
  return `${n.toLocaleString('en-US')} / ${scopeRows.toLocaleString('en-US')}`;
}

function printHuman(bundle: AuditBundle, outputs: { html?: string; db?: string; tables?: { name: string; rows: number }[]; keep?: { path: string; rows: number; task: string; rule: string; challenge?: string } }, warnings: string[]): void {
  const p = bundle.pool;
  const via = p.pool.challenge ? ` (challenge ${p.pool.challenge})` : '';
  console.log(`audit of ${p.pool.name}${via}: ${p.rows.toLocaleString('en-US')} train rows, ${p.pool.classes.length} classes; ${p.seconds.toFixed(1)} s`);
  const oos = oosHeaderText(p);
  printWrapped(oos.line);
  if (oos.note) printWrapped(`note: ${oos.note}`);
  const scopes = bundle.subset ? [p, bundle.subset] : [p];
  const head = [...(bundle.subset ? ['scope'] : []), 'analyser', 'severity', 'flagged rows', 'verdict'];
  const rows: string[][] = [];
  for (const r of scopes) {
    for (const res of r.results) {
      // Values quoted in a verdict (group names) may hold line breaks: shown as \n, not as a broken row.
      rows.push([...(bundle.subset ? [r.scope] : []), res.name, res.summary.severity, flaggedCell(res, r.rows), res.summary.verdict.replace(/\r\n|\r|\n/g, '\\n')]);
    }
    for (const s of r.skipped) rows.push([...(bundle.subset ? [r.scope] : []), s.name, 'skipped', '', s.reason]);
  }
  printTable(head, rows);
  if (bundle.subset) console.log(`subset: ${bundle.subset.subset?.file}, ${bundle.subset.rows.toLocaleString('en-US')} rows`);
  if (p.testNote) printWrapped(`note: ${p.testNote}`);
  if (outputs.html) console.log(`html report: ${outputs.html}`);
  if (outputs.db) {
    const t = outputs.tables ?? [];
    printWrapped(`duckdb tables: ${outputs.db} (${t.map((x) => `${x.name} ${x.rows.toLocaleString('en-US')}`).join(', ')})`);
    console.log(`query them: sieve sql ${outputs.db} "SELECT analyser, severity, flagged FROM summary"`);
  }
  if (outputs.keep) {
    const k = outputs.keep;
    printWrapped(`kept: ${k.rows.toLocaleString('en-US')} ${k.task === 'relabel' ? 'corrections' : 'ids'} in ${k.path}: ${k.rule}`);
    if (k.challenge) console.log(`next: sieve evaluate ${k.challenge} ${k.path}`);
  }
  if (!outputs.html && !outputs.db) printWrapped('more: --html report.html for the shareable report, --db audit.duckdb for every finding as SQL tables, --json for machines');
  if (warnings.length) console.log(`${warnings.length} plot(s) could not be rendered; see the warnings above`);
}
