/**
 * sha256 of files, remembered by (device, inode, size, mtime, ctime) so that a loop of
 * `sieve evaluate` runs hashes a pool's files once, not on every run, while any change to a
 * file (rewritten in place, replaced by rename, touched) makes it hash again. The memory is
 * a small JSON file, `file-hashes.json` in sieve's cache folder (cacheDir(): `$SIEVE_CACHE`, else
 * the platform's user cache folder); when that cannot be written the cache lives for the process only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from './cache-dir.ts';

interface Entry {
  dev: string;
  ino: string;
  size: number;
  mtime: string;
  ctime: string;
  sha256: string;
  /** Last use (ms since epoch), for dropping the oldest entries. */
  used: number;
}

/** Entries kept on disk; the oldest go first. */
const MAX_ENTRIES = 2000;

let memory: Map<string, Entry> | null = null;

export function hashCacheFile(): string {
  return join(cacheDir(), 'file-hashes.json');
}

function load(): Map<string, Entry> {
  if (memory) return memory;
  memory = new Map();
  try {
    const raw = JSON.parse(readFileSync(hashCacheFile(), 'utf8')) as Record<string, Entry>;
    for (const [k, v] of Object.entries(raw)) if (v && typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256)) memory.set(k, v);
  } catch {
    // no cache yet, or unreadable: start empty
  }
  return memory;
}

function save(map: Map<string, Entry>): void {
  const file = hashCacheFile();
  const entries = [...map].sort((a, b) => b[1].used - a[1].used).slice(0, MAX_ENTRIES);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(entries)));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** sha256 and size of a file, streamed. */
export async function hashFileStreamed(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/**
 * sha256 and size of `path` (symbolic links followed), from the cache when the file's device,
 * inode, size, mtime and ctime are those recorded; `rehash` always reads the bytes.
 */
export async function hashFileCached(path: string, opts: { rehash?: boolean } = {}): Promise<{ sha256: string; bytes: number; cached: boolean }> {
  const real = await realpath(path);
  const st = await stat(real, { bigint: true });
  const key = real;
  const map = load();
  const now = { dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtime: String(st.mtimeNs), ctime: String(st.ctimeNs) };
  const hit = map.get(key);
  if (!opts.rehash && hit && hit.dev === now.dev && hit.ino === now.ino && hit.size === now.size && hit.mtime === now.mtime && hit.ctime === now.ctime) {
    hit.used = Date.now();
    return { sha256: hit.sha256, bytes: hit.size, cached: true };
  }
  const { sha256, bytes } = await hashFileStreamed(real);
  // Stat again: a file that changed while being read is not remembered.
  const after = await stat(real, { bigint: true });
  if (String(after.mtimeNs) === now.mtime && Number(after.size) === bytes) {
    map.set(key, { ...now, sha256, used: Date.now() });
    save(map);
  }
  return { sha256, bytes, cached: false };
}

/** Forgets the in-process copy (tests). */
export function resetHashCacheMemory(): void {
  memory = null;
}
