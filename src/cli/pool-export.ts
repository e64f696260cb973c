import type { Command } from 'commander';
import { printJson } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';
import { EXPORT_FORMATS } from '../pool/choices.ts';
import { parseSplit } from './pool-head.ts';

export function registerPoolExport(pool: Command): void {
  pool
    .command('export')
    .description('write a participant-visible split as Arrow IPC, Parquet or CSV')
    .argument('<pool>', 'built-in pool name or pool directory')
    .option('--format <format>', `output format: ${EXPORT_FORMATS.join(', ')} (default: from the --out extension, .arrow .parquet .csv)`)
    .requiredOption('--out <file>', 'file to write')
    .option('--split <split>', 'train, or test where the test split is participant-visible', 'train')
    .option('--json', 'print what was written as JSON')
    .action(async (name: string, o: { format?: string; out: string; split: string; json?: boolean }) => {
      const { openPool } = await import('../pool/open.ts');
      const { exportFormat, exportPool } = await import('../pool/export.ts');
      const format = exportFormat(o.out, o.format);
      const p = await openPool(name);
      const progress = progressBar({ enabled: !o.json });
      const r = await exportPool(p, { format, out: o.out, split: parseSplit(o.split), progress });
      if (o.json) printJson({ pool: p.name, split: o.split, format, rows: r.rows, path: r.path });
      else console.log(`wrote ${r.rows} rows of ${p.name}/${o.split} to ${r.path} (${format})`);
    });
}
