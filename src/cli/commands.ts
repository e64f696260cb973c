import type { Command } from 'commander';

/** Every subcommand's register function, in help order. Add one line per new command file. */
export const commands: ((program: Command) => void)[] = [
];
