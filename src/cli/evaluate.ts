/**
 * `sieve evaluate <challenge> <submission>`: validates the submission strictly, scores it with
 * the challenge's fixed model and seeds, and prints (or writes) the result record.
 */
import type { Command } from 'commander';
import { applyThreads } from './threads.ts';
import type { ResultRecord } from '../evaluate/record.ts';
import { Timings } from '../evaluate/timings.ts';
import { writeFileAtomically } from '../util/atomic.ts';
import { checkOutputPath } from '../util/outpath.ts';
import { printJson, printTable, printWrapped } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('score a submission against a challenge (built-in name or path to challenge.yaml / its directory)')
    .argument('<challenge>', 'challenge name or path')
    .argument('<submission>', 'submission file (.csv, .txt, .json, .parquet, .arrow) or strategy (.sql; .ts, .mjs, .js)')
    .option('--json', 'print the result record as JSON')
    .option('--out <file>', 'write the full result record (private scores included) to this file, atomically')
    .option('--format <format>', 'submission format, overriding the extension (csv|txt|json|parquet|arrow)')
    .option('--show-private', 'show private-test scores even though the challenge is still open')
    .option('--threads <n>', 'use at most this many threads (default: every core; figures are identical at any count)')
    .option('--timings', 'also print where the time went (start-up, pool read, preprocessing, fits, prediction, metrics, bootstrap, record); with --json under "timings", never in the record')
    .option('--allow-network-unsandboxed', 'code strategies: run even where the network cannot be isolated (read docs/strategies.md first)')
    .addHelpText(
      'after',
      `
Submissions:  selection  ids to train on (CSV header "id", TXT one id per line, JSON array / {"ids": [...]})
              relabel    corrections (CSV header "id,label", JSON [{"id": ..., "label": ...}], Parquet, Arrow)
              ranking    ids in the order to inspect (same forms as selection)
Strategies:   strategy.sql (one SELECT over the tables pool and findings) or strategy.ts / .mjs / .js,
              run on the challenge pool; their output is validated and scored like a file (docs/strategies.md)
Every rule is checked before any training; a broken rule exits with code 2 and names the first offending rows.`,
    )
    .action(async (challenge: string, submission: string, opts: { threads?: string; json?: boolean; out?: string; format?: string; showPrivate?: boolean; allowNetworkUnsandboxed?: boolean; timings?: boolean }) => {
      applyThreads(opts.threads);
      const timings = opts.timings ? new Timings(performance.now()) : undefined;
      if (opts.out !== undefined) await checkOutputPath(opts.out, { kind: 'file', option: '--out', inputs: [submission] });
      const progress = progressBar({ enabled: !opts.json });
      const tModules = performance.now();
      const { evaluateFile } = await import('../evaluate/runner.ts');
      timings?.add('modules', (performance.now() - tModules) / 1000);
      const record = await evaluateFile(challenge, submission, { format: opts.format, progress, allowUnisolated: opts.allowNetworkUnsandboxed, timings });
      progress.stop();
      const tOut = performance.now();
      if (opts.out !== undefined) await writeFileAtomically(opts.out, JSON.stringify(record, null, 2) + '\n', { option: '--out', inputs: [submission] });
      timings?.add('record', (performance.now() - tOut) / 1000);
      await (timings ? timings.time('output', () => show()) : show());
      if (timings && !opts.json) {
        console.log('timings     (wall seconds, share of the total; not part of the record)');
        for (const line of timings.lines()) console.log(`            ${line}`);
      }
      async function show(): Promise<void> {
        if (opts.json) {
          const view = (await import('../evaluate/record.ts')).publicView(record, { showPrivate: opts.showPrivate });
          // Diagnostics beside the record's fields, never inside what verify compares.
          printJson(timings ? { ...view, timings: timings.toJSON() } : view);
        } else await printRecord(record, { showPrivate: opts.showPrivate, out: opts.out });
      }
    });
}

