/**
 * Entry point of the `sieve` command. Each subcommand lives in its own file under src/cli/
 * and exports `register(program)`; src/cli/commands.ts lists them.
 */
import { Command } from 'commander';
import { describeFailure } from '../util/errors.ts';
import { terminalWidth } from '../util/output.ts';
import { cleanupTrackedSync, getInterruptNote } from '../util/temps.ts';
import { commands } from './commands.ts';
import { checkThreadsEnv } from './threads.ts';

// Interrupted: remove every temporary file and folder, then exit as a shell expects (128 + signal).
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.on(signal, () => {
    cleanupTrackedSync();
    if (process.stderr.isTTY) process.stderr.write('\x1b[?25h'); // a progress bar hid the cursor
    process.stderr.write(`\nsieve: interrupted (${signal}); temporary files removed, nothing half-written is left\n`);
    const note = getInterruptNote();
    if (note) process.stderr.write(`${note}\n`);
    process.exit(code);
  });
}
process.on('uncaughtException', (err) => reportAndExit(err));
process.on('unhandledRejection', (err) => reportAndExit(err));

const versionInfo = await import('../version.ts');
const program = new Command('sieve')
  .description('sieve: a workbench for data-centric AI benchmarks (pools, fixed-model evaluator, analysers)')
  .version(versionInfo.SIEVE_VERSION)
  .showHelpAfterError()
  // Help fits the terminal, or 120 columns in a pipe (as tables do): Commander's own default of
  // 80 leaves long command names no room to wrap their descriptions, which then ran to 170.
  .configureHelp({ helpWidth: terminalWidth() })
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

// `sieve pool head ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

for (const register of commands) register(program);

try {
  checkThreadsEnv();
  await program.parseAsync(process.argv);
} catch (err) {
  reportAndExit(err);
}

function reportAndExit(err: unknown): never {
  cleanupTrackedSync();
  const failure = describeFailure(err, versionInfo.SIEVE_VERSION);
  if (failure.json && process.argv.includes('--json')) process.stdout.write(JSON.stringify(failure.json, null, 2) + '\n');
  process.stderr.write(failure.text + '\n');
  process.exit(failure.exitCode);
}
