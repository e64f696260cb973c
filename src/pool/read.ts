/**
 * Participant-side pool reading: opens a pool by name or path and reads a split into typed
 * arrays (ids, Int32Array labels, one row-major Float32Array of features, groups), a DuckDB
 * data chunk at a time. Refuses evaluator-only files; those go through hidden.ts.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import type { ReadColumn } from './duckdb.ts';
import { quoteIdent, sqlString } from './sql-text.ts';
import { readCachedSplit, splitCacheKey, writeCachedSplit } from './split-cache.ts';
import { featureWidth, type FeatureSpec, type FileEntry, type PoolManifest } from './manifest.ts';
import type { Pool } from './open.ts';
import { assertParticipantSource } from './guard.ts';
import { hasGrant } from './grants.ts';
import type { PoolSplit, SplitName } from './types.ts';
import { fitIdf, hashTexts, TEXT_FEATURISER, writeTfidf, textFeatureNames, type HashedCounts, type TextIdf } from '../../compute/text-features.ts';

export { listBuiltinPools, listWorkspacePools } from './resolve.ts';
export { openPool, type Pool } from './open.ts';

export interface ReadSplitOptions {
  /** Feature and group columns to read (default: all). Unknown names are an error. */
  columns?: string[];
  /** Read at most this many rows (the first ones, in file order). */
  limit?: number;
  /** Read only these ids (kept in file order). Unknown ids are an error. */
  ids?: string[];
  /** DuckDB threads for the scan (default: all cores). */
  threads?: number;
  progress?: Progress;
  /**
   * Use the evaluation cache (src/pool/split-cache.ts) for a whole split or its ids alone
   * (`columns: []`): decoded once per split file, read back without DuckDB. The evaluator's
   * reads only; `limit` and `ids` reads never use it.
   */
  cache?: boolean;
}

/** DuckDB is loaded on the first read that needs it (a cached read does not). */
const duck = () => import('./duckdb.ts');

/** The file of `split`, or an error naming the splits the pool has. */
export function splitFile(pool: Pool, split: SplitName): FileEntry {
  const f = pool.manifest.files.find((x) => x.role === split);
  if (!f)
    throw new SieveError(`pool "${pool.name}" has no ${split} split`, {
      where: pool.dir,
      examples: [`files: ${pool.manifest.files.map((x) => `${x.path} (${x.role})`).join(', ')}`],
    });
  return f;
}

/** Absolute path of a split's file after checking participants may read it. */
export function participantFile(pool: Pool, split: SplitName): { path: string; file: FileEntry } {
  const file = splitFile(pool, split);
  // A variant's train split, handed to a strategy runner by the evaluator (src/pool/grants.ts).
  if (split === 'train' && hasGrant(pool)) return { path: join(pool.dir, file.path), file };
  if (file.visibility !== 'participant')
    throw new SieveError(`the ${split} split of pool "${pool.name}" is evaluator-only`, {
      where: join(pool.dir, file.path),
      exitCode: 3,
    });
  return { path: join(pool.dir, file.path), file };
}

/**
 * participantFile, plus: the file exists, and after resolving symbolic links it is no
 * evaluator-only file of any pool (src/pool/guard.ts), so a crafted pool.json cannot point
 * its train split at a challenge's test or truth file.
 */
export async function participantSource(pool: Pool, split: SplitName): Promise<{ path: string; file: FileEntry }> {
  const r = participantFile(pool, split);
  await requirePoolFile(pool, r.path);
  if (!(split === 'train' && hasGrant(pool))) await assertParticipantSource(r.path);
  return r;
}

/** A file the manifest lists must be there and be a regular file; else a SieveError saying what to do. */
export async function requirePoolFile(pool: Pool, path: string): Promise<void> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error || !st.isFile())
    throw new SieveError(
      st instanceof Error && st.code === 'ENOENT'
        ? `pool "${pool.name}" is incomplete: ${basename(path)} is listed in its manifest but missing`
        : `pool "${pool.name}": ${basename(path)} cannot be read${st instanceof Error ? ` (${st.code})` : ' (not a regular file)'}`,
      { where: path, examples: [damagedPoolHint(pool)] },
    );
}