/** The human form of a result record: what was scored, a metric table, and the figures. */
/** `server`: the record came from a challenge server (`sieve submit`), whose entrants have no --show-private. */
export async function printRecord(record: ResultRecord, opts: { showPrivate?: boolean; out?: string; report?: string[]; server?: boolean } = {}): Promise<void> {
  const { privateVisible, publicView } = await import('../evaluate/record.ts');
  const { ci, meanStd, reportedMetricNames, scoringRulesLines } = await import('../evaluate/format.ts');
  const showPrivate = record.private !== null && privateVisible(record, opts);
  const c = record.challenge;
  printWrapped(`challenge   ${c.name} v${c.version} (${c.task}), pool ${record.pool.name}`);
  if (record.strategy) {
    const st = record.strategy;
    printWrapped(`strategy    ${st.path} (${st.kind}, sha256 ${st.sha256.slice(0, 12)}…, seed ${st.seed}): ${record.submission.rows} rows out, output sha256 ${st.output_sha256.slice(0, 12)}…`, 12);
  } else {
    printWrapped(`submission  ${record.submission.path} (${record.submission.format}, ${record.submission.rows} rows, sha256 ${record.submission.sha256.slice(0, 12)}…)`, 12);
  }
  printWrapped(
    `model       ${record.model.kind}, seeds [${record.seeds.join(', ')}], bootstrap ${record.bootstrap.samples} resamples; ` +
      `public test ${record.test.public_rows} of ${record.test.rows} rows`,
    12,
  );
  const report = opts.report ?? record.challenge.report;
  const names = reportedMetricNames(record.primary.name, report, Object.keys(record.metrics));
  const head = ['metric', 'public mean ± std', 'public 95% CI'];
  if (showPrivate) head.push('private mean ± std', 'private 95% CI');
  // Group figures say which class they are for and which groups were too small to judge.
  const withNotes = names.some((n) => record.metrics[n]?.note || (showPrivate && record.private!.metrics[n]?.note));
  if (withNotes) head.push('note (public part)');
  const rows = names.map((n) => {
    const row = [n === record.primary.name ? `${n} (primary, ${record.primary.direction})` : n, meanStd(record.metrics[n]), ci(record.metrics[n])];
    if (showPrivate) row.push(meanStd(record.private!.metrics[n]), ci(record.private!.metrics[n]));
    if (withNotes) row.push(record.metrics[n]?.note ?? '');
    return row;
  });
  printTable(head, rows);
  for (const line of scoringRulesLines(record)) printWrapped(line, 12);
  // While private scores are hidden, the curve is the public rows' (publicView), like every other figure shown.
  const curve = showPrivate ? record.curve : publicView(record, opts).curve;
  if (curve && record.ranking && curve.accuracy.length) {
    const cv = curve, r = record.ranking;
    const last = cv.accuracy.length - 1;
    const over = showPrivate ? `all ${record.test.rows} test rows (per part in the record)` : `the ${record.test.public_rows} public test rows`;
    printWrapped(
      `curve       ${cv.k.length} points over ${over}: accuracy ${cv.accuracy[0].toFixed(4)} (noisy pool) → ` +
        `${cv.accuracy[last].toFixed(4)} after ${cv.k[last]} fixes; ` +
        (r.noisy_fixed === undefined ? `how many of the ${r.noisy_rows} noisy rows the ranking reaches is withheld until the challenge closes` : `the ranking reaches ${r.noisy_fixed} of ${r.noisy_rows} noisy rows`),
      12,
    );
  }
  const s = record.subset;
  const classes = Object.entries(s.class_counts).map(([k, v]) => `${k} ${v}`).join(', ');
  printWrapped(`subset      ${s.rows} rows${s.changed !== undefined ? ` (${s.changed} change a label)` : ''}; ${classes}`, 12);
  for (const [g, counts] of Object.entries(s.group_counts)) {
    printWrapped(`            ${g}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`, 12);
  }
  if (record.private && !showPrivate) {
    printWrapped(`private     ${record.test.private_rows} test rows scored and stored; shown ${c.closes ? `after ${c.closes}` : 'when the challenge closes'}${opts.server ? ' (sieve leaderboard then shows them)' : ' (or --show-private)'}`, 12);
  }
  const sys = record.system;
  printWrapped(`system      fit ${sys.fit_seconds.toFixed(2)} s, total ${sys.total_seconds.toFixed(2)} s, peak ${sys.peak_rss_mb} MB, ${sys.cores} cores, node ${sys.node}, evaluator ${record.evaluator.version}`, 12);
  if (record.convergence) printWrapped(`convergence ${record.convergence.note}`, 12);
  const g = record.generalisation;
  if (g && !('variants' in g)) printWrapped(`variants    ${g.note}`, 12);
  else if (g) {
    const per = g.variants.map((v) => `${v.seed}: ${v.primary === null ? `failed (${v.error})` : v.primary.toFixed(4)}`).join(', ');
    const ci = g.ci95 ? ` [${g.ci95[0].toFixed(4)}, ${g.ci95[1].toFixed(4)}] (Student t over variants)` : '';
    printWrapped(`variants    ${g.primary.name} per hidden variant ${per}`, 12);
    printWrapped(`            generalisation ${g.mean === null ? '-' : g.mean.toFixed(4)}${ci}, gap to public ${g.gap === null ? '-' : g.gap.toFixed(4)}${g.note ? `; ${g.note}` : ''}`, 12);
  }
  if (opts.out) console.log(`wrote       ${opts.out}`);
}
