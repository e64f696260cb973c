/**
 * Opening a pool by name or path: its directory and validated manifest, nothing read from its
 * data files. Apart from read.ts (which re-exports it) so that commands that only show a
 * manifest (`sieve pool info`, `pool list`) never load DuckDB.
 */
import { loadManifest, type PoolManifest } from './manifest.ts';
import { resolvePoolDir } from './resolve.ts';

export { listBuiltinPools, listWorkspacePools } from './resolve.ts';

export interface Pool {
  /** Manifest name. */
  name: string;
  /** Absolute directory. */
  dir: string;
  builtin: boolean;
  manifest: PoolManifest;
}

/**
 * Opens a pool by built-in name, workspace pool name or directory path and validates its
 * manifest. `near`: folders whose project workspaces are searched first (resolvePoolDir).
 */
export async function openPool(nameOrPath: string, opts: { near?: string[] } = {}): Promise<Pool> {
  const { dir, builtin } = resolvePoolDir(nameOrPath, opts);
  const manifest = await loadManifest(dir);
  return { name: manifest.name, dir, builtin, manifest };
}