function damagedPoolHint(pool: Pool): string {
  return pool.builtin
    ? `restore the built-in pool (git checkout pools/${pool.name}, or reinstall), or rebuild it with its recipe`
    : 're-import or rebuild the pool; `sieve pool info POOL --verify` lists which files differ from the manifest';
}

/** A DuckDB failure reading a pool file (truncated, not Parquet, wrong columns) as a SieveError. */
export function poolReadError(pool: Pool, path: string, err: unknown): SieveError {
  if (err instanceof SieveError) return err;
  const msg = (err as Error)?.message?.split('\n')[0] ?? String(err);
  return new SieveError(`pool "${pool.name}": ${basename(path)} cannot be read as the pool's Parquet file (damaged or truncated?)`, {
    where: path,
    examples: [`DuckDB: ${msg.length > 200 ? msg.slice(0, 197) + '...' : msg}`, damagedPoolHint(pool)],
  });
}

/**
 * Reads a participant-visible split. `test` works only where the manifest marks the test file
 * participant-visible (a user's own imported data); challenge pools keep it evaluator-only.
 */
export async function readSplit(pool: Pool, split: SplitName = 'train', opts: ReadSplitOptions = {}): Promise<PoolSplit> {
  const { file } = await participantSource(pool, split);
  return readSplitFile(pool, file, split, opts);
}

