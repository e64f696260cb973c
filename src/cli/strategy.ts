/**
 * `sieve strategy run STRATEGY --challenge NAME --out ids.csv`: runs a strategy on a
 * challenge's pool and writes its output as a submission file (validated first, so the file
 * passes `sieve challenge check`; `sieve evaluate` of it scores the same rows as evaluating the
 * strategy itself, and its sha256 is the record's `strategy.output_sha256`).
 *
 * `sieve strategy list | show NAME | new NAME --kind sql|ts --task ...`: the built-in library
 * (src/strategy/library.ts, files in strategies/) and starting files (src/strategy/template.ts).
 */
import { Option, type Command } from 'commander';
import { TEMPLATE_KINDS, TEMPLATE_TASKS, type TemplateKind, type TemplateTask } from '../strategy/template.ts';
import { SieveError } from '../util/errors.ts';
import { taskOf } from '../tasks/index.ts';
import { writeFileAtomically } from '../util/atomic.ts';
import { checkOutputPath } from '../util/outpath.ts';
import { printJson, printTable } from '../util/output.ts';
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

  cmd
    .command('list')
    .description('list the built-in strategies: name, kind, tasks and what each does')
    .option('--json', 'print them as JSON (with the path of each file)')
    .addHelpText('after', `
Examples:
  sieve strategy list
  sieve strategy show drop-label-issues            # print the file
  sieve strategy show k-center > my-cover.ts       # copy it, edit it, score it:
  sieve evaluate fashion-select my-cover.ts
  sieve baselines fashion-select                   # every built-in strategy that applies, scored`)
    .action(async (opts: { json?: boolean }) => {
      const { LIBRARY, libraryKind, libraryPath, librarySummary, libraryText } = await import('../strategy/library.ts');
      const rows = LIBRARY.map((e) => ({
        name: e.name,
        kind: libraryKind(e),
        tasks: [...e.tasks],
        ...(e.needs ? { needs: e.needs } : {}),
        summary: librarySummary(libraryText(e)),
        path: libraryPath(e),
      }));
      if (opts.json) return printJson(rows);
      printTable(['name', 'kind', 'tasks', 'what it does'], rows.map((r) => [r.name, r.kind, r.tasks.join(', ') + (r.needs ? ` (needs ${r.needs})` : ''), r.summary]));
      console.log('`sieve strategy show NAME` prints one; `sieve baselines CHALLENGE` scores those that apply to the challenge.');
    });

  cmd
    .command('show')
    .description('print a built-in strategy file (redirect it to a file to start from it)')
    .argument('<name>', 'a name from `sieve strategy list`')
    .option('--path', 'print the path of the file instead')
    .action(async (name: string, opts: { path?: boolean }) => {
      const { LIBRARY, libraryEntry, libraryPath, libraryText } = await import('../strategy/library.ts');
      const entry = libraryEntry(name);
      if (!entry) {
        throw new SieveError(`no built-in strategy "${name}"`, { where: 'sieve strategy show', examples: [`known: ${LIBRARY.map((e) => e.name).join(', ')}`] });
      }
      process.stdout.write(opts.path ? `${libraryPath(entry)}\n` : libraryText(entry));
    });

  cmd
    .command('new')
    .description('write a commented starting strategy file that runs as it is (never overwrites)')
    .argument('<name>', 'the new file: NAME.sql / NAME.ts in the current folder, or a path ending in .sql or .ts')
    .addOption(new Option('--kind <kind>', 'sql (one DuckDB SELECT) or ts (a TypeScript module)').choices([...TEMPLATE_KINDS]).makeOptionMandatory())
    .addOption(new Option('--task <task>', "the challenge's task").choices([...TEMPLATE_TASKS]).default('selection'))
    .addHelpText('after', `
Examples:
  sieve strategy new keep-clean --kind sql                   # writes keep-clean.sql (selection)
  sieve strategy new fix-labels --kind ts --task relabel     # writes fix-labels.ts
  sieve challenge check fashion-select keep-clean.sql        # it runs as written`)
    .action(async (name: string, opts: { kind: TemplateKind; task: TemplateTask }) => {
      const { writeNewStrategy } = await import('../strategy/new.ts');
      const written = await writeNewStrategy(name, opts.kind, opts.task);
      console.log(`wrote ${written.path} (a ${opts.task} strategy, ${opts.kind}); try it: sieve challenge check CHALLENGE ${written.path}`);
    });
}
