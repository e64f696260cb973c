/**
 * One on-disk entry format for results computed from a pool that later processes reuse (the
 * strategy findings, src/strategy/findings-cache.ts; the pool part of an audit,
 * src/audit/pool-cache.ts). Each cache says what its entry holds; this module owns how it is
 * keyed, where it lies, and how it is written and checked:
 *
 * - the key hashes everything the entry is a function of: the pool's content hash, the
 *   caller's settings, the evaluator version, the sieve version and a hash of sieve's own code
 *   (src/util/code-hash.ts), so a changed analyser never reuses a stale entry;
 * - a file is 8 magic bytes, a 4-byte header length, a JSON header and a body, with the
 *   body's sha256, the format, the key and the pool's hash in the header; a damaged,
 *   truncated or foreign file reads as absent (and is rewritten);
 * - writes go through a temporary file and a rename; a cache that cannot be written is
 *   skipped silently;
 * - a variant pool's entries go under the variant cache (evaluator-only: src/pool/guard.ts
 *   refuses everything there), the others under `cacheDir()/<folder>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EVALUATOR_VERSION } from '../../evaluator/version.ts';
import { cacheDir } from '../util/cache-dir.ts';
import { codeHash } from '../util/code-hash.ts';
import { SIEVE_VERSION } from '../version.ts';
import { canonicalJson } from './manifest.ts';
import type { Pool } from './read.ts';
import { variantCacheDir } from './resolve.ts';

/** What tells one cache's entries from another's. */
export interface EntryKind {
  /** Written into the key and the header, e.g. 'sieve-findings/1'. */
  format: string;
  /** 8 ASCII bytes at the start of each file. */
  magic: string;
  /** The folder under the cache (`.NAME` under the variant cache). */
  folder: string;
}

/** The fields every entry's header carries; a cache adds its own. */
export interface EntryHeader {
  format: string;
  key: string;
  poolHash: string;
  sha256: string;
}

export function entryKey(kind: EntryKind, pool: Pool, settings: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ format: kind.format, pool: pool.manifest.content_hash, settings, evaluator: EVALUATOR_VERSION, sieve: SIEVE_VERSION, code: codeHash() }))
    .digest('hex');
}

function entryPath(kind: EntryKind, pool: Pool, key: string): string {
  const dir = pool.manifest.variant ? join(variantCacheDir(), `.${kind.folder}`) : join(cacheDir(), kind.folder);
  return join(dir, `${key}.bin`);
}

/** The entry for `key` whose body's sha256 checks, or null (absent, damaged, or another key's or pool's). */
export function readEntry<H extends EntryHeader>(kind: EntryKind, pool: Pool, key: string): { header: H; body: Buffer } | null {
  let buf: Buffer;
  try {
    buf = readFileSync(entryPath(kind, pool, key));
  } catch {
    return null;
  }
  try {
    if (buf.length < 12 || !buf.subarray(0, 8).equals(Buffer.from(kind.magic))) return null;
    const headerBytes = buf.readUInt32LE(8);
    const header = JSON.parse(buf.subarray(12, 12 + headerBytes).toString('utf8')) as H;
    if (header.format !== kind.format || header.key !== key || header.poolHash !== pool.manifest.content_hash) return null;
    const body = buf.subarray(12 + headerBytes);
    if (createHash('sha256').update(body).digest('hex') !== header.sha256) return null;
    return { header, body };
  } catch {
    return null;
  }
}

/** Stores `body` with the header's own fields under `key` (temporary file + rename); any failure leaves the cache as it was. */
export function writeEntry<H extends EntryHeader>(kind: EntryKind, pool: Pool, key: string, fields: Omit<H, keyof EntryHeader>, body: Buffer): void {
  const header = { format: kind.format, key, poolHash: pool.manifest.content_hash, ...fields, sha256: createHash('sha256').update(body).digest('hex') };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const file = entryPath(kind, pool, key);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, Buffer.concat([Buffer.from(kind.magic), length, json, body]));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** A typed array's bytes copied into a fresh, aligned buffer, independent of the file's. */
export function copyArray<T>(body: Buffer, offset: number, bytes: number, C: new (b: ArrayBuffer) => T): T {
  return new C(body.buffer.slice(body.byteOffset + offset, body.byteOffset + offset + bytes) as ArrayBuffer);
}