/** Which features/groups a read covers, after checking `columns`. */
function selectColumns(m: PoolManifest, columns?: string[]): { features: FeatureSpec[]; groups: string[] } {
  if (!columns) return { features: m.features, groups: m.groups.map((g) => g.name) };
  const known = new Set([...m.features.map((f) => f.name), ...m.groups.map((g) => g.name)]);
  const unknown = columns.filter((c) => !known.has(c));
  if (unknown.length)
    throw new SieveError(`unknown column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      where: '--columns',
      examples: [`available: ${[...known].join(', ')}`],
    });
  const want = new Set(columns);
  return { features: m.features.filter((f) => want.has(f.name)), groups: m.groups.map((g) => g.name).filter((g) => want.has(g)) };
}

function featureSelect(f: FeatureSpec): string {
  // Parquet stores FLOAT[d] as a list; cast back so the reader gets one flat float buffer.
  return f.kind === 'embedding' ? `CAST(${quoteIdent(f.name)} AS FLOAT[${f.dim}]) AS ${quoteIdent(f.name)}` : quoteIdent(f.name);
}

/**
 * Decodes one train/test-shaped file into a PoolSplit. Checks no visibility: callers are
 * readSplit (participant files only) and hidden.ts (the evaluator's door). Nothing else.
 */
export async function readSplitFile(pool: Pool, file: FileEntry, split: SplitName, opts: ReadSplitOptions = {}): Promise<PoolSplit> {
  const whole = opts.columns === undefined, idsOnly = opts.columns?.length === 0;
  const cacheable = opts.cache === true && (whole || idsOnly) && opts.limit === undefined && opts.ids === undefined;
  const key = cacheable ? splitCacheKey(pool, file, split) : '';
  if (cacheable) {
    const hit = readCachedSplit(key, { idsOnly });
    if (hit) return hit;
  }
  const raw = await queryRawSplit(pool, file, split, opts);
  const text = await hashTextColumns(pool, split, raw, opts);
  const out = assembleSplit(pool.manifest, split, raw.n, raw.columns, raw.features, raw.groups, raw.path, text);
  if (cacheable && whole) writeCachedSplit(key, out);
  return out;
}

/** A text column's hashed documents and the IDF they are weighted with. */
interface TextColumnFeatures {
  counts: HashedCounts;
  idf: TextIdf;
}

/**
 * Hashes the text columns of a read and finds their IDF, which is always the one fitted on the
 * pool's whole train split (never on test rows, nor on a subset read by ids or a limit): from
 * these very rows when they are that split, else from the train file (cached by its sha256).
 */
async function hashTextColumns(pool: Pool, split: SplitName, raw: RawSplit, opts: ReadSplitOptions): Promise<Map<string, TextColumnFeatures>> {
  const out = new Map<string, TextColumnFeatures>();
  const wholeTrain = split === 'train' && !opts.ids && opts.limit === undefined;
  for (const f of raw.features) {
    if (f.kind !== 'text') continue;
    const c = raw.columns.find((x) => x.name === f.name) as Extract<ReadColumn, { type: 'VARCHAR' }>;
    const counts = hashTexts(c.values.map((v) => v ?? ''));
    const key = idfKey(pool, f.name);
    let idf: Promise<TextIdf> | undefined = trainIdfs.get(key);
    if (!idf) {
      idf = wholeTrain ? Promise.resolve(fitIdf(counts)) : trainIdf(pool, f.name);
      trainIdfs.set(key, idf);
      if (trainIdfs.size > 16) trainIdfs.delete(trainIdfs.keys().next().value!);
      idf.catch(() => trainIdfs.delete(key));
    }
    out.set(f.name, { counts, idf: await idf });
  }
  return out;
}

/** Fitted IDFs by train file hash, column and featuriser version. */
const trainIdfs = new Map<string, Promise<TextIdf>>();

function idfKey(pool: Pool, column: string): string {
  return `${splitFile(pool, 'train').sha256}|${column}|${TEXT_FEATURISER}`;
}

/** The IDF of a text column fitted on the pool's whole train split, read from its file. */
async function trainIdf(pool: Pool, column: string): Promise<TextIdf> {
  const path = join(pool.dir, splitFile(pool, 'train').path);
  await requirePoolFile(pool, path);
  const { openDb, queryColumns } = await duck();
  const db = await openDb({ threads: 1 });
  try {
    const r = await queryColumns(db.conn, `SELECT ${quoteIdent(column)} FROM read_parquet(${sqlString(path)})`);
    const values = (r.columns[0] as Extract<ReadColumn, { type: 'VARCHAR' }>).values;
    return fitIdf(hashTexts(values.map((v) => v ?? '')));
  } catch (err) {
    throw poolReadError(pool, path, err);
  } finally {
    db.close();
  }
}

/**
 * A participant-visible split's columns as DuckDB read them, before any assembly: `id`,
 * `label` (INTEGER class index), each feature column in its own type (DOUBLE numerics,
 * FLOAT[] embeddings, BLOB pixels, VARCHAR categoricals and text) and the group columns.
 * For consumers that want columns kept apart and numerics at full precision (the code
 * strategy context, src/strategy/sandbox/context-files.ts).
 */
export async function readRawSplit(pool: Pool, split: SplitName = 'train', opts: ReadSplitOptions = {}): Promise<RawSplit> {
  const { file } = await participantSource(pool, split);
  return queryRawSplit(pool, file, split, opts);
}

/**
 * `readRawSplit` of a given file, whatever its visibility: for src/pool/hidden.ts only (the
 * test/pool-visibility.test.ts keeps it so).
 */
export async function readSplitFileRaw(pool: Pool, file: FileEntry, split: SplitName, opts: ReadSplitOptions = {}): Promise<RawSplit> {
  return queryRawSplit(pool, file, split, opts);
}

export interface RawSplit {
  n: number;
  columns: ReadColumn[];
  features: FeatureSpec[];
  groups: string[];
  /** The file read. */
  path: string;
}

async function queryRawSplit(pool: Pool, file: FileEntry, split: SplitName, opts: ReadSplitOptions): Promise<RawSplit> {
  const m = pool.manifest;
  const { features, groups } = selectColumns(m, opts.columns);
  const path = join(pool.dir, file.path);
  // Labels come back as class indices computed by DuckDB: no million-string decode in JS.
  // Unknown labels map to -1 (list_position gives NULL or 0) and are reported below.
  const classList = `[${m.classes.map(sqlString).join(', ')}]::VARCHAR[]`;
  const labelIndex = `(coalesce(list_position(${classList}, label), 0) - 1)::INTEGER AS ${quoteIdent('label')}`;
  const select = ['id', labelIndex, ...features.map(featureSelect), ...groups.map(quoteIdent)].join(', ');
  await requirePoolFile(pool, path);
  const { appendTable, openDb, queryColumns } = await duck();
  const db = await openDb({ threads: opts.threads ?? Math.max(1, availableParallelism()) });
  let result;
  try {
    let sql = `SELECT ${select} FROM read_parquet(${sqlString(path)})`;
    if (opts.ids) {
      // Semi-join against the requested ids, then restore file order explicitly.
      await appendTable(db.conn, 'wanted', { n: opts.ids.length, columns: [{ name: 'id', type: 'VARCHAR', values: opts.ids }] });
      const missing = await queryColumns(
        db.conn,
        `SELECT w.id FROM wanted w ANTI JOIN read_parquet(${sqlString(path)}) p ON w.id = p.id LIMIT 10`,
      );
      if (missing.n > 0)
        throw new SieveError(`ids not in the ${split} split of "${pool.name}"`, {
          where: 'ids',
          examples: (missing.columns[0].values as string[]).slice(0, 5),
        });
      sql = `SELECT ${select} FROM read_parquet(${sqlString(path)}, file_row_number = true) WHERE id IN (SELECT id FROM wanted) ORDER BY file_row_number`;
    }
    if (opts.limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(opts.limit))}`;
    opts.progress?.start(Math.min(file.rows, opts.limit ?? Infinity, opts.ids?.length ?? Infinity), `reading ${pool.name}/${split}`);
    result = await queryColumns(db.conn, sql, { progress: opts.progress });
    opts.progress?.stop();
  } catch (err) {
    throw poolReadError(pool, path, err);
  } finally {
    db.close();
  }
  const labels = (result.columns.find((c) => c.name === 'label') as Extract<ReadColumn, { type: 'INTEGER' }>).values;
  for (let i = 0; i < result.n; i++)
    if (labels[i] < 0) throw new SieveError(`row ${i + 1} has a label that is not among the pool's classes (file edited?)`, { where: path });
  return { n: result.n, columns: result.columns, features, groups, path };
}

