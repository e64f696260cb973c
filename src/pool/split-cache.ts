/**
 * The evaluation cache: what an evaluation derives from a pool that is the same every time
 * (the decoded train and test splits here; the features after the model's preprocessing in
 * src/evaluate/context.ts), kept on disk so that the next `sieve evaluate` on the same pool
 * reads typed arrays instead of starting DuckDB, decoding Parquet and refitting PCA.
 *
 * Entries are keyed by content: the pool's content hash and the split file's sha256 (both
 * checked against the files before any read, src/pool/integrity.ts), the reader's format and
 * sieve's version (a decoded split) or the evaluator's version and the preprocessing spec
 * (prepared features). A changed pool, file, reader or evaluator is another key, never a stale
 * hit. Entries are written by temporary file and rename (src/util/array-file.ts); the oldest
 * are removed beyond MAX_CACHE_BYTES.
 *
 * The folder holds decoded evaluator-only data (test splits), so it is evaluator-only as a
 * whole: src/pool/guard.ts refuses anything in it as a participant source. `sieve verify`
 * never reads it (it decodes and refits from the pool's files), so a damaged entry could not
 * hide behind a verification. `SIEVE_EVAL_CACHE=off` turns it off.
 */
import { readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cacheDir } from '../util/cache-dir.ts';
import { openArrayFile, readArrayFile, writeArrayFile, type OpenArrayFile, type StoredArray } from '../util/array-file.ts';
import { SIEVE_VERSION } from '../version.ts';
import type { FileEntry } from './manifest.ts';
import type { Pool } from './open.ts';
import type { PoolSplit, SplitName } from './types.ts';
import { TEXT_FEATURISER } from '../../compute/text-features.ts';

/** Bump when what a split entry holds, or how the reader decodes a split, changes. */
export const SPLIT_CACHE_FORMAT = 'sieve-split-cache/1';

/** Beyond this many bytes in the folder, the least recently used entries go. */
export const MAX_CACHE_BYTES = 4 * 1024 ** 3;

/** `evaluate/` in sieve's one cache folder (src/util/cache-dir.ts: `$SIEVE_CACHE`, else the user's cache folder). */
export function evalCacheDir(): string {
  return join(cacheDir(), 'evaluate');
}

/** Whether the evaluation cache is on (`SIEVE_EVAL_CACHE=off` turns it off). */
export function evalCacheEnabled(): boolean {
  const v = process.env.SIEVE_EVAL_CACHE;
  return !(v === 'off' || v === '0' || v === 'false' || v === 'no');
}

/** sha256 of the canonical JSON of `parts`: a cache key. */
export function cacheKey(parts: Record<string, unknown>): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
      : Array.isArray(v) ? v.map(canonical) : v;
  return createHash('sha256').update(JSON.stringify(canonical(parts))).digest('hex');
}

/** The entry file of `kind` and `key`. */
export function cacheEntryPath(kind: 'split' | 'features', key: string): string {
  return join(evalCacheDir(), `${kind}-${key}.arr`);
}

/** Marks an entry as just used: pruning removes the least recently used first. */
function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch { /* read-only cache: fine */ }
}

/** Reads an entry (touching it, so pruning keeps what is used); null when absent or damaged. */
export function readCacheEntry(kind: 'split' | 'features', key: string, names?: readonly string[]): { meta: unknown; arrays: Record<string, StoredArray> } | null {
  const path = cacheEntryPath(kind, key);
  const got = readArrayFile(path, names);
  if (got) touch(path);
  return got;
}

/** Opens an entry for reading array by array (touching it); null when absent or damaged. */
export function openCacheEntry(kind: 'split' | 'features', key: string): OpenArrayFile | null {
  const path = cacheEntryPath(kind, key);
  const got = openArrayFile(path);
  if (got) touch(path);
  return got;
}

/** Writes an entry; a cache that cannot be written is skipped (the result is the same without it). */
export function writeCacheEntry(kind: 'split' | 'features', key: string, meta: unknown, arrays: Record<string, StoredArray>): boolean {
  try {
    writeArrayFile(cacheEntryPath(kind, key), meta, arrays);
  } catch {
    return false;
  }
  prune();
  return true;
}

/** Removes the least recently used entries while the folder holds more than MAX_CACHE_BYTES. */
function prune(): void {
  const dir = evalCacheDir();
  let entries: { path: string; bytes: number; used: number }[];
  try {
    entries = readdirSync(dir)
      .filter((f) => f.endsWith('.arr') && !f.startsWith('.'))
      .map((f) => {
        const st = statSync(join(dir, f));
        return { path: join(dir, f), bytes: st.size, used: st.mtimeMs };
      });
  } catch {
    return;
  }
  let total = entries.reduce((s, e) => s + e.bytes, 0);
  for (const e of entries.sort((a, b) => a.used - b.used)) {
    if (total <= MAX_CACHE_BYTES) break;
    rmSync(e.path, { force: true });
    total -= e.bytes;
  }
}

// ---------------------------------------------------------------------------------------
// Decoded splits

