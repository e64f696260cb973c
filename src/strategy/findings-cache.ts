/**
 * The audit findings of a pool on disk (src/strategy/findings.ts keeps them in memory too), so
 * that `sieve evaluate` of a strategy, `sieve verify` of its record and `sieve baselines` in
 * later processes do not each re-run an audit (about 35 s on fashion-mnist per pool).
 *
 * The key is everything the findings are a function of: the pool's content hash, the
 * findings settings, the evaluator version, the sieve version and a hash of sieve's own code
 * (every file of src/, compute/ and evaluator/ beside this module, sources or dist/), so a
 * changed analyser never reuses a stale entry. The file holds a JSON header and the typed
 * arrays, with a sha256 of the arrays; a file that is damaged, truncated or for another key is
 * ignored (and rewritten). Writes go through a temporary file and a rename; a cache that
 * cannot be written is skipped silently. A variant pool's findings go under the variant cache
 * (evaluator-only: src/pool/guard.ts refuses everything there), the others under
 * `cacheDir()/findings`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EVALUATOR_VERSION } from '../../evaluator/version.ts';
import { canonicalJson } from '../pool/manifest.ts';
import type { Pool } from '../pool/read.ts';
import { variantCacheDir } from '../pool/resolve.ts';
import { cacheDir } from '../util/cache-dir.ts';
import { codeHash } from '../util/code-hash.ts';
import { SIEVE_VERSION } from '../version.ts';
import type { PoolFindings } from './findings.ts';

const FORMAT = 'sieve-findings/1';
const MAGIC = Buffer.from('SIEVEFND');

type ArrayField = 'labels' | 'labelIssue' | 'labelScore' | 'suggestedLabel' | 'selfConfidence' | 'knnIssue' | 'knnAgreement' | 'knnSuggestedLabel'
  | 'duplicateCluster' | 'duplicateIssue' | 'duplicateRedundant' | 'outlierScore' | 'outlierIssue';

/** Every typed array of PoolFindings with its constructor (oos.proba is stored as 'oos'). */
const ARRAYS: readonly [ArrayField, Int32ArrayConstructor | Uint8ArrayConstructor | Float64ArrayConstructor][] = [
  ['labels', Int32Array], ['labelIssue', Uint8Array], ['labelScore', Float64Array], ['suggestedLabel', Int32Array],
  ['selfConfidence', Float64Array], ['knnIssue', Uint8Array], ['knnAgreement', Float64Array], ['knnSuggestedLabel', Int32Array],
  ['duplicateCluster', Int32Array], ['duplicateIssue', Uint8Array], ['duplicateRedundant', Uint8Array], ['outlierScore', Float64Array],
  ['outlierIssue', Uint8Array],
];

export function findingsKey(pool: Pool, settings: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ format: FORMAT, pool: pool.manifest.content_hash, settings, evaluator: EVALUATOR_VERSION, sieve: SIEVE_VERSION, code: codeHash() }))
    .digest('hex');
}

function cachePath(pool: Pool, key: string): string {
  const dir = pool.manifest.variant ? join(variantCacheDir(), '.findings') : join(cacheDir(), 'findings');
  return join(dir, `${key}.bin`);
}

interface Header {
  format: string;
  key: string;
  poolHash: string;
  n: number;
  ids: string[];
  classNames: string[];
  oos: Omit<PoolFindings['oos'], 'proba'>;
  skipped: PoolFindings['skipped'];
  seconds: number;
  arrays: { name: string; offset: number; bytes: number }[];
  sha256: string;
}

/** The cached findings for `key`, or null (absent, damaged, or another key's). */
export function readCachedFindings(pool: Pool, key: string): PoolFindings | null {
  let buf: Buffer;
  try {
    buf = readFileSync(cachePath(pool, key));
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
    const at = new Map(header.arrays.map((a) => [a.name, a]));
    const take = <T>(name: string, C: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T => {
      const a = at.get(name);
      if (!a || a.bytes !== length * C.BYTES_PER_ELEMENT || a.offset + a.bytes > body.length) throw new Error(`bad array ${name}`);
      // A copy into a fresh buffer: aligned, and independent of the file's bytes.
      return new C(body.buffer.slice(body.byteOffset + a.offset, body.byteOffset + a.offset + a.bytes) as ArrayBuffer);
    };
    const { n } = header;
    const arrays = Object.fromEntries(ARRAYS.map(([name, C]) => [name, take(name, C as never, n)]));
    return {
      poolHash: header.poolHash,
      n,
      ids: header.ids,
      classNames: header.classNames,
      oos: { ...header.oos, proba: take('oos', Float32Array, n * header.oos.k) },
      ...(arrays as Pick<PoolFindings, ArrayField>),
      skipped: header.skipped,
      seconds: header.seconds,
    };
  } catch {
    return null;
  }
}

/** Stores findings under `key` (temporary file + rename); any failure leaves the cache as it was. */
export function writeCachedFindings(pool: Pool, key: string, f: PoolFindings): void {
  const parts: { name: string; bytes: Uint8Array }[] = [
    ...ARRAYS.map(([name]) => ({ name, bytes: new Uint8Array(f[name].buffer, f[name].byteOffset, f[name].byteLength) })),
    { name: 'oos', bytes: new Uint8Array(f.oos.proba.buffer, f.oos.proba.byteOffset, f.oos.proba.byteLength) },
  ];
  const arrays: Header['arrays'] = [];
  let offset = 0;
  for (const p of parts) {
    arrays.push({ name: p.name, offset, bytes: p.bytes.length });
    offset += Math.ceil(p.bytes.length / 8) * 8;
  }
  const body = Buffer.alloc(offset);
  parts.forEach((p, i) => body.set(p.bytes, arrays[i].offset));
  const { proba: _proba, ...oos } = f.oos;
  const header: Header = {
    format: FORMAT, key, poolHash: f.poolHash, n: f.n, ids: f.ids, classNames: f.classNames, oos, skipped: f.skipped, seconds: f.seconds,
    arrays, sha256: createHash('sha256').update(body).digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const file = cachePath(pool, key);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, Buffer.concat([MAGIC, length, json, body]));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}