/** Turns read columns into the PoolSplit shape (typed arrays, one-hot categoricals). */
function assembleSplit(
  m: PoolManifest,
  split: SplitName,
  n: number,
  cols: ReadColumn[],
  features: FeatureSpec[],
  groups: string[],
  where: string,
  text: Map<string, TextColumnFeatures>,
): PoolSplit {
  const byName = new Map(cols.map((c) => [c.name, c]));
  const ids = (byName.get('id') as Extract<ReadColumn, { type: 'VARCHAR' }>).values as string[];
  const labels = (byName.get('label') as Extract<ReadColumn, { type: 'INTEGER' }>).values;

  const numeric = features; // every kind gives numbers (text: hashed TF-IDF)
  const d = numeric.reduce((s, f) => s + featureWidth(f), 0);
  const featureNames: string[] = [];
  let X: Float32Array | null = null;
  // One embedding and nothing else (the common case): hand the read buffer over as is.
  if (numeric.length === 1 && numeric[0].kind === 'embedding') {
    const c = byName.get(numeric[0].name) as Extract<ReadColumn, { type: 'FLOAT[]' }>;
    X = c.values;
  }
  const features32 = X ?? new Float32Array(n * d);
  let pixels: PoolSplit['pixels'];
  const textBlocks: NonNullable<PoolSplit['textFeatures']>['blocks'] = [];
  let offset = 0;
  for (const f of numeric) {
    const w = featureWidth(f);
    const c = byName.get(f.name)!;
    switch (f.kind) {
      case 'embedding': {
        for (let j = 0; j < w; j++) featureNames.push(`${f.name}[${j}]`);
        if (X) break;
        const v = (c as Extract<ReadColumn, { type: 'FLOAT[]' }>).values;
        for (let i = 0; i < n; i++) features32.set(v.subarray(i * w, (i + 1) * w), i * d + offset);
        break;
      }
      case 'pixels': {
        for (let j = 0; j < w; j++) featureNames.push(`${f.name}[${j}]`);
        const blobs = (c as Extract<ReadColumn, { type: 'BLOB' }>).values;
        const raw = new Uint8Array(n * w);
        for (let i = 0; i < n; i++) {
          const b = blobs[i];
          if (!b || b.length !== w)
            throw new SieveError(`row ${i + 1}: pixels "${f.name}" hold ${b ? b.length : 'no'} bytes, expected ${w}`, { where });
          raw.set(b, i * w);
          const base = i * d + offset;
          for (let j = 0; j < w; j++) features32[base + j] = b[j] / 255;
        }
        pixels ??= { width: f.width!, height: f.height!, channels: f.channels ?? 1, data: raw };
        break;
      }
      case 'numeric': {
        featureNames.push(f.name);
        const v = (c as Extract<ReadColumn, { type: 'DOUBLE' }>).values;
        for (let i = 0; i < n; i++) features32[i * d + offset] = v[i];
        break;
      }
      case 'categorical': {
        const cats = f.categories!;
        for (const cat of cats) featureNames.push(`${f.name}=${cat}`);
        const index = new Map(cats.map((x, j) => [x, j]));
        const v = (c as Extract<ReadColumn, { type: 'VARCHAR' }>).values;
        for (let i = 0; i < n; i++) {
          if (v[i] === null) continue; // missing: all zeros
          const j = index.get(v[i] as string);
          if (j === undefined)
            throw new SieveError(`row ${i + 1}: "${f.name}" = ${JSON.stringify(v[i])} is not among its categories`, { where });
          features32[i * d + offset + j] = 1;
        }
        break;
      }
      case 'text': {
        const t = text.get(f.name)!;
        for (const name of textFeatureNames(f.name)) featureNames.push(name);
        writeTfidf(t.counts, t.idf, features32, d, offset);
        textBlocks.push({ column: f.name, offset, dims: w, idfDocuments: t.idf.documents });
        break;
      }
    }
    offset += w;
  }

  const groupValues: Record<string, (string | null)[]> = {};
  for (const g of groups) groupValues[g] = (byName.get(g) as Extract<ReadColumn, { type: 'VARCHAR' }>).values;
  const textCols = features.filter((f) => f.kind === 'text');
  let rawText: PoolSplit['text'];
  if (textCols.length) {
    rawText = {};
    for (const f of textCols) rawText[f.name] = (byName.get(f.name) as Extract<ReadColumn, { type: 'VARCHAR' }>).values.map((s) => s ?? '');
  }
  return {
    split,
    n,
    d,
    ids,
    labels,
    classNames: [...m.classes],
    features: features32,
    featureNames,
    groups: groupValues,
    ...(pixels ? { pixels } : {}),
    ...(rawText ? { text: rawText } : {}),
    ...(textBlocks.length ? { textFeatures: { featuriser: TEXT_FEATURISER, blocks: textBlocks } } : {}),
  };
}

