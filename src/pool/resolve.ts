/**
 * Finds pools by name or path. Built-in pools live in `pools/<name>/pool.json` under the
 * package root, located from this file's URL so it works from any working directory and
 * from an installed package.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';
import { cacheDir } from '../util/cache-dir.ts';
import { MANIFEST_FILE } from './manifest.ts';

/** The package root (the directory holding package.json). */
export function packageRoot(): string {
  return PACKAGE_ROOT;
}

export function builtinPoolsDir(): string {
  return join(packageRoot(), 'pools');
}

/** Names of the built-in pools (directories of pools/ that hold a pool.json), sorted. */
export function listBuiltinPools(): string[] {
  const dir = builtinPoolsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && existsSync(join(dir, name, MANIFEST_FILE)))
    .sort();
}

/**
 * Workspaces hold a user's own named pools (`sieve pool import FILE --name NAME`, then NAME
 * wherever a pool goes), in `<workspace>/pools/NAME`:
 *
 * - `$SIEVE_WORKSPACE`, when set, is the only one (scripts, CI and tests pin it);
 * - else a **project** workspace: the nearest folder named `.sieve` in the working directory
 *   or above it, as git finds `.git` (`sieve workspace init` makes one);
 * - and the **user** workspace, the platform's per-user data folder
 *   (`$XDG_DATA_HOME/sieve` or `~/.local/share/sieve` on Linux, `~/Library/Application
 *   Support/sieve` on macOS, `%LOCALAPPDATA%\sieve` on Windows).
 *
 * A name is looked up nearest first (project, then user); imports go to the project
 * workspace when there is one, else to the user's.
 */
export type WorkspaceKind = 'env' | 'project' | 'user';
export interface Workspace {
  /** Absolute path of the workspace folder (pools live in `pools/` inside it). */
  dir: string;
  kind: WorkspaceKind;
}

/** The folder name of a project workspace. */
export const PROJECT_WORKSPACE = '.sieve';

/** The platform's per-user data folder for sieve (the user workspace). */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = homedir()): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'sieve');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'sieve');
  // The XDG base-directory spec: a relative $XDG_DATA_HOME is invalid and ignored.
  const xdg = env.XDG_DATA_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.local', 'share'), 'sieve');
}

