/**
 * Output-path safety: every file or directory sieve writes passes checkOutputPath first, so
 * that no command can destroy what it should not. Refused, with a SieveError saying what,
 * where and what to do:
 *  - an empty path, a NUL byte, names too long for the file system (and for the temporary
 *    sibling the atomic writers need);
 *  - a parent that is a file (ENOTDIR), a parent that cannot be written (EACCES, EROFS);
 *  - special file systems (/proc, /sys, cgroup, devices) and non-regular targets (/dev/null);
 *  - anything inside the package's built-in `pools/` or `challenges/`;
 *  - anything inside a pool directory (a pool's files are written only by the pool writer);
 *  - for a directory that exists: everything unless `overwrite`, and even then a file, a
 *    symbolic link, the working directory or one of its ancestors, and whatever the caller's
 *    `replaceable` check rejects (the pool writer replaces only a sieve pool);
 *  - a file that is one of the command's own inputs.
 */
import { lstatSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { access, constants, statfs } from 'node:fs/promises';
import { basename, dirname, join, parse, relative, resolve, sep } from 'node:path';
import { SieveError } from './errors.ts';
import { MAX_OUTPUT_NAME_BYTES } from './temps.ts';
import { PACKAGE_ROOT } from './package-root.ts';


/** Folders of the package that no command writes into (recipes rebuilding a built-in pool excepted). */
export function protectedDirs(): { dir: string; what: string }[] {
  return [
    { dir: join(PACKAGE_ROOT, 'pools'), what: "the package's built-in pools" },
    { dir: join(PACKAGE_ROOT, 'challenges'), what: "the package's built-in challenges" },
  ].map((p) => ({ ...p, dir: realOrSelf(p.dir) }));
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** True when `inner` is `outer` or inside it. */
export function isInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..' && !/^[A-Za-z]:/.test(rel));
}

/** statfs magic numbers of file systems that hold no user data. */
const SPECIAL_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x73636673: 'securityfs',
  0x1cd1: 'devpts',
  0x74726163: 'tracefs',
  0xcafe4a11: 'bpf',
  0xf97cff8c: 'selinuxfs',
  0x42494e4d: 'binfmt_misc',
  0x6165676c: 'pstore',
  0xde5e81e4: 'efivarfs',
  0x19800202: 'mqueue',
  0x1373: 'devtmpfs',
};

const SPECIAL_PREFIXES = ['/proc', '/sys', '/dev'];

export interface OutputCheck {
  /** What the user typed the path as, for messages (default "--out"). */
  option?: string;
  kind: 'file' | 'dir';
  /** dir: the caller may replace an existing directory (still subject to `replaceable`). */
  overwrite?: boolean;
  /** dir: why an existing directory must not be replaced, or null when it may be. */
  replaceable?: (dir: string) => string | null;
  /** Files the command reads; the output may not be one of them. */
  inputs?: string[];
  /** Recipes rebuilding a committed built-in pool: allow the package's pools/. */
  allowBuiltinPools?: boolean;
}

export interface CheckedOutput {
  /** Absolute path as given (symbolic links kept). */
  target: string;
  /** The same with every symbolic link resolved (the place really written). */
  real: string;
  exists: boolean;
}

