/**
 * The evaluator's door: the only module that opens evaluator-only files (a challenge pool's
 * test split, truth.parquet, duplicates.parquet). Imported by src/evaluate/, by
 * `sieve audit --organiser` and by src/embed/ (which derives a whole pool, keeping each file's
 * visibility); never by anything a participant's code can reach.
 */
import { join } from 'node:path';
import type { ReadColumn } from './duckdb.ts';
import { sqlString } from './sql-text.ts';
import { poolReadError, readSplitFile, readSplitFileRaw, requirePoolFile, splitFile, type Pool, type RawSplit, type ReadSplitOptions } from './read.ts';
import type { PoolSplit, PoolTruth, SplitName } from './types.ts';
import { SieveError } from '../util/errors.ts';
import { addGrant } from './grants.ts';

/**
 * A copy of `pool` whose train split participant reads accept (src/pool/grants.ts): how the
 * evaluator lets a strategy runner, which reads only through read.ts, run on a hidden variant
 * pool. Never for anything but a strategy run the evaluator starts itself.
 */
export function grantStrategyRead(pool: Pool): Pool {
  const copy: Pool = { ...pool };
  addGrant(copy);
  return copy;
}

/** Reads a split whatever its visibility (the hidden test split of a challenge pool). */
export async function readHiddenSplit(pool: Pool, split: SplitName = 'test', opts: ReadSplitOptions = {}): Promise<PoolSplit> {
  return readSplitFile(pool, splitFile(pool, split), split, opts);
}

/**
 * A split's columns as stored (readRawSplit's shape), whatever its visibility: for deriving a
 * new pool from a whole one (`sieve embed`), which keeps every file's visibility as it was.
 */
export async function readRawSplitAnyVisibility(pool: Pool, split: SplitName, opts: ReadSplitOptions = {}): Promise<RawSplit> {
  return readSplitFileRaw(pool, splitFile(pool, split), split, opts);
}

type Varchar = Extract<ReadColumn, { type: 'VARCHAR' }>;
type Bool = Extract<ReadColumn, { type: 'BOOLEAN' }>;

/**
 * Ground truth of a pool built with planted label noise and/or duplicates, or null when the
 * pool has neither (a real pool imported as is).
 */
export async function readTruth(pool: Pool): Promise<PoolTruth | null> {
  const truthFile = pool.manifest.files.find((f) => f.role === 'truth');
  const dupFile = pool.manifest.files.find((f) => f.role === 'duplicates');
  if (!truthFile && !dupFile) return null;
  const classIndex = new Map(pool.manifest.classes.map((c, i) => [c, i]));
  const { openDb, queryColumns } = await import('./duckdb.ts');
  const db = await openDb({ threads: 1 });
  try {
    let truth: PoolTruth = { ids: [], cleanLabels: new Int32Array(0), noisy: new Uint8Array(0) };
    if (truthFile) {
      const path = join(pool.dir, truthFile.path);
      await requirePoolFile(pool, path);
      const r = await queryColumns(db.conn, `SELECT id, clean_label, noisy FROM read_parquet(${sqlString(path)})`).catch((err) => {
        throw poolReadError(pool, path, err);
      });
      const ids = (r.columns[0] as Varchar).values as string[];
      const clean = (r.columns[1] as Varchar).values;
      const cleanLabels = new Int32Array(r.n);
      for (let i = 0; i < r.n; i++) {
        const k = classIndex.get(clean[i] as string);
        if (k === undefined) throw new SieveError(`truth row ${i + 1}: clean_label ${JSON.stringify(clean[i])} is not a class`, { where: path });
        cleanLabels[i] = k;
      }
      truth = { ids, cleanLabels, noisy: (r.columns[2] as Bool).values };
    }
    if (dupFile) {
      const path = join(pool.dir, dupFile.path);
      await requirePoolFile(pool, path);
      const r = await queryColumns(db.conn, `SELECT a, b, kind, cross_split FROM read_parquet(${sqlString(path)})`).catch((err) => {
        throw poolReadError(pool, path, err);
      });
      const [a, b, kind] = [0, 1, 2].map((i) => (r.columns[i] as Varchar).values as string[]);
      const cross = (r.columns[3] as Bool).values;
      truth.duplicatePairs = a.map((x, i) => ({ a: x, b: b[i], kind: kind[i] as 'exact' | 'near', crossSplit: cross[i] === 1 }));
    }
    return truth;
  } finally {
    db.close();
  }
}
