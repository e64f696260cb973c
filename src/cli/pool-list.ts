import type { Command } from 'commander';
import { join } from 'node:path';
import { printJson, printTable, printWrapped } from '../util/output.ts';

export function registerPoolList(pool: Command): void {
  pool
    .command('list')
    .description('list the built-in pools and the workspace pools, where each lives, with their row counts')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { listBuiltinPools, listWorkspacePools, openPool } = await import('../pool/open.ts');
      const { builtinPoolsDir, describeWorkspace, workspaces } = await import('../pool/resolve.ts');
      const named = [
        ...listBuiltinPools().map((name) => ({ name, dir: join(builtinPoolsDir(), name), where: 'built-in', workspace: null, shadowed: false })),
        ...listWorkspacePools().map((p) => ({ name: p.name, dir: p.dir, where: 'workspace', workspace: p.workspace.kind, shadowed: p.shadowed })),
      ];
      const rows = [];
      for (const { name, dir, where, workspace, shadowed } of named) {
        const m = (await openPool(dir)).manifest;
        rows.push({
          name,
          where,
          workspace,
          dir,
          // A nearer workspace (or a built-in) has a pool of this name: the name opens that one.
          shadowed: shadowed || (where === 'workspace' && listBuiltinPools().includes(name)),
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
      printTable(
        ['pool', 'where', 'train rows', 'test rows', 'classes', 'features', 'groups'],
        rows.map((r) => [
          r.shadowed ? `${r.name} (shadowed)` : r.name,
          r.where === 'built-in' ? 'built-in' : r.workspace === 'env' ? '$SIEVE_WORKSPACE' : r.workspace,
          r.train_rows, r.test_rows, r.classes, kindSummary(r.features), r.groups.join(' '),
        ]),
      );
      console.log(`built-in pools: ${builtinPoolsDir()}`);
      for (const w of workspaces()) console.log(`workspace: ${describeWorkspace(w)}`);
      printWrapped('a name opens the first pool of that name in this order; `sieve pool import FILE --name NAME` adds to the first workspace; --json gives every directory');
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
