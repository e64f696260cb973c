import { Command } from 'commander';
import { SieveError } from '../util/errors.ts';
import { commands } from './commands.ts';

/**
 * Entry point of the `sieve` command. Each subcommand lives in its own file under src/cli/
 * and exports `register(program)`; src/cli/commands.ts lists them.
 */
const program = new Command('sieve')
  .description('sieve: a workbench for data-centric AI benchmarks (pools, fixed-model evaluator, analysers)')
  .version((await import('../version.ts')).SIEVE_VERSION)
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

// `sieve pool head ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  reportAndExit(err);
}

function reportAndExit(err: unknown): never {
  const json = process.argv.includes('--json');
  if (err instanceof SieveError) {
    if (json) process.stdout.write(JSON.stringify(err.toJSON(), null, 2) + '\n');
    process.stderr.write(err.describe() + '\n');
    process.exit(err.exitCode);
  }
  process.stderr.write(`internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
