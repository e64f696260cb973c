import type { Command } from 'commander';
import { printJson, printTable } from '../util/output.ts';
import { SieveError } from '../util/errors.ts';
import type { SplitName } from '../pool/types.ts';

export function parseSplit(s: string): SplitName {
  if (s !== 'train' && s !== 'test') throw new SieveError(`--split must be train or test, not "${s}"`, { where: '--split' });
  return s;
}

export function parseCount(s: string, option: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new SieveError(`${option} needs a whole number ≥ 0, not "${s}"`, { where: option });
  return n;
}

export function registerPoolHead(pool: Command): void {
  pool
    .command('head')
    .description('the first rows of a pool (participant-visible files only; large features summarised)')
    .argument('<pool>', 'built-in pool name or pool directory')
    .option('--rows <n>', 'how many rows', '10')
    .option('--split <split>', 'train, or test where the test split is participant-visible', 'train')
    .option('--columns <a,b,c>', 'only these columns after id (label, feature and group names), in this order')
    .option('--json', 'print a JSON array of row objects')
    .addHelpText('after', `
The table fits the terminal (120 characters when stdout is not a terminal): long cells are
wrapped or cut with "…" and columns that do not fit are named below it; --columns picks
the ones to see, --json prints every value in full.`)
    .action(async (name: string, opts: { rows: string; split: string; columns?: string; json?: boolean }) => {
      const columns = opts.columns?.split(',').map((s) => s.trim()).filter(Boolean);
      if (opts.columns !== undefined && !columns?.length) throw new SieveError('--columns needs at least one column name', { where: '--columns' });
      const { openPool, readHead } = await import('../pool/read.ts');
      const rows = await readHead(await openPool(name), parseCount(opts.rows, '--rows'), parseSplit(opts.split), { columns });
      if (opts.json) return printJson(rows);
      if (!rows.length) return console.log('(no rows)');
      const head = Object.keys(rows[0]);
      printTable(head, rows.map((r) => head.map((k) => r[k] as string | number | null)), {
        keep: 2,
        more: '--columns a,b,c picks the columns, --json prints every value',
      });
    });
}
