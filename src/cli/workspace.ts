/**
 * `sieve workspace [show] | init [DIR]`: where named pools are looked up and imported
 * (src/pool/resolve.ts), and making a project workspace (a `.sieve/` folder, found from any
 * folder below it as git finds `.git`).
 */
import type { Command } from 'commander';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { printJson, printTable } from '../util/output.ts';

export function register(program: Command): void {
  const cmd = program
    .command('workspace')
    .description('where named pools live: show the workspaces in lookup order, or make a project workspace');

  cmd
    .command('show', { isDefault: true })
    .description('the workspaces a pool name is looked up in, nearest first, and where `pool import --name` writes')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { describeWorkspace, importWorkspace, listWorkspacePools, workspaces } = await import('../pool/resolve.ts');
      const target = importWorkspace();
      const pools = listWorkspacePools();
      const rows = workspaces().map((w) => ({
        kind: w.kind,
        dir: w.dir,
        imports: w.dir === target.dir,
        pools: pools.filter((p) => p.workspace.dir === w.dir).map((p) => p.name),
      }));
      if (opts.json) return printJson(rows);
      printTable(
        ['workspace', 'folder', 'pools', 'imports go here'],
        rows.map((r) => [r.kind === 'env' ? '$SIEVE_WORKSPACE' : r.kind, r.dir, r.pools.join(' ') || '-', r.imports ? 'yes' : '']),
      );
      console.log(`pool import --name writes to ${describeWorkspace(target)}`);
      if (target.kind === 'user') console.log('(`sieve workspace init` makes a project workspace here; it then comes first in this folder and every folder below it)');
    });

  cmd
    .command('init')
    .description('make a project workspace: a .sieve/ folder in DIR (default: here) that every folder below it uses')
    .argument('[dir]', 'the project folder', '.')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const { PROJECT_WORKSPACE } = await import('../pool/resolve.ts');
      const project = resolve(dir);
      const st = (() => {
        try {
          return statSync(project);
        } catch {
          return undefined;
        }
      })();
      if (!st?.isDirectory()) throw new SieveError(`${project} is not a folder`, { where: dir });
      const ws = join(project, PROJECT_WORKSPACE);
      let created = true;
      try {
        mkdirSync(ws);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!statSync(ws).isDirectory()) throw new SieveError(`${ws} exists and is not a folder`, { where: dir });
        created = false;
      }
      const note = process.env.SIEVE_WORKSPACE ? `$SIEVE_WORKSPACE is set (${process.env.SIEVE_WORKSPACE}): it is used instead while it is set` : undefined;
      if (opts.json) return printJson({ dir: ws, created, ...(note ? { note } : {}) });
      console.log(`${created ? 'made' : 'already there:'} project workspace ${ws}; pools imported by name in ${project} or below go there`);
      if (note) console.log(`note: ${note}`);
    });
}
