/**
 * `sieve cache [show] | clear [PART...]`: how much room sieve's cache takes, part by part, and
 * removing it (src/util/cache-parts.ts). The cache holds only what sieve rebuilds on demand.
 */
import type { Command } from 'commander';
import { SieveError } from '../util/errors.ts';
import { printJson, printTable } from '../util/output.ts';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function register(program: Command): void {
  const cmd = program.command('cache').description("sieve's cache of rebuildable data: its size, part by part, and clearing it");

  cmd
    .command('show', { isDefault: true })
    .description('the cache folder and the size of each part')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { cacheDir } = await import('../util/cache-dir.ts');
      const { cacheUsage } = await import('../util/cache-parts.ts');
      const parts = cacheUsage();
      const total = parts.reduce((s, p) => s + p.bytes, 0);
      if (opts.json) return printJson({ dir: cacheDir(), bytes: total, parts: parts.map(({ name, path, bytes, files }) => ({ name, path, bytes, files })) });
      console.log(`cache folder: ${cacheDir()} ($SIEVE_CACHE overrides it)`);
      printTable(['part', 'size', 'files', 'what'], parts.map((p) => [p.name, mb(p.bytes), p.files, p.what]));
      console.log(`total ${mb(total)}; \`sieve cache clear [part ...]\` removes it (rebuilt on demand)`);
    });

  cmd
    .command('clear')
    .description('remove cache parts (default: all); everything in them is rebuilt when next needed')
    .argument('[parts...]', 'evaluate, variants, findings, embed, file-hashes, audit, downloads, pools, challenges, worker')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], opts: { json?: boolean }) => {
      const { CACHE_PARTS, clearCache } = await import('../util/cache-parts.ts');
      const unknown = names.filter((n) => !CACHE_PARTS.some((p) => p.name === n));
      if (unknown.length)
        throw new SieveError(`unknown cache part${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}: the parts are ${CACHE_PARTS.map((p) => p.name).join(', ')}`, {
          where: 'sieve cache clear',
        });
      const removed = clearCache(names);
      const total = removed.reduce((s, p) => s + p.bytes, 0);
      if (opts.json) return printJson({ removed: removed.map(({ name, path, bytes, files }) => ({ name, path, bytes, files })), bytes: total });
      console.log(`removed ${removed.map((p) => `${p.name} (${mb(p.bytes)})`).join(', ')}: ${mb(total)} freed`);
    });
}
