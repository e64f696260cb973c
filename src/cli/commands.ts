import type { Command } from 'commander';
import { register as registerPool } from './pool.ts';

/** Every subcommand's register function, in help order. Add one line per new command file. */
export const commands: ((program: Command) => void)[] = [
  registerPool,
];