/** Is `dir` a sieve pool directory (a pool.json saying format sieve-pool/…)? */
export function isPoolDir(dir: string): boolean {
  const manifest = join(dir, 'pool.json');
  try {
    if (!statSync(manifest).isFile()) return false;
    const raw = JSON.parse(readFileSync(manifest, 'utf8')) as { format?: unknown };
    return typeof raw?.format === 'string' && raw.format.startsWith('sieve-pool/');
  } catch {
    return false;
  }
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Checks an output path before anything is written; see the module comment. */
export async function checkOutputPath(path: string | undefined, opts: OutputCheck): Promise<CheckedOutput> {
  const option = opts.option ?? '--out';
  if (typeof path !== 'string' || path.trim() === '')
    throw new SieveError(`${option} is empty: say where to write`, { where: option });
  if (path.includes('\0')) throw new SieveError(`${option} holds a NUL byte`, { where: option });
  const target = resolve(path);
  if (target === parse(target).root)
    throw new SieveError(`${option} is the file system root`, { where: target, examples: ['give a new file or directory name'] });

  // Names: each part within the file system's 255 bytes, the last with room for the temporary suffix.
  const parts = target.split(sep).filter(Boolean);
  for (const part of parts) {
    const bytes = Buffer.byteLength(part);
    if (bytes > 255)
      throw new SieveError(`a name in ${option} is ${bytes} bytes long; file systems allow 255`, {
        where: `${part.slice(0, 40)}…`,
        examples: ['use a shorter name'],
      });
  }
  const baseBytes = Buffer.byteLength(basename(target));
  if (baseBytes > MAX_OUTPUT_NAME_BYTES)
    throw new SieveError(`the output name is ${baseBytes} bytes long; sieve allows ${MAX_OUTPUT_NAME_BYTES} (it writes through a temporary sibling first)`, {
      where: `${basename(target).slice(0, 40)}…`,
      examples: ['use a shorter name'],
    });
  if (Buffer.byteLength(target) > 4000)
    throw new SieveError(`${option} is ${Buffer.byteLength(target)} bytes long; the limit is 4000`, { where: option });

  // Walk down from the root: every existing part but the last must be a directory.
  let existing = parse(target).root;
  let i = 0;
  for (; i < parts.length; i++) {
    const next = join(existing, parts[i]);
    const st = statOrNull(next);
    if (!st) {
      if (lstatOrNull(next)) throw new SieveError(`${next} is a broken symbolic link`, { where: option, examples: ['remove it or give another path'] });
      break;
    }
    if (i < parts.length - 1 && !st.isDirectory())
      throw new SieveError(`${next} is a file, not a directory, so nothing can be written under it`, {
        where: option,
        examples: [`given: ${target}`, 'check the path'],
      });
    if (i === parts.length - 1) break;
    existing = next;
  }
  const exists = i === parts.length - 1 && statOrNull(target) !== null;
  const ancestor = exists ? dirname(target) : existing;
  const realAncestor = realOrSelf(ancestor);
  const missingParts = exists ? [basename(target)] : parts.slice(i);
  const real = exists ? realOrSelf(target) : join(realAncestor, ...missingParts);

  // Special file systems: nothing there is user data, and some (/proc) make mkdir spin.
  for (const prefix of SPECIAL_PREFIXES) {
    if (prefix === '/dev' && isInside(real, '/dev/shm')) continue;
    if (isInside(real, prefix) || isInside(target, prefix))
      throw new SieveError(`${option} is on a special file system (${prefix}), not a place for data`, {
        where: target,
        examples: ['write to an ordinary directory'],
      });
  }
  const fs = await statfs(realAncestor).catch(() => null);
  const special = fs ? SPECIAL_FS[Number(fs.type)] : undefined;
  if (special)
    throw new SieveError(`${option} is on a special file system (${special}), not a place for data`, {
      where: target,
      examples: ['write to an ordinary directory'],
    });

  // The package's own pools/ and challenges/.
  for (const p of protectedDirs()) {
    if (opts.allowBuiltinPools && p.dir.endsWith(`${sep}pools`)) continue;
    if (isInside(real, p.dir) || isInside(target, p.dir))
      throw new SieveError(`${option} is inside ${p.what} (${p.dir}), which sieve never writes`, {
        where: target,
        examples: [opts.kind === 'dir' ? 'write the pool elsewhere, e.g. --name NAME for a workspace pool (sieve workspace)' : 'write the file elsewhere'],
      });
    if (opts.kind === 'dir' && exists && isInside(p.dir, real))
      throw new SieveError(`${option} holds ${p.what}; it cannot be replaced`, { where: target });
  }

  // Inside a pool: a pool's files are written by the pool writer alone.
  for (let d = dirname(real); ; d = dirname(d)) {
    if (isPoolDir(d))
      throw new SieveError(`${option} is inside the pool directory ${d}; a pool's files are never overwritten or added to`, {
        where: target,
        examples: ['write it outside the pool directory'],
      });
    if (dirname(d) === d) break;
  }

  if (exists) {
    const lst = lstatSync(target);
    const st = statSync(target);
    if (opts.kind === 'file') {
      if (st.isDirectory())
        throw new SieveError(`${option} is a directory; give a file name`, { where: target, examples: [`e.g. ${join(path, 'out')}`] });
      if (!st.isFile())
        throw new SieveError(`${option} is not a regular file (a device, pipe or socket); sieve writes only regular files`, { where: target });
      for (const input of opts.inputs ?? []) {
        const s = statOrNull(input);
        if (s && s.dev === st.dev && s.ino === st.ino)
          throw new SieveError(`${option} is one of this command's inputs (${input}); it would be overwritten`, { where: target, examples: ['write to another file'] });
      }
    } else {
      if (!opts.overwrite)
        throw new SieveError(`output directory already exists: ${target}`, {
          where: option,
          examples: ['pass --overwrite to replace it (only a sieve pool is ever replaced), or choose another path'],
        });
      if (lst.isSymbolicLink())
        throw new SieveError(`${option} is a symbolic link; --overwrite replaces only a real pool directory`, { where: target, examples: [`it points to ${real}`] });
      if (!st.isDirectory())
        throw new SieveError(`${option} is a file, not a pool directory; --overwrite replaces only a sieve pool`, {
          where: target,
          examples: ['move the file away or choose another path'],
        });
      const cwd = realOrSelf(process.cwd());
      if (isInside(cwd, real))
        throw new SieveError(
          real === cwd ? `${option} is the working directory; it cannot be replaced` : `${option} holds the working directory (${cwd}); it cannot be replaced`,
          { where: target, examples: ['give the pool its own directory'] },
        );
      const reason = opts.replaceable?.(real);
      if (reason) throw new SieveError(`--overwrite refused: ${reason}`, { where: target, examples: ['move your files away or choose another path'] });
    }
  }

  // Can the nearest existing directory be written? (Root passes access checks; EROFS does not.)
  try {
    await access(realAncestor, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SieveError(
      code === 'EROFS' ? `${realAncestor} is on a read-only file system` : `no permission to write in ${realAncestor} (${code})`,
      { where: target, examples: ['choose a place you may write to'] },
    );
  }
  return { target, real, exists };
}
