import type { Command } from 'commander';
import { SieveError } from '../util/errors.ts';
import { printJson } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../pool/choices.ts';
import { parseSplit } from './pool-head.ts';

export function registerPoolExport(pool: Command): void {
  pool
    .command('export')
    .description('write a participant-visible split as Arrow IPC, Parquet or CSV')
    .argument('<pool>', 'built-in pool name or pool directory')
    .requiredOption('--format <format>', `output format: ${EXPORT_FORMATS.join(', ')}`)
    .requiredOption('--out <file>', 'file to write')
    .option('--split <split>', 'train, or test where the test split is participant-visible', 'train')
    .option('--json', 'print what was written as JSON')
    .action(async (name: string, o: { format: string; out: string; split: string; json?: boolean }) => {
      if (!EXPORT_FORMATS.includes(o.format as ExportFormat))
        throw new SieveError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${o.format}"`, { where: '--format' });
      const { openPool } = await import('../pool/open.ts');
      const { exportPool } = await import('../pool/export.ts');
      const p = await openPool(name);
      const progress = progressBar({ enabled: !o.json });
      const r = await exportPool(p, { format: o.format as ExportFormat, out: o.out, split: parseSplit(o.split), progress });
      if (o.json) printJson({ pool: p.name, split: o.split, format: o.format, rows: r.rows, path: r.path });
      else console.log(`wrote ${r.rows} rows of ${p.name}/${o.split} to ${r.path} (${o.format})`);
    });
}