interface SplitMeta {
  format: typeof SPLIT_CACHE_FORMAT;
  split: SplitName;
  n: number;
  d: number;
  ids: string[];
  classNames: string[];
  featureNames: string[];
  groups: Record<string, (string | null)[]>;
  pixels?: { width: number; height: number; channels: number };
  text?: Record<string, string[]>;
  textFeatures?: PoolSplit['textFeatures'];
}

/** The key of a whole split of `pool` as the split reader decodes it (every column). */
export function splitCacheKey(pool: Pool, file: FileEntry, split: SplitName): string {
  // Text columns are hashed TF-IDF features: their featuriser's version is part of the decode.
  const text = pool.manifest.features.some((f) => f.kind === 'text') ? TEXT_FEATURISER : null;
  return cacheKey({ format: SPLIT_CACHE_FORMAT, sieve: SIEVE_VERSION, pool: pool.manifest.content_hash, file: file.sha256, bytes: file.bytes, split, text });
}

/** Closes a cached split's entry when the split is collected before all its arrays were read. */
const closeWhenCollected = new FinalizationRegistry<OpenArrayFile>((file) => file.close());

/**
 * The cached split, or only its ids and labels (`idsOnly`: what a read with `columns: []`
 * gives, without reading the features); null on a miss. The big arrays (features, pixels) are
 * read from the entry when first used: an evaluation whose prepared features are cached never
 * reads the raw ones. The entry stays open until then, so it reads as it was when found.
 */
export function readCachedSplit(key: string, opts: { idsOnly?: boolean } = {}): PoolSplit | null {
  const file = openCacheEntry('split', key);
  if (!file) return null;
  const meta = file.meta as SplitMeta | undefined;
  const labels = meta && meta.format === SPLIT_CACHE_FORMAT && Array.isArray(meta.ids) && meta.ids.length === meta.n ? file.read('labels') : null;
  if (!meta || !(labels instanceof Int32Array) || labels.length !== meta.n) {
    file.close();
    return null;
  }
  if (opts.idsOnly) {
    file.close();
    return { split: meta.split, n: meta.n, d: 0, ids: meta.ids, labels, classNames: meta.classNames, features: new Float32Array(0), featureNames: [], groups: {} };
  }
  const has = (name: string, dtype: string, length: number) => file.arrays.some((a) => a.name === name && a.dtype === dtype && a.length === length);
  const pixelsLength = meta.pixels ? meta.n * meta.pixels.width * meta.pixels.height * meta.pixels.channels : 0;
  if (!has('features', 'f32', meta.n * meta.d) || (meta.pixels && !has('pixels', 'u8', pixelsLength))) {
    file.close();
    return null;
  }
  const split = {
    split: meta.split, n: meta.n, d: meta.d, ids: meta.ids, labels, classNames: meta.classNames,
    featureNames: meta.featureNames, groups: meta.groups,
  } as PoolSplit;
  let unread = meta.pixels ? 2 : 1;
  const take = (name: string): StoredArray => {
    const a = file.read(name);
    if (--unread === 0) {
      file.close();
      closeWhenCollected.unregister(split);
    }
    if (!a) throw new Error(`the evaluation cache entry ${cacheEntryPath('split', key)} could not be read (${name}); run again, or with SIEVE_EVAL_CACHE=off`);
    return a;
  };
  lazyProperty(split, 'features', () => take('features') as Float32Array);
  if (meta.pixels) {
    const { width, height, channels } = meta.pixels;
    lazyProperty(split, 'pixels', () => ({ width, height, channels, data: take('pixels') as Uint8Array }));
  }
  closeWhenCollected.register(split, file, split);
  if (meta.text) split.text = meta.text;
  if (meta.textFeatures) split.textFeatures = meta.textFeatures;
  return split;
}

/** Defines `obj[prop]` as computed on first read, then a plain (writable) value. */
function lazyProperty<T extends object, K extends keyof T>(obj: T, prop: K, load: () => T[K]): void {
  Object.defineProperty(obj, prop, {
    configurable: true,
    enumerable: true,
    get() {
      const value = load();
      Object.defineProperty(obj, prop, { value, writable: true, configurable: true, enumerable: true });
      return value;
    },
    set(value: T[K]) {
      Object.defineProperty(obj, prop, { value, writable: true, configurable: true, enumerable: true });
    },
  });
}

/** A decoded split larger than this is not cached (a wide hashed-text pool; the cache would only churn). */
export const MAX_SPLIT_ENTRY_BYTES = 1024 ** 3;

export function writeCachedSplit(key: string, s: PoolSplit): boolean {
  if (s.features.byteLength + (s.pixels?.data.byteLength ?? 0) > MAX_SPLIT_ENTRY_BYTES) return false;
  const meta: SplitMeta = {
    format: SPLIT_CACHE_FORMAT, split: s.split, n: s.n, d: s.d, ids: s.ids, classNames: s.classNames, featureNames: s.featureNames, groups: s.groups,
    ...(s.pixels ? { pixels: { width: s.pixels.width, height: s.pixels.height, channels: s.pixels.channels } } : {}),
    ...(s.text ? { text: s.text } : {}),
    ...(s.textFeatures ? { textFeatures: s.textFeatures } : {}),
  };
  return writeCacheEntry('split', key, meta, { labels: s.labels, features: s.features, ...(s.pixels ? { pixels: s.pixels.data } : {}) });
}