/** The nearest `.sieve` folder in `start` or one of its ancestors, or undefined. */
export function findProjectWorkspace(start: string = process.cwd()): string | undefined {
  for (let d = resolve(start); ; d = dirname(d)) {
    const w = join(d, PROJECT_WORKSPACE);
    if (isDirectory(w)) return w;
    if (dirname(d) === d) return undefined;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The workspaces a pool name is looked up in, nearest first: `$SIEVE_WORKSPACE` alone, or the
 * project workspaces above each of `near` (a challenge file's folder, say) and above the
 * working directory, then the user workspace.
 */
export function workspaces(opts: { near?: string[] } = {}): Workspace[] {
  const env = process.env.SIEVE_WORKSPACE;
  if (env) return [{ dir: resolve(env), kind: 'env' }];
  const out: Workspace[] = [];
  for (const start of [...(opts.near ?? []), process.cwd()]) {
    const dir = findProjectWorkspace(start);
    if (dir && !out.some((w) => w.dir === dir)) out.push({ dir, kind: 'project' });
  }
  out.push({ dir: userDataDir(), kind: 'user' });
  return out;
}

/** Where `sieve pool import --name` writes: `$SIEVE_WORKSPACE`, the project workspace here, or the user's. */
export function importWorkspace(): Workspace {
  return workspaces()[0];
}

/** The import workspace's folder (kept for callers that need only the path). */
export function workspaceDir(): string {
  return importWorkspace().dir;
}

/** How a workspace is described to the user. */
export function describeWorkspace(w: Workspace): string {
  if (w.kind === 'env') return `${w.dir} ($SIEVE_WORKSPACE)`;
  if (w.kind === 'project') return `${w.dir} (project workspace)`;
  return `${w.dir} (user workspace)`;
}

/**
 * Where hidden variant pools are built (src/evaluate/variants.ts): `variants/` in sieve's cache
 * folder (src/util/cache-dir.ts: `$SIEVE_CACHE`, else the user cache folder). Everything under
 * it is evaluator-only (src/pool/guard.ts refuses it as a participant source).
 */
export function variantCacheDir(): string {
  return join(cacheDir(), 'variants');
}

/** Longest pool name: fits a directory name, a terminal table and a leaderboard column. */
export const MAX_POOL_NAME = 64;

/** A pool name is 1–64 letters, digits, ".", "_" and "-", starting with a letter or digit. */
export function validatePoolName(name: string, where = '--name'): void {
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 77)}...` : name);
  if (name.length > MAX_POOL_NAME)
    throw new SieveError(`a pool name has at most ${MAX_POOL_NAME} characters, got ${name.length}`, { where, examples: [shown] });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new SieveError(`a pool name is letters, digits, ".", "_" and "-" (starting with a letter or digit), got ${shown}`, {
      where,
      examples: ['e.g. my-data, adult.v2'],
    });
}

/**
 * The directory of workspace pool `name`. A name a built-in pool already has is refused:
 * a bare name resolves to the built-in first, so the workspace pool could never be used.
 */
export function workspacePoolDir(name: string): string {
  validatePoolName(name, '--name');
  if (listBuiltinPools().includes(name))
    throw new SieveError(`"${name}" is the name of a built-in pool; a workspace pool of that name could never be opened by name`, {
      where: '--name',
      examples: [`choose another name, e.g. my-${name}`],
    });
  return join(importWorkspace().dir, 'pools', name);
}

/** A named pool of a workspace; `shadowed` when a nearer workspace has a pool of that name. */
export interface WorkspacePool {
  name: string;
  dir: string;
  workspace: Workspace;
  shadowed: boolean;
}

/** The pools of every workspace (see `workspaces`), nearest workspace first, names sorted within each. */
export function listWorkspacePools(opts: { near?: string[] } = {}): WorkspacePool[] {
  const seen = new Set<string>();
  const out: WorkspacePool[] = [];
  for (const w of workspaces(opts)) {
    const dir = join(w.dir, 'pools');
    if (!isDirectory(dir)) continue;
    const names = readdirSync(dir).filter((name) => !name.startsWith('.') && existsSync(join(dir, name, MANIFEST_FILE))).sort();
    for (const name of names) {
      out.push({ name, dir: join(dir, name), workspace: w, shadowed: seen.has(name) });
      seen.add(name);
    }
  }
  return out;
}

function looksLikePath(s: string): boolean {
  return isAbsolute(s) || s.includes('/') || s.includes('\\') || s === '.' || s === '..';
}

/**
 * Resolves a pool argument to a directory. A bare word is a built-in name first, then a
 * workspace pool (nearest workspace first, see `workspaces`), then a directory in the working
 * directory; anything with a slash is a path. `near`: folders whose project workspaces are
 * searched before the working directory's (a challenge file's folder).
 */
export function resolvePoolDir(nameOrPath: string, opts: { near?: string[] } = {}): { dir: string; builtin: boolean } {
  if (!nameOrPath) throw new SieveError('no pool given', { where: 'POOL' });
  if (!looksLikePath(nameOrPath)) {
    const builtin = join(builtinPoolsDir(), nameOrPath);
    if (existsSync(join(builtin, MANIFEST_FILE))) return { dir: builtin, builtin: true };
    for (const w of workspaces(opts)) {
      const own = join(w.dir, 'pools', nameOrPath);
      if (existsSync(join(own, MANIFEST_FILE))) return { dir: own, builtin: false };
    }
  }
  const dir = resolve(nameOrPath);
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    if (!existsSync(join(dir, MANIFEST_FILE)))
      throw new SieveError(`not a pool: ${dir} has no ${MANIFEST_FILE}`, { where: nameOrPath });
    return { dir, builtin: false };
  }
  const builtins = listBuiltinPools();
  const own = listWorkspacePools(opts);
  throw new SieveError(`no such pool: "${nameOrPath}" is neither a built-in pool, a workspace pool nor a directory`, {
    where: nameOrPath,
    examples: [
      builtins.length ? `built-in pools: ${builtins.join(', ')}` : 'no built-in pools are installed',
      ...workspaces(opts).map((w) => {
        const names = own.filter((p) => p.workspace.dir === w.dir).map((p) => p.name);
        return names.length ? `pools in ${describeWorkspace(w)}: ${names.join(', ')}` : `no pools in ${describeWorkspace(w)}`;
      }),
    ],
  });
}
