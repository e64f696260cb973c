import type { Command } from 'commander';
import { registerPoolList } from './pool-list.ts';
import { registerPoolInfo } from './pool-info.ts';
import { registerPoolHead } from './pool-head.ts';
import { registerPoolImport } from './pool-import.ts';
import { registerPoolExport } from './pool-export.ts';
import { registerPoolBuild } from './pool-build.ts';
import { registerPoolSynth } from './pool-synth.ts';

/**
 * `sieve pool ...`: one registrar per subcommand file (src/cli/pool-*.ts). A pool is named
 * by its built-in name or a path to its directory.
 */
export function register(program: Command): void {
  const pool = program
    .command('pool')
    .description('inspect, import, export and build pools (a pool is a built-in name or a directory)');
  registerPoolList(pool);
  registerPoolInfo(pool);
  registerPoolHead(pool);
  registerPoolImport(pool);
  registerPoolExport(pool);
  registerPoolBuild(pool);
  registerPoolSynth(pool);
}
