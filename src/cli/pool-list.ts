import type { Command } from 'commander';
import { printJson, printTable } from '../util/output.ts';

export function registerPoolList(pool: Command): void {
  pool
    .command('list')
    .description('list the built-in pools and the workspace pools with their row counts')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { listBuiltinPools, listWorkspacePools, openPool } = await import('../pool/open.ts');
      const rows = [];
      const named = [
        ...listBuiltinPools().map((name) => ({ name, where: 'built-in' })),
        ...listWorkspacePools().map((name) => ({ name, where: 'workspace' })),
      ];
      for (const { name, where } of named) {
        const p = await openPool(name);
        const m = p.manifest;
        rows.push({
          name,
          where,
          description: m.description,
          train_rows: m.splits.train.rows,
          test_rows: m.splits.test?.rows ?? 0,
          classes: m.classes.length,
          features: m.features.map((f) => `${f.name}:${f.kind}`),
          groups: m.groups.map((g) => g.name),
          content_hash: m.content_hash,
        });
      }
      if (opts.json) return printJson(rows);
      if (!rows.length) return console.log('no pools: none built in, none in the workspace');
      printTable(
        ['pool', 'where', 'train rows', 'test rows', 'classes', 'features', 'groups'],
        rows.map((r) => [r.name, r.where, r.train_rows, r.test_rows, r.classes, kindSummary(r.features), r.groups.join(' ')]),
      );
    });
}

/** "20: 7 numeric, 13 categorical" from ["age:numeric", …] (the full list is in --json). */
function kindSummary(features: string[]): string {
  if (features.length === 1) return features[0];
  const counts = new Map<string, number>();
  for (const f of features) {
    const kind = f.slice(f.lastIndexOf(':') + 1);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return `${features.length}: ${[...counts].map(([k, c]) => `${c} ${k}`).join(', ')}`;
}
