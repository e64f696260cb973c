/** `sieve verify result.json`: re-run a result record and confirm bit-identical metrics. */
import type { Command } from 'commander';
import { applyThreads } from './threads.ts';
import { SieveError } from '../util/errors.ts';
import { printJson, printTable } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';

/** A figure for the mismatch table: long values (encoded replay arrays) cut to their start. */
const shown = (v: unknown) => {
  const text = JSON.stringify(v) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

export function register(program: Command): void {
  program
    .command('verify')
    .description('re-run a result record (sieve evaluate --out) and confirm every metric is bit-identical')
    .argument('<result>', 'result record JSON written by sieve evaluate --out')
    .option('--submission <file>', 'the submission file, if it moved since scoring (its sha256 must match the record)')
    .option('--threads <n>', 'use at most this many threads (default: every core; figures are identical at any count)')
    .option('--rescore', "no re-run: recompute every figure from the record's own stored counts and check it equals the recorded one")
    .option('--allow-network-unsandboxed', 'code strategies: re-run even where the network cannot be isolated')
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', '\nExit codes: 0 identical; 1 figures differ (listed); 2 the submission, challenge spec or pool changed, or bad input.\n' +
        '--rescore needs only the record: no submission, pool or refit; intervals are recomputed from the rows the\n' +
        'record’s bootstrap resampled (records written before those were stored re-score without their intervals, and say so).')
    .action(async (result: string, opts: { threads?: string; submission?: string; json?: boolean; rescore?: boolean; allowNetworkUnsandboxed?: boolean }) => {
      applyThreads(opts.threads);
      if (opts.rescore) return rescore(result, opts);
      const progress = progressBar({ enabled: !opts.json });
      const { verifyRecord } = await import('../evaluate/verify.ts');
      const outcome = await verifyRecord(result, { submission: opts.submission, progress, allowUnisolated: opts.allowNetworkUnsandboxed });
      progress.stop();
      if (opts.json) {
        printJson({ ok: outcome.ok, compared: outcome.compared, differences: outcome.differences, notes: outcome.notes });
      } else {
        for (const n of outcome.notes) console.log(`note: ${n}`);
        if (outcome.ok) {
          console.log(`verified: all ${outcome.compared} recorded figures are bit-identical on re-run (${result})`);
        } else {
          console.log(`MISMATCH: ${outcome.differences.length} of ${outcome.compared} figures differ`);
          printTable(
            ['figure', 'recorded', 're-run'],
            outcome.differences.slice(0, 50).map((d) => [d.path, shown(d.recorded), shown(d.rerun)]),
          );
          if (outcome.differences.length > 50) console.log(`... and ${outcome.differences.length - 50} more`);
        }
      }
      if (!outcome.ok) process.exitCode = 1;
    });
}

/** `--rescore`: every figure from the record's own counts, no refit. */
async function rescore(result: string, opts: { json?: boolean }): Promise<void> {
  const { readRecord } = await import('../evaluate/verify.ts');
  const { rescoreRecord } = await import('../evaluate/rescore.ts');
  const rec = await readRecord(result);
  let outcome;
  try {
    outcome = rescoreRecord(rec);
  } catch (err) {
    // A record whose content the checks cannot use (a key removed deep inside, a count of the
    // wrong shape) is bad input, exit 2: not "figures differ", not a crash.
    if (err instanceof SieveError) throw err;
    throw new SieveError(`the record cannot be re-scored: ${(err as Error).message.split('\n')[0]}`, { where: result, examples: ['a record is what `sieve evaluate --out FILE` writes, whole'] });
  }
  if (opts.json) printJson(outcome);
  else {
    for (const n of outcome.notes) console.log(`note: ${n}`);
    if (outcome.ok) console.log(`re-scored: all ${outcome.compared} recorded figures equal the ones recomputed from the record's counts (${result})`);
    else {
      console.log(`MISMATCH: ${outcome.differences.length} of ${outcome.compared} figures differ from their recomputation`);
      printTable(
        ['figure', 'recorded', 'recomputed'],
        outcome.differences.slice(0, 50).map((d) => [d.path, shown(d.recorded), shown(d.rerun)]),
      );
      if (outcome.differences.length > 50) console.log(`... and ${outcome.differences.length - 50} more`);
    }
  }
  if (!outcome.ok) process.exitCode = 1;
}