/** Longest text shown per cell by readHead before it is cut with "…". */
const HEAD_TEXT_CHARS = 200;

/**
 * The first `rows` rows of a participant-visible split as plain objects: id, label, small
 * features as values, groups; embeddings and pixels summarised (`"<FLOAT[64]>"`,
 * `"<784 bytes>"`) since a row of 784 numbers helps no one reading a terminal. `columns`
 * picks the columns after `id` (label, feature and group names; an unknown name is an error
 * listing the known ones), in the order given.
 */
export async function readHead(pool: Pool, rows: number, split: SplitName = 'train', opts: { columns?: string[] } = {}): Promise<Record<string, unknown>[]> {
  const m = pool.manifest;
  const all = ['label', ...m.features.map((f) => f.name), ...m.groups.map((g) => g.name)];
  const picked = opts.columns ? opts.columns.filter((c) => c !== 'id') : all;
  const unknown = picked.filter((c) => !all.includes(c));
  if (unknown.length)
    throw new SieveError(`pool "${pool.name}" has no column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => JSON.stringify(c)).join(', ')}`, {
      where: '--columns',
      examples: [`columns: id, ${all.join(', ')}`],
    });
  const { path } = await participantSource(pool, split);
  const want = new Set(picked);
  const small = m.features.filter((f) => want.has(f.name) && (f.kind === 'numeric' || f.kind === 'categorical' || f.kind === 'text'));
  const cols = ['id', ...(want.has('label') ? ['label'] : []), ...small.map((f) => f.name), ...m.groups.map((g) => g.name).filter((g) => want.has(g))];
  const { openDb, queryColumns } = await duck();
  const db = await openDb({ threads: 1 });
  try {
    const r = await queryColumns(
      db.conn,
      `SELECT ${cols.map(quoteIdent).join(', ')} FROM read_parquet(${sqlString(path)}) LIMIT ${Math.max(0, Math.floor(rows))}`,
    );
    const byName = new Map(r.columns.map((c) => [c.name, c]));
    const out: Record<string, unknown>[] = [];
    const features = new Map(m.features.map((f) => [f.name, f]));
    for (let i = 0; i < r.n; i++) {
      const row: Record<string, unknown> = { id: byName.get('id')!.values[i] };
      for (const name of picked) {
        const f = features.get(name);
        if (f?.kind === 'embedding') row[name] = `<FLOAT[${f.dim}]>`;
        else if (f?.kind === 'pixels') row[name] = `<${f.width! * f.height! * (f.channels ?? 1)} bytes>`;
        else {
          const c = byName.get(name)!;
          let v = c.values[i] as string | number | null;
          if (c.type === 'DOUBLE' && (c.nulls?.[i] ?? 0)) v = null;
          if (f?.kind === 'text' && typeof v === 'string' && v.length > HEAD_TEXT_CHARS) v = v.slice(0, HEAD_TEXT_CHARS) + '…';
          row[name] = v;
        }
      }
      out.push(row);
    }
    return out;
  } catch (err) {
    throw poolReadError(pool, path, err);
  } finally {
    db.close();
  }
}

/**
 * Copies a participant-visible split into table `table` of `conn` (a database of the
 * caller's, e.g. a strategy's sandbox): the columns participants see (id, label, features,
 * groups) in file order, embeddings as FLOAT[dim]. The file goes through the same checks as
 * readSplit (evaluator-only files and their copies are refused).
 */
export async function copyParticipantSplit(conn: DuckDBConnection, pool: Pool, table: string, split: SplitName = 'train'): Promise<number> {
  const { path } = await participantSource(pool, split);
  const m = pool.manifest;
  const cols = [quoteIdent('id'), quoteIdent('label'), ...m.features.map(featureSelect), ...m.groups.map((g) => quoteIdent(g.name))];
  try {
    await conn.run(`CREATE TABLE ${quoteIdent(table)} AS SELECT ${cols.join(', ')} FROM read_parquet(${sqlString(path)})`);
    const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${quoteIdent(table)}`);
    return Number(r.getColumns()[0][0]);
  } catch (err) {
    throw poolReadError(pool, path, err);
  }
}
