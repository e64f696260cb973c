/**
 * What lives in sieve's cache folder (src/util/cache-dir.ts), part by part, for `sieve cache`:
 * each part's size, and removing parts. Only the names below are ever touched, so a
 * `$SIEVE_CACHE` pointed at a folder holding other files loses none of them. Everything here
 * is rebuilt on demand; removing it costs time on the next run, never a result.
 */
import { lstatSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './cache-dir.ts';

export interface CachePart {
  name: string;
  /** File or folder name inside the cache folder. */
  entry: string;
  what: string;
}

/** Every part, in the order `sieve cache` shows them. Add a line when a new cache appears. */
export const CACHE_PARTS: readonly CachePart[] = [
  { name: 'evaluate', entry: 'evaluate', what: 'decoded splits and prepared features for sieve evaluate (kept under 4 GB, least recently used go first)' },
  { name: 'variants', entry: 'variants', what: "challenges' hidden variant pools and their strategy findings (evaluator-only)" },
  { name: 'findings', entry: 'findings', what: 'analyser findings that strategies read, per pool' },
  { name: 'embed', entry: 'embed', what: 'finished chunks of interrupted sieve embed runs (reused by the next run, removed when it completes)' },
  { name: 'file-hashes', entry: 'file-hashes.json', what: 'sha256 of files already verified, by size, mtime and inode' },
  { name: 'audit', entry: 'audit', what: "pools' audits (out-of-sample probabilities and the whole pool's report), reused by later audits of a subset" },
  { name: 'downloads', entry: 'downloads', what: "a server's Arrow conversions of participant splits" },
  { name: 'pools', entry: 'pools', what: "a worker's copies of challenge pools, by content hash (sieve worker --cache DIR)" },
  { name: 'challenges', entry: 'challenges', what: "a worker's copies of challenge specs, by sha256 (sieve worker --cache DIR)" },
  { name: 'worker', entry: 'worker', what: "sieve worker's default cache folder (its pools/, challenges/ and evaluate/)" },
];

export interface CachePartUsage extends CachePart {
  path: string;
  bytes: number;
  files: number;
}

function stat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Bytes and files under `path`, symlinks counted as themselves and never followed. */
function usage(path: string): { bytes: number; files: number } {
  const st = stat(path);
  if (!st) return { bytes: 0, files: 0 };
  if (!st.isDirectory()) return { bytes: st.size, files: 1 };
  let bytes = 0;
  let files = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return { bytes: 0, files: 0 };
  }
  for (const n of names) {
    const u = usage(join(path, n));
    bytes += u.bytes;
    files += u.files;
  }
  return { bytes, files };
}

export function cacheUsage(dir = cacheDir()): CachePartUsage[] {
  return CACHE_PARTS.map((p) => ({ ...p, path: join(dir, p.entry), ...usage(join(dir, p.entry)) }));
}

/** Removes the named parts (all when `names` is empty); returns what was removed. */
export function clearCache(names: readonly string[], dir = cacheDir()): CachePartUsage[] {
  const parts = names.length ? CACHE_PARTS.filter((p) => names.includes(p.name)) : CACHE_PARTS;
  const out: CachePartUsage[] = [];
  for (const p of parts) {
    const path = join(dir, p.entry);
    const u = usage(path);
    rmSync(path, { recursive: true, force: true });
    out.push({ ...p, path, ...u });
  }
  return out;
}
