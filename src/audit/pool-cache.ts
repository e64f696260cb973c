/**
 * The pool-level part of an audit on disk: the out-of-sample probabilities of every train row
 * and the whole pool's report (every analyser's summary, findings, tables and plots), which
 * depend only on the pool and the audit's settings, never on a submission. A server audits
 * each submission's rows next to the whole pool (`sieve audit CHALLENGE --subset FILE`); with
 * this cache only the first audit of a pool pays for the cross-validation and the pool's
 * neighbour graph (about 40 s on fashion-select), later ones only for their subset.
 *
 * The key is everything those results are a function of: the pool's content hash (which
 * covers every split's file), the audit's settings (analysers, options, folds, repeats, seed,
 * model spec and its header, the group columns, whether the test split was read), the
 * evaluator version, the sieve version and a hash of sieve's code (src/util/code-hash.ts). The
 * file holds a JSON header, the pool report as JSON (non-finite numbers kept as such) and the
 * probabilities as float32 bytes, with a sha256 over both; a damaged, truncated or foreign
 * file is ignored and rewritten. Writes go through a temporary file and a rename; a cache that
 * cannot be written is skipped. A variant pool's entries would go under the variant cache
 * (evaluator-only); everything else under `cacheDir()/audit`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EVALUATOR_VERSION } from '../../evaluator/version.ts';
import type { AuditReport } from '../analysers/audit.ts';
import type { OosPredictions } from '../analysers/types.ts';
import { canonicalJson } from '../pool/manifest.ts';
import type { Pool } from '../pool/read.ts';
import { variantCacheDir } from '../pool/resolve.ts';
import { cacheDir } from '../util/cache-dir.ts';
import { codeHash } from '../util/code-hash.ts';
import { SIEVE_VERSION } from '../version.ts';

const FORMAT = 'sieve-pool-audit/1';
const MAGIC = Buffer.from('SIEVEAUD');

/** The pool report as cached: everything but the split it was computed on (the reader has it) and where the pool lies. */
export type CachedPoolReport = Omit<AuditReport, 'train' | 'pool'>;

export interface PoolAuditEntry {
  report: CachedPoolReport;
  /** The out-of-sample probabilities, when an analyser of the audit needed them. */
  oos?: OosPredictions;
}

interface Header {
  format: string;
  key: string;
  poolHash: string;
  oos: Omit<OosPredictions, 'proba'> | null;
  reportBytes: number;
  sha256: string;
}

export function poolAuditKey(pool: Pool, settings: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ format: FORMAT, pool: pool.manifest.content_hash, settings, evaluator: EVALUATOR_VERSION, sieve: SIEVE_VERSION, code: codeHash() }))
    .digest('hex');
}

function entryPath(pool: Pool, key: string): string {
  const dir = pool.manifest.variant ? join(variantCacheDir(), '.audit') : join(cacheDir(), 'audit');
  return join(dir, `${key}.bin`);
}

// JSON has no NaN or ±Infinity: analysers' figures and findings may hold them (a score that
// could not be computed), and the cached report must read back exactly as it was computed.
const NON_FINITE = '$sieve-number';
function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? { [NON_FINITE]: String(v) } : v;
}
function reviver(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === NON_FINITE) return Number(o[NON_FINITE]);
  }
  return v;
}

/** The cached pool audit for `key`, or null (absent, damaged, or another key's). */
export function readPoolAudit(pool: Pool, key: string): PoolAuditEntry | null {
  let buf: Buffer;
  try {
    buf = readFileSync(entryPath(pool, key));
  } catch {
    return null;
  }
  try {
    if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) return null;
    const headerBytes = buf.readUInt32LE(8);
    const header = JSON.parse(buf.subarray(12, 12 + headerBytes).toString('utf8')) as Header;
    if (header.format !== FORMAT || header.key !== key || header.poolHash !== pool.manifest.content_hash) return null;
    const body = buf.subarray(12 + headerBytes);
    if (createHash('sha256').update(body).digest('hex') !== header.sha256) return null;
    const report = JSON.parse(body.subarray(0, header.reportBytes).toString('utf8'), reviver) as CachedPoolReport;
    if (!header.oos) return { report };
    const start = Math.ceil(header.reportBytes / 8) * 8;
    const bytes = header.oos.n * header.oos.k * 4;
    if (start + bytes !== body.length) return null;
    // A copy into a fresh buffer: aligned, and independent of the file's bytes.
    const proba = new Float32Array(body.buffer.slice(body.byteOffset + start, body.byteOffset + start + bytes) as ArrayBuffer);
    return { report, oos: { ...header.oos, proba } };
  } catch {
    return null;
  }
}

/** Stores the pool audit under `key` (temporary file + rename); any failure leaves the cache as it was. */
export function writePoolAudit(pool: Pool, key: string, entry: PoolAuditEntry): void {
  const report = Buffer.from(JSON.stringify(entry.report, replacer), 'utf8');
  const start = Math.ceil(report.length / 8) * 8;
  const proba = entry.oos ? new Uint8Array(entry.oos.proba.buffer, entry.oos.proba.byteOffset, entry.oos.proba.byteLength) : new Uint8Array(0);
  const body = Buffer.alloc(entry.oos ? start + proba.length : report.length);
  body.set(report, 0);
  if (entry.oos) body.set(proba, start);
  let oos: Header['oos'] = null;
  if (entry.oos) {
    const { proba: _proba, ...rest } = entry.oos;
    oos = rest;
  }
  const header: Header = { format: FORMAT, key, poolHash: pool.manifest.content_hash, oos, reportBytes: report.length, sha256: createHash('sha256').update(body).digest('hex') };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const file = entryPath(pool, key);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, Buffer.concat([MAGIC, length, json, body]));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}
