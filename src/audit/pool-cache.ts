/**
 * The pool-level part of an audit on disk: the out-of-sample probabilities of every train row
 * and the whole pool's report (every analyser's summary, findings, tables and plots), which
 * depend only on the pool and the audit's settings, never on a submission. A server audits
 * each submission's rows next to the whole pool (`sieve audit CHALLENGE --subset FILE`); with
 * this cache only the first audit of a pool pays for the cross-validation and the pool's
 * neighbour graph (about 40 s on fashion-select), later ones only for their subset.
 *
 * The key (the pool's content hash, which covers every split's file, and the audit's settings:
 * analysers, options, folds, repeats, seed, model spec and its header, the group columns,
 * whether the test split was read), the file's checks, the writes and where entries lie are
 * src/pool/entry-cache.ts's (`cacheDir()/audit`; a variant pool's would go under the
 * evaluator-only variant cache). An entry here is the pool report as JSON (non-finite numbers
 * kept as such) and the probabilities as float32 bytes, 8-byte aligned after it.
 */
import type { AuditReport } from '../analysers/audit.ts';
import type { OosPredictions } from '../analysers/types.ts';
import { copyArray, entryKey, readEntry, writeEntry, type EntryHeader, type EntryKind } from '../pool/entry-cache.ts';
import type { Pool } from '../pool/read.ts';

const KIND: EntryKind = { format: 'sieve-pool-audit/1', magic: 'SIEVEAUD', folder: 'audit' };

/** The pool report as cached: everything but the split it was computed on (the reader has it) and where the pool lies. */
export type CachedPoolReport = Omit<AuditReport, 'train' | 'pool'>;

export interface PoolAuditEntry {
  report: CachedPoolReport;
  /** The out-of-sample probabilities, when an analyser of the audit needed them. */
  oos?: OosPredictions;
}

interface Header extends EntryHeader {
  oos: Omit<OosPredictions, 'proba'> | null;
  reportBytes: number;
}

export function poolAuditKey(pool: Pool, settings: unknown): string {
  return entryKey(KIND, pool, settings);
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
  const entry = readEntry<Header>(KIND, pool, key);
  if (!entry) return null;
  const { header, body } = entry;
  try {
    const report = JSON.parse(body.subarray(0, header.reportBytes).toString('utf8'), reviver) as CachedPoolReport;
    if (!header.oos) return { report };
    const start = Math.ceil(header.reportBytes / 8) * 8;
    const bytes = header.oos.n * header.oos.k * 4;
    if (start + bytes !== body.length) return null;
    const proba = copyArray(body, start, bytes, Float32Array);
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
  writeEntry<Header>(KIND, pool, key, { oos, reportBytes: report.length }, body);
}
