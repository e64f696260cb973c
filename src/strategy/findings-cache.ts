/**
 * The audit findings of a pool on disk (src/strategy/findings.ts keeps them in memory too), so
 * that `sieve evaluate` of a strategy, `sieve verify` of its record and `sieve baselines` in
 * later processes do not each re-run an audit (about 35 s on fashion-mnist per pool). The key,
 * the file's checks, the writes and where entries lie are src/pool/entry-cache.ts's (variant
 * pools' under the evaluator-only variant cache, the others under `cacheDir()/findings`); an
 * entry here is a JSON header and the typed arrays, each 8-byte aligned.
 */
import type { Pool } from '../pool/read.ts';
import { copyArray, entryKey, readEntry, writeEntry, type EntryHeader, type EntryKind } from '../pool/entry-cache.ts';
import type { PoolFindings } from './findings.ts';

const KIND: EntryKind = { format: 'sieve-findings/1', magic: 'SIEVEFND', folder: 'findings' };

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
  return entryKey(KIND, pool, settings);
}

interface Header extends EntryHeader {
  n: number;
  ids: string[];
  classNames: string[];
  oos: Omit<PoolFindings['oos'], 'proba'>;
  skipped: PoolFindings['skipped'];
  seconds: number;
  arrays: { name: string; offset: number; bytes: number }[];
}

/** The cached findings for `key`, or null (absent, damaged, or another key's). */
export function readCachedFindings(pool: Pool, key: string): PoolFindings | null {
  const entry = readEntry<Header>(KIND, pool, key);
  if (!entry) return null;
  const { header, body } = entry;
  try {
    const at = new Map(header.arrays.map((a) => [a.name, a]));
    const take = <T>(name: string, C: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T => {
      const a = at.get(name);
      if (!a || a.bytes !== length * C.BYTES_PER_ELEMENT || a.offset + a.bytes > body.length) throw new Error(`bad array ${name}`);
      return copyArray(body, a.offset, a.bytes, C);
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
  writeEntry<Header>(KIND, pool, key, { n: f.n, ids: f.ids, classNames: f.classNames, oos, skipped: f.skipped, seconds: f.seconds, arrays }, body);
}
