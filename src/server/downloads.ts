/**
 * What a participant may download from a challenge's pool: the manifest and every
 * participant-visible split, as the pool's own Parquet files or converted to Arrow IPC (the
 * pool's column kinds in the schema metadata, as `sieve pool export` writes them, so `sieve pool
 * import` or pyarrow read them back). Nothing else: a file is found by its exact name in this
 * list, never by a path built from a request, and each split passes participantSource (src/pool/
 * read.ts and guard.ts: evaluator-only files, symbolic links to them and copies of their bytes
 * are refused).
 *
 * An Arrow file is converted on first request and kept in the cache folder, keyed by the pool's
 * content hash and the split's sha256, so later downloads (and later servers) serve the same
 * bytes with the same sha256; one conversion per file at a time.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from '../pool/read.ts';
import { participantSource } from '../pool/read.ts';
import { cacheDir } from '../util/cache-dir.ts';
import { SIEVE_VERSION } from '../version.ts';

export const DOWNLOAD_FORMATS = ['parquet', 'arrow'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

export interface PoolDownload {
  name: string;
  /** Where the bytes are on the server (never sent). */
  path: string;
  bytes: number;
  sha256: string | null;
  role: string;
  format: 'json' | DownloadFormat;
}

const converting = new Map<string, Promise<{ path: string; bytes: number; sha256: string }>>();

/**
 * The splits of a challenge's pool that may be offered: the train split only. A challenge is
 * scored on the test split, so the server never hands it out, even where pool.json made it
 * participant-visible (`sieve pool import` without --hidden-test): its labels are the answers.
 */
function participantSplits(pool: Pool) {
  return pool.manifest.files.filter((f) => f.visibility === 'participant' && f.role === 'train');
}

async function manifestEntry(pool: Pool): Promise<PoolDownload> {
  const path = join(pool.dir, 'pool.json');
  return { name: 'pool.json', path, bytes: (await stat(path)).size, sha256: null, role: 'manifest', format: 'json' };
}

/** The Parquet listing: pool.json and the participant splits as stored. */
export async function parquetDownloads(pool: Pool): Promise<PoolDownload[]> {
  const out = [await manifestEntry(pool)];
  for (const f of participantSplits(pool)) {
    const src = await participantSource(pool, f.role as 'train' | 'test');
    out.push({ name: f.path, path: src.path, bytes: f.bytes, sha256: f.sha256, role: f.role, format: 'parquet' });
  }
  return out;
}

/** The Arrow file of one participant split: converted once, then from the cache. */
/** Where the Arrow file of a pool's split is kept (the cache folder; keyed by content, so never stale). */
export function arrowCachePath(pool: Pool, split: 'train' | 'test'): string {
  const file = pool.manifest.files.find((f) => f.role === split);
  const key = `${pool.manifest.content_hash}-${(file?.sha256 ?? 'none').slice(0, 16)}-${split}`;
  return join(cacheDir(), 'downloads', `sieve-${SIEVE_VERSION}`, `${key}.arrow`);
}

async function arrowOf(pool: Pool, split: 'train' | 'test'): Promise<{ path: string; bytes: number; sha256: string }> {
  await participantSource(pool, split);
  const path = arrowCachePath(pool, split);
  let p = converting.get(path);
  if (!p) {
    p = (async () => {
      // Only a regular file of our own making is served; anything else there (a symbolic link) is refused by the writer.
      const st = await lstat(path).catch(() => null);
      const existing = st?.isFile() ? await readFile(path) : null;
      const bytes = existing ?? await (async () => {
        const { mkdir } = await import('node:fs/promises');
        const { exportPool } = await import('../pool/export.ts');
        await mkdir(join(path, '..'), { recursive: true });
        await exportPool(pool, { format: 'arrow', out: path, split });
        return readFile(path);
      })();
      return { path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    })();
    converting.set(path, p);
    // A failed conversion is tried again on the next request.
    p.catch(() => converting.delete(path));
  }
  return p;
}

/** The Arrow listing: each participant split as `<split>.arrow` (the manifest is in the Parquet listing). */
export async function arrowDownloads(pool: Pool): Promise<PoolDownload[]> {
  const out: PoolDownload[] = [];
  for (const f of participantSplits(pool)) {
    const a = await arrowOf(pool, f.role as 'train' | 'test');
    out.push({ name: `${f.role}.arrow`, path: a.path, bytes: a.bytes, sha256: a.sha256, role: f.role, format: 'arrow' });
  }
  return out;
}

export function downloads(pool: Pool, format: DownloadFormat): Promise<PoolDownload[]> {
  return format === 'arrow' ? arrowDownloads(pool) : parquetDownloads(pool);
}

/** The file a participant asked for by name, or null: looked up in the listing of the format its extension names. */
export async function findDownload(pool: Pool, name: string): Promise<PoolDownload | null> {
  const format: DownloadFormat = /\.arrow$/.test(name) ? 'arrow' : 'parquet';
  // Only names the listing could hold reach the (possibly converting) listing of Arrow files.
  if (format === 'arrow' && !participantSplits(pool).some((f) => name === `${f.role}.arrow`)) return null;
  return (await downloads(pool, format)).find((f) => f.name === name) ?? null;
}
