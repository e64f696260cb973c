/**
 * `sieve strategy run STRATEGY --challenge NAME --out ids.csv`: runs a strategy on a
 * challenge's pool and writes its output as a submission file (validated first, so the file
 * passes `sieve challenge check`; `sieve evaluate` of it scores the same rows as evaluating the
 * strategy itself, and its sha256 is the record's `strategy.output_sha256`).
 */
import type { Command } from 'commander';
import { taskOf } from '../tasks/index.ts';
import { writeFileAtomically } from '../util/atomic.ts';
import { checkOutputPath } from '../util/outpath.ts';
import { printJson } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';

export function register(program: Command): void {
  const cmd = program.command('strategy').description('run cleaning strategies (SQL or code) on a challenge pool');

  cmd
    .command('run')
    .description("run a strategy on a challenge's pool and write its output as a submission file")
    .argument('<strategy>', 'strategy file: .sql, or .ts / .mjs / .js')
    .requiredOption('--challenge <name>', 'challenge name or path (its pool, task and budget)')
    .option('--out <file>', 'write the submission CSV here, atomically (default: print it)')
    .option('--allow-network-unsandboxed', 'code strategies: run even where the network cannot be isolated')
    .option('--json', 'print what was run and written as JSON')
    .addHelpText('after', `
Examples:
  sieve strategy run drop-issues.sql --challenge fashion-select --out ids.csv
  sieve evaluate fashion-select ids.csv        # the same rows as: sieve evaluate fashion-select drop-issues.sql`)
    .action(async (strategy: string, opts: { challenge: string; out?: string; json?: boolean; allowNetworkUnsandboxed?: boolean }) => {
      if (opts.out !== undefined) await checkOutputPath(opts.out, { kind: 'file', option: '--out', inputs: [strategy] });
      const progress = progressBar({ enabled: !opts.json && opts.out !== undefined });
      const { checkSubmission } = await import('../evaluate/runner.ts');
      const { strategySource } = await import('../submission/sources/strategy.ts');
      const { outputCsv } = await import('../strategy/output.ts');
      const source = strategySource(strategy, { allowUnisolated: opts.allowNetworkUnsandboxed, progress });
      const checked = await checkSubmission(opts.challenge, source);
      progress.stop();
      const run = (checked.read as Awaited<ReturnType<typeof source.read>>).run;
      const csv = outputCsv(run.output);
      if (opts.out !== undefined) await writeFileAtomically(opts.out, csv, { option: '--out', inputs: [strategy] });
      const summary = {
        strategy: run.path,
        kind: run.kind,
        sha256: run.strategySha256,
        challenge: checked.challenge.name,
        rows: checked.submission.rows,
        output_sha256: run.outputSha256,
        seconds: run.seconds,
        ...(opts.out !== undefined ? { out: opts.out } : {}),
      };
      if (opts.json) return printJson(summary);
      if (opts.out === undefined) {
        process.stdout.write(csv);
        return;
      }
      console.log(
        `ok: ${summary.rows} ${taskOf(checked.challenge.task).entries} from ${run.kind} strategy ${run.path} ` +
          `pass every rule of ${summary.challenge}; wrote ${opts.out} (sha256 ${run.outputSha256.slice(0, 12)}…) in ${run.seconds.toFixed(1)} s`,
      );
    });
}
