/**
 * Scores only on verified files: before the evaluator reads a pool's files, each is checked
 * against the sha256 and size its manifest records (hashes are cached by device, inode, size,
 * mtime and ctime, src/util/hash-cache.ts; `rehash` reads every byte again, as `sieve verify`
 * does). A mismatch is a SieveError naming the file, so no result record ever carries a pool
 * hash its files do not have.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { hashFileCached } from '../util/hash-cache.ts';
import type { FileRole } from './manifest.ts';
import type { Pool } from './read.ts';

export interface VerifiedFile {
  path: string;
  role: FileRole;
  cached: boolean;
}

/** Checks the files of `roles` (default: all) against the manifest; throws on the first problem found, listing all. */
export async function verifyPoolFiles(pool: Pool, roles?: FileRole[], opts: { rehash?: boolean } = {}): Promise<VerifiedFile[]> {
  const files = pool.manifest.files.filter((f) => !roles || roles.includes(f.role));
  const problems: string[] = [];
  const out: VerifiedFile[] = [];
  for (const f of files) {
    const path = join(pool.dir, f.path);
    const st = await stat(path).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      problems.push(`${f.path}: ${st.code === 'ENOENT' ? 'missing' : `cannot be read (${st.code})`}`);
      continue;
    }
    if (!st.isFile()) {
      problems.push(`${f.path}: not a regular file`);
      continue;
    }
    if (st.size !== f.bytes) {
      problems.push(`${f.path}: ${st.size} bytes, the manifest records ${f.bytes}`);
      continue;
    }
    const h = await hashFileCached(path, { rehash: opts.rehash });
    if (h.sha256 !== f.sha256) {
      problems.push(`${f.path}: sha256 ${h.sha256.slice(0, 16)}…, the manifest records ${f.sha256.slice(0, 16)}…`);
      continue;
    }
    out.push({ path, role: f.role, cached: h.cached });
  }
  if (problems.length)
    throw new SieveError(`pool "${pool.name}" does not match its manifest: ${problems[0]}; refusing to score on it`, {
      where: join(pool.dir, problems[0].split(':')[0]),
      count: problems.length,
      examples: [
        ...problems,
        pool.builtin
          ? `restore the built-in pool (git checkout pools/${pool.name}, or reinstall) or rebuild it with its recipe`
          : 'restore the file, or re-import the pool so that pool.json records what is there',
      ],
    });
  return out;
}
