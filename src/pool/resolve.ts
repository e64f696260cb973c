/**
 * Finds pools by name or path. Built-in pools live in `pools/<name>/pool.json` under the
 * package root, located from this file's URL so it works from any working directory and
 * from an installed package.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';
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
 * The workspace holds a user's own named pools (`sieve pool import FILE --name NAME`):
 * `$SIEVE_WORKSPACE`, or `.sieve/` in the working directory, like git's or dvc's folder.
 */
export function workspaceDir(): string {
  return resolve(process.env.SIEVE_WORKSPACE || '.sieve');
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
  return join(workspaceDir(), 'pools', name);
}

/** Names of the pools in the workspace, sorted. */
export function listWorkspacePools(): string[] {
  const dir = join(workspaceDir(), 'pools');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && existsSync(join(dir, name, MANIFEST_FILE)))
    .sort();
}

function looksLikePath(s: string): boolean {
  return isAbsolute(s) || s.includes('/') || s.includes('\\') || s === '.' || s === '..';
}

/**
 * Resolves a pool argument to a directory. A bare word is a built-in name first, then a
 * workspace pool, then a directory in the working directory; anything with a slash is a path.
 */
export function resolvePoolDir(nameOrPath: string): { dir: string; builtin: boolean } {
  if (!nameOrPath) throw new SieveError('no pool given', { where: 'POOL' });
  if (!looksLikePath(nameOrPath)) {
    const builtin = join(builtinPoolsDir(), nameOrPath);
    if (existsSync(join(builtin, MANIFEST_FILE))) return { dir: builtin, builtin: true };
    const own = join(workspaceDir(), 'pools', nameOrPath);
    if (existsSync(join(own, MANIFEST_FILE))) return { dir: own, builtin: false };
  }
  const dir = resolve(nameOrPath);
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    if (!existsSync(join(dir, MANIFEST_FILE)))
      throw new SieveError(`not a pool: ${dir} has no ${MANIFEST_FILE}`, { where: nameOrPath });
    return { dir, builtin: false };
  }
  const builtins = listBuiltinPools();
  const own = listWorkspacePools();
  throw new SieveError(`no such pool: "${nameOrPath}" is neither a built-in pool, a workspace pool nor a directory`, {
    where: nameOrPath,
    examples: [
      builtins.length ? `built-in pools: ${builtins.join(', ')}` : 'no built-in pools are installed',
      own.length ? `workspace pools (${workspaceDir()}): ${own.join(', ')}` : `no pools in the workspace ${workspaceDir()}`,
    ],
  });
}
