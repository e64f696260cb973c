/**
 * The pool writer: validates a draft (tables as typed arrays + manifest fields), fills DuckDB
 * tables chunk by chunk, copies them to zstd Parquet single-threaded (byte-deterministic),
 * hashes the files and writes pool.json. The directory appears only when all of it worked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { writeDirAtomically } from '../util/atomic.ts';
import { checkOutputPath } from '../util/outpath.ts';
import { SIEVE_VERSION } from '../version.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { validatePoolName } from './resolve.ts';
import { appendTable, openDb, quoteIdent, sqlString, type ColumnData, type TableData } from './duckdb.ts';
import {
  MANIFEST_FILE,
  POOL_FORMAT,
  PoolManifest,
  contentHash,
  describeIssues,
  hashFile,
  type FileEntry,
  type FileRole,
  type ManifestDraft,
  type SplitStats,
  type Visibility,
} from './manifest.ts';

export type { ColumnData, TableData } from './duckdb.ts';

export interface PoolDraft {
  manifest: ManifestDraft;
  tables: { train: TableData; test?: TableData; truth?: TableData; duplicates?: TableData };
  /**
   * Who may read test.parquet: 'evaluator' (default; challenge pools keep it hidden) or
   * 'participant' (an auditor's own imported data, where the test split is theirs).
   */
  testVisibility?: Visibility;
}

export interface WritePoolOptions {
  overwrite?: boolean;
  progress?: Progress;
  /**
   * zstd level (1–22). Default 3: on Fashion-MNIST pixels level 9 is 3% smaller and 3× slower,
   * level 19 5% smaller and 40× slower; recipes with a size budget may pass more.
   */
  compressionLevel?: number;
  /** How the user named the output, for messages (default "--out"). */
  option?: string;
  /**
   * Recipes rebuilding a committed built-in pool in place (pools/<name>) only: every other
   * writer is refused inside the package's pools/ and challenges/.
   */
  intoBuiltinPools?: boolean;
}

/**
 * Why the existing directory `dir` must not be replaced by a new pool, or null when it may:
 * only a sieve pool (its pool.json says format sieve-pool/…) holding nothing but its own files.
 */
export function poolReplaceBlocker(dir: string): string | null {
  let raw: { format?: unknown; files?: { path?: unknown }[] };
  try {
    raw = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${dir} is not a sieve pool (it has no ${MANIFEST_FILE}); --overwrite replaces only a pool directory`
      : `${dir}/${MANIFEST_FILE} is not a readable pool manifest; --overwrite replaces only a pool directory`;
  }
  if (typeof raw?.format !== 'string' || !raw.format.startsWith('sieve-pool/'))
    return `${dir}/${MANIFEST_FILE} is not a sieve pool manifest (format ${JSON.stringify(raw?.format)}); --overwrite replaces only a pool directory`;
  const own = new Set([MANIFEST_FILE, ...(Array.isArray(raw.files) ? raw.files.map((f) => String(f?.path)) : [])]);
  const extra = readdirSync(dir).filter((name) => !own.has(name));
  if (extra.length)
    return `${dir} holds files that are not part of its pool (${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''})`;
  return null;
}

/** At most this many offending rows are named in an error. */
const MAX_EXAMPLES = 5;

/** Column lookup by name with a precise error when absent or of the wrong type. */
function column<T extends ColumnData['type']>(
  table: TableData,
  tableName: string,
  name: string,
  type: T,
): Extract<ColumnData, { type: T }> {
  const c = table.columns.find((x) => x.name === name);
  if (!c)
    throw new SieveError(`table "${tableName}" has no column "${name}"`, {
      where: tableName,
      examples: [`columns: ${table.columns.map((x) => x.name).join(', ')}`],
    });
  if (c.type !== type) throw new SieveError(`column "${name}" of "${tableName}" is ${c.type}, expected ${type}`, { where: `${tableName}.${name}` });
  return c as Extract<ColumnData, { type: T }>;
}

function fail(message: string, where: string, bad: number[], fmt: (row: number) => string): never {
  throw new SieveError(message, { where, count: bad.length, examples: bad.slice(0, MAX_EXAMPLES).map(fmt) });
}

/** Checks one participant-shaped table (train or test) against the manifest. */
function validateSplit(table: TableData, tableName: string, m: ManifestDraft, seenIds: Map<string, string>): void {
  const where = (c: string) => `${tableName}.${c}`;
  const expected = new Set(['id', 'label', ...m.features.map((f) => f.name), ...m.groups.map((g) => g.name)]);
  const extra = table.columns.filter((c) => !expected.has(c.name)).map((c) => c.name);
  if (extra.length)
    throw new SieveError(`table "${tableName}" has columns the manifest does not declare`, { where: tableName, examples: extra });
  const names = table.columns.map((c) => c.name);
  const dup = names.filter((x, i) => names.indexOf(x) !== i);
  if (dup.length) throw new SieveError(`table "${tableName}" has a column twice`, { where: tableName, examples: dup });
  if (table.n === 0) throw new SieveError(`table "${tableName}" has no rows`, { where: tableName });

  const ids = column(table, tableName, 'id', 'VARCHAR').values;
  const emptyIds: number[] = [];
  const dupIds: string[] = [];
  for (let i = 0; i < table.n; i++) {
    const id = ids[i];
    if (id === null || id === undefined || id === '') {
      emptyIds.push(i);
      continue;
    }
    const prev = seenIds.get(id);
    if (prev !== undefined) {
      if (dupIds.length < MAX_EXAMPLES) dupIds.push(`"${id}" (${prev} and ${tableName} row ${i + 1})`);
    } else seenIds.set(id, `${tableName} row ${i + 1}`);
  }
  if (emptyIds.length) fail('missing or empty ids', where('id'), emptyIds, (r) => `row ${r + 1}`);
  if (dupIds.length) throw new SieveError('duplicate ids', { where: where('id'), examples: dupIds });

  const labels = column(table, tableName, 'label', 'VARCHAR').values;
  const classSet = new Set(m.classes);
  const badLabels: number[] = [];
  for (let i = 0; i < table.n; i++) {
    const l = labels[i];
    if (l === null || l === undefined || !classSet.has(l)) badLabels.push(i);
  }
  if (badLabels.length)
    fail(`labels missing or not among the classes (${m.classes.join(', ')})`, where('label'), badLabels, (r) => `row ${r + 1} (id ${ids[r]}): ${JSON.stringify(labels[r])}`);

  for (const f of m.features) {
    switch (f.kind) {
      case 'embedding': {
        const c = column(table, tableName, f.name, 'FLOAT[]');
        if (c.dim !== f.dim) throw new SieveError(`embedding "${f.name}" has dim ${c.dim}, manifest says ${f.dim}`, { where: where(f.name) });
        const bad: number[] = [];
        const v = c.values;
        for (let i = 0, k = 0; i < table.n; i++) {
          for (let j = 0; j < c.dim; j++, k++) {
            if (!Number.isFinite(v[k])) {
              bad.push(i);
              k += c.dim - j;
              break;
            }
          }
        }
        if (bad.length) fail(`non-finite values (NaN/Inf) in embedding "${f.name}"`, where(f.name), bad, (r) => `row ${r + 1} (id ${ids[r]})`);
        break;
      }
      case 'pixels': {
        const c = column(table, tableName, f.name, 'BLOB');
        const w = f.width! * f.height! * (f.channels ?? 1);
        if (c.bytesPerRow !== w)
          throw new SieveError(`pixels "${f.name}" have ${c.bytesPerRow} bytes per row, manifest geometry needs ${w}`, { where: where(f.name) });
        break;
      }
      case 'numeric': {
        const c = column(table, tableName, f.name, 'DOUBLE');
        const bad: number[] = [];
        for (let i = 0; i < table.n; i++) {
          const x = c.values[i];
          if (x === null || x === undefined || !Number.isFinite(x)) bad.push(i);
        }
        if (bad.length) fail(`missing or non-finite values in numeric feature "${f.name}"`, where(f.name), bad, (r) => `row ${r + 1} (id ${ids[r]}): ${c.values[r]}`);
        break;
      }
      case 'categorical': {
        const c = column(table, tableName, f.name, 'VARCHAR');
        const cats = new Set(f.categories);
        const bad: number[] = [];
        for (let i = 0; i < table.n; i++) {
          const x = c.values[i];
          if (x !== null && x !== undefined && !cats.has(x)) bad.push(i);
        }
        if (bad.length) fail(`values of categorical "${f.name}" missing from its categories`, where(f.name), bad, (r) => `row ${r + 1}: ${JSON.stringify(c.values[r])}`);
        break;
      }
      case 'text':
        column(table, tableName, f.name, 'VARCHAR');
        break;
    }
  }
  for (const g of m.groups) column(table, tableName, g.name, 'VARCHAR');
}

function validateTruth(table: TableData, m: ManifestDraft, trainIds: Set<string>): void {
  const ids = column(table, 'truth', 'id', 'VARCHAR').values;
  const clean = column(table, 'truth', 'clean_label', 'VARCHAR').values;
  column(table, 'truth', 'noisy', 'BOOLEAN');
  const classSet = new Set(m.classes);
  const badId: number[] = [];
  const badLabel: number[] = [];
  for (let i = 0; i < table.n; i++) {
    if (!trainIds.has(ids[i] ?? '')) badId.push(i);
    if (!classSet.has(clean[i] ?? '')) badLabel.push(i);
  }
  if (badId.length) fail('truth rows name ids that are not in train', 'truth.id', badId, (r) => `row ${r + 1}: ${ids[r]}`);
  if (badLabel.length) fail('truth clean_label not among the classes', 'truth.clean_label', badLabel, (r) => `row ${r + 1}: ${clean[r]}`);
}

function validateDuplicates(table: TableData, allIds: Set<string>): void {
  const a = column(table, 'duplicates', 'a', 'VARCHAR').values;
  const b = column(table, 'duplicates', 'b', 'VARCHAR').values;
  const kind = column(table, 'duplicates', 'kind', 'VARCHAR').values;
  column(table, 'duplicates', 'cross_split', 'BOOLEAN');
  const bad: number[] = [];
  for (let i = 0; i < table.n; i++) {
    if (!allIds.has(a[i] ?? '') || !allIds.has(b[i] ?? '') || (kind[i] !== 'exact' && kind[i] !== 'near')) bad.push(i);
  }
  if (bad.length) fail('duplicate pairs with unknown ids or a kind other than exact/near', 'duplicates', bad, (r) => `row ${r + 1}: ${a[r]}, ${b[r]}, ${kind[r]}`);
}

function splitStats(table: TableData, classes: string[]): SplitStats {
  const labels = (table.columns.find((c) => c.name === 'label') as Extract<ColumnData, { type: 'VARCHAR' }>).values;
  const counts: Record<string, number> = {};
  for (const c of classes) counts[c] = 0;
  for (let i = 0; i < table.n; i++) counts[labels[i]!]++;
  return { rows: table.n, class_counts: counts };
}

/** Every check the writer makes before touching the disk. */
export function validateDraft(draft: PoolDraft): void {
  const { manifest: m, tables } = draft;
  checkManifestDraft(m);
  const seen = new Map<string, string>();
  validateSplit(tables.train, 'train', m, seen);
  const trainIds = new Set(seen.keys());
  if (tables.test) validateSplit(tables.test, 'test', m, seen);
  if (tables.truth) validateTruth(tables.truth, m, trainIds);
  if (tables.duplicates) validateDuplicates(tables.duplicates, new Set(seen.keys()));
}

/** Column order in files: id, label, features in manifest order, groups. */
function orderColumns(table: TableData, m: ManifestDraft): TableData {
  const order = ['id', 'label', ...m.features.map((f) => f.name), ...m.groups.map((g) => g.name)];
  return { n: table.n, columns: order.map((name) => table.columns.find((c) => c.name === name)!) };
}

/**
 * Validates `draft` and writes it as a pool directory at `outDir` (atomically). Returns the
 * manifest as written. Writing the same draft twice gives byte-identical files.
 */
export async function writePool(outDir: string, draft: PoolDraft, opts: WritePoolOptions = {}): Promise<PoolManifest> {
  // The output first (cheap, and the user's likeliest mistake), then the draft.
  await checkOutputPath(outDir, { kind: 'dir', overwrite: opts.overwrite, option: opts.option, replaceable: poolReplaceBlocker, allowBuiltinPools: opts.intoBuiltinPools });
  validatePoolName(draft.manifest.name, 'pool name (--name, or the name of the --out folder)');
  validateDraft(draft);
  const m = draft.manifest;
  const level = opts.compressionLevel ?? 3;
  if (!Number.isInteger(level) || level < 1 || level > 22)
    throw new SieveError(`zstd compression level must be 1–22, got ${level}`, { where: 'compressionLevel' });
  const plan: { role: FileRole; table: TableData; visibility: Visibility }[] = [
    // A hidden variant pool (manifest.variant) is evaluator-only through and through.
    { role: 'train', table: orderColumns(draft.tables.train, m), visibility: m.variant ? 'evaluator' : 'participant' },
  ];
  if (draft.tables.test) plan.push({ role: 'test', table: orderColumns(draft.tables.test, m), visibility: m.variant ? 'evaluator' : draft.testVisibility ?? 'evaluator' });
  if (draft.tables.truth) plan.push({ role: 'truth', table: draft.tables.truth, visibility: 'evaluator' });
  if (draft.tables.duplicates) plan.push({ role: 'duplicates', table: draft.tables.duplicates, visibility: 'evaluator' });
  const totalRows = plan.reduce((s, p) => s + p.table.n, 0);
  opts.progress?.start(totalRows * 2, `writing ${m.name}`);

  return writeDirAtomically(
    outDir,
    async (tmp) => {
      const files: FileEntry[] = [];
      // One thread: DuckDB then writes row groups in insertion order, identically every run.
      const db = await openDb({ threads: 1 });
      try {
        for (const p of plan) {
          await appendTable(db.conn, p.role, p.table, { progress: opts.progress });
          const path = `${p.role}.parquet`;
          const target = join(tmp, path);
          await db.conn.run(
            `COPY ${quoteIdent(p.role)} TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${level})`,
          );
          await db.conn.run(`DROP TABLE ${quoteIdent(p.role)}`);
          opts.progress?.tick(p.table.n);
          const { sha256, bytes } = await hashFile(target);
          files.push({ path, role: p.role, visibility: p.visibility, rows: p.table.n, bytes, sha256 });
        }
      } finally {
        db.close();
      }
      const splits: PoolManifest['splits'] = { train: splitStats(draft.tables.train, m.classes) };
      if (draft.tables.test) splits.test = splitStats(draft.tables.test, m.classes);
      const manifest = await finishPool(tmp, m, files, splits);
      opts.progress?.stop();
      return manifest;
    },
    { overwrite: opts.overwrite, option: opts.option, replaceable: poolReplaceBlocker, allowBuiltinPools: opts.intoBuiltinPools },
  );
}

/** Writes pool.json for the data files in `tmp` (hashed into `files`) and returns the manifest. */
async function finishPool(tmp: string, m: ManifestDraft, files: FileEntry[], splits: PoolManifest['splits']): Promise<PoolManifest> {
  // Fixed key order so pool.json diffs stay readable.
  const body: Omit<PoolManifest, 'content_hash' | 'created_by'> = {
    format: POOL_FORMAT,
    name: m.name,
    version: m.version,
    description: m.description,
    source: m.source,
    licence: m.licence,
    citation: m.citation,
    task: m.task,
    id_column: m.id_column,
    label_column: m.label_column,
    classes: m.classes,
    features: m.features,
    groups: m.groups,
    splits,
    files,
    datasheet: m.datasheet,
    ...(m.recipe !== undefined ? { recipe: m.recipe } : {}),
    ...(m.variant !== undefined ? { variant: m.variant } : {}),
  };
  const manifest: PoolManifest = {
    ...body,
    content_hash: contentHash(body),
    created_by: { tool: 'datasieve', version: SIEVE_VERSION },
  };
  const checked = PoolManifest.safeParse(manifest);
  if (!checked.success)
    throw new SieveError('internal: written manifest fails its schema', { examples: describeIssues(checked.error) });
  await writeFile(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/**
 * A pool whose splits are already tables or views in a DuckDB connection (the streaming
 * importer): columns id, label, features in manifest order, groups; rows in the order to write.
 */
export interface TablePoolDraft {
  manifest: ManifestDraft;
  conn: DuckDBConnection;
  tables: { train: string; test?: string };
  testVisibility?: Visibility;
}

/** The draft's manifest fields against the schema, with placeholder computed fields. */
function checkManifestDraft(m: ManifestDraft): void {
  const probe = PoolManifest.safeParse({
    ...m,
    format: POOL_FORMAT,
    splits: { train: { rows: 0, class_counts: {} } },
    files: [],
    content_hash: '0'.repeat(64),
    created_by: { tool: 'datasieve', version: SIEVE_VERSION },
  });
  if (!probe.success) {
    const problems = describeIssues(probe.error);
    throw new SieveError('invalid pool manifest draft', { where: 'manifest', examples: problems, count: problems.length });
  }
}

/** The writer's checks of validateSplit, in SQL over the tables, one pass each. */
/** Value checks per query in validateTables. */
const CHECKS_PER_QUERY = 64;

async function validateTables(draft: TablePoolDraft): Promise<Record<string, number>> {
  const { conn, manifest: m } = draft;
  const q = quoteIdent;
  const list = (xs: string[]) => `[${xs.map(sqlString).join(', ')}]::VARCHAR[]`;
  const expected = ['id', 'label', ...m.features.map((f) => f.name), ...m.groups.map((g) => g.name)];
  const rows: Record<string, number> = {};
  for (const [role, table] of Object.entries(draft.tables)) {
    if (!table) continue;
    const cols = (await conn.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ${sqlString(table)} ORDER BY column_index`)).getRows();
    const names = cols.map(([n]) => String(n));
    if (names.join('\u0000') !== expected.join('\u0000'))
      throw new SieveError(`table "${role}" has columns ${names.join(', ')}; the manifest needs ${expected.join(', ')}`, { where: role });
    const types = Object.fromEntries(cols.map(([n, t]) => [String(n), String(t)]));
    const numeric: string[] = [];
    const checks: [string, string][] = [
      ['missing or empty ids', `id IS NULL OR id = ''`],
      [`labels missing or not among the classes (${m.classes.join(', ')})`, `label IS NULL OR NOT list_contains(${list(m.classes)}, label)`],
    ];
    for (const f of m.features) {
      const x = q(f.name);
      const t = types[f.name];
      if (f.kind === 'numeric') {
        if (t !== 'DOUBLE') throw new SieveError(`column "${f.name}" of "${role}" is ${t}, expected DOUBLE`, { where: `${role}.${f.name}` });
        numeric.push(f.name);
      } else if (f.kind === 'categorical') checks.push([`values of categorical "${f.name}" missing from its categories`, `${x} IS NOT NULL AND NOT list_contains(${list(f.categories!)}, ${x})`]);
      else if (f.kind === 'embedding') {
        if (t !== `FLOAT[${f.dim}]`) throw new SieveError(`embedding "${f.name}" of "${role}" is ${t}, manifest says FLOAT[${f.dim}]`, { where: `${role}.${f.name}` });
        checks.push([`non-finite values (NaN/Inf) in embedding "${f.name}"`, `${x} IS NULL OR NOT list_bool_and(list_transform(${x}::FLOAT[], lambda v: isfinite(v)))`]);
      } else if (f.kind === 'pixels') {
        const w = f.width! * f.height! * (f.channels ?? 1);
        checks.push([`pixels "${f.name}" not ${w} bytes per row`, `${x} IS NULL OR octet_length(${x}) <> ${w}`]);
      }
    }
    // A batch of checks per query: DuckDB plans a query in time growing faster than its width.
    for (let b = 0; b < checks.length; b += CHECKS_PER_QUERY) {
      const batch = checks.slice(b, b + CHECKS_PER_QUERY);
      const r = (await conn.runAndReadAll(`SELECT count(*), ${batch.map(([, c]) => `count(*) FILTER (WHERE ${c})`).join(', ')} FROM ${q(table)}`)).getRows()[0].map(Number);
      rows[role] = r[0];
      if (r[0] === 0) throw new SieveError(`table "${role}" has no rows`, { where: role });
      batch.forEach(([message], i) => {
        if (r[i + 1]) throw new SieveError(message, { where: role, count: r[i + 1] });
      });
    }
    // Numeric features: packed into one list per row and checked by position, one query of
    // constant size however many there are. The list is built in a subquery: unnesting a list
    // written inline in UNNEST costs DuckDB time quadratic in its length (5,000 columns: 2.7 s
    // against 0.2 s; 20,000: 94 s).
    if (numeric.length) {
      const bad = (
        await conn.runAndReadAll(
          `SELECT k, count(*) FROM (SELECT unnest(range(${numeric.length})) AS k, unnest(v) AS x FROM (SELECT [${numeric.map(q).join(', ')}] AS v FROM ${q(table)})) ` +
            `WHERE x IS NULL OR NOT isfinite(x) GROUP BY k ORDER BY k LIMIT 1`,
        )
      ).getRows();
      if (bad.length)
        throw new SieveError(`missing or non-finite values in numeric feature "${numeric[Number(bad[0][0])]}"`, { where: role, count: Number(bad[0][1]) });
    }
  }
  const all = Object.values(draft.tables).filter((t): t is string => !!t).map((t) => `SELECT id FROM ${q(t)}`).join(' UNION ALL ');
  const [total, distinct] = (await conn.runAndReadAll(`SELECT count(*), count(DISTINCT id) FROM (${all})`)).getRows()[0].map(Number);
  if (total !== distinct) throw new SieveError(`duplicate ids: ${total - distinct} rows repeat an id`, { where: 'id', count: total - distinct });
  return rows;
}

/**
 * Writes a pool from tables that are already in DuckDB (see TablePoolDraft), with the same
 * checks, file layout, hashing and atomic rename as writePool. The Parquet files are copied
 * single-threaded, so the same tables give byte-identical files.
 */
export async function writePoolFromTables(outDir: string, draft: TablePoolDraft, opts: WritePoolOptions = {}): Promise<PoolManifest> {
  // The same output rules as writePool: the output first, then the draft.
  await checkOutputPath(outDir, { kind: 'dir', overwrite: opts.overwrite, option: opts.option, replaceable: poolReplaceBlocker, allowBuiltinPools: opts.intoBuiltinPools });
  validatePoolName(draft.manifest.name, 'pool name (--name, or the name of the --out folder)');
  const m = draft.manifest;
  checkManifestDraft(m);
  const level = opts.compressionLevel ?? 3;
  if (!Number.isInteger(level) || level < 1 || level > 22)
    throw new SieveError(`zstd compression level must be 1–22, got ${level}`, { where: 'compressionLevel' });
  const rows = await validateTables(draft);
  const { conn } = draft;
  const splitStatsOf = async (table: string): Promise<SplitStats> => {
    const counts: Record<string, number> = {};
    for (const c of m.classes) counts[c] = 0;
    for (const [l, n] of (await conn.runAndReadAll(`SELECT label, count(*) FROM ${quoteIdent(table)} GROUP BY label`)).getRows()) counts[String(l)] = Number(n);
    return { rows: rows[table === draft.tables.train ? 'train' : 'test'], class_counts: counts };
  };
  const plan: { role: FileRole; table: string; visibility: Visibility }[] = [{ role: 'train', table: draft.tables.train, visibility: 'participant' }];
  if (draft.tables.test) plan.push({ role: 'test', table: draft.tables.test, visibility: draft.testVisibility ?? 'evaluator' });
  opts.progress?.start(plan.reduce((s, p) => s + rows[p.role], 0), `writing ${m.name}`);
  const threads = String((await conn.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0][0]);
  return writeDirAtomically(
    outDir,
    async (tmp) => {
      const files: FileEntry[] = [];
      // One thread: DuckDB then writes row groups in table order, identically every run.
      await conn.run('SET threads = 1');
      try {
        for (const p of plan) {
          const path = `${p.role}.parquet`;
          const target = join(tmp, path);
          await conn.run(`COPY ${quoteIdent(p.table)} TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${level})`);
          opts.progress?.tick(rows[p.role]);
          const { sha256, bytes } = await hashFile(target);
          files.push({ path, role: p.role, visibility: p.visibility, rows: rows[p.role], bytes, sha256 });
        }
      } finally {
        await conn.run(`SET threads = ${Number(threads) || 1}`);
      }
      const splits: PoolManifest['splits'] = { train: await splitStatsOf(draft.tables.train) };
      if (draft.tables.test) splits.test = await splitStatsOf(draft.tables.test);
      const manifest = await finishPool(tmp, m, files, splits);
      opts.progress?.stop();
      return manifest;
    },
    { overwrite: opts.overwrite, option: opts.option, replaceable: poolReplaceBlocker, allowBuiltinPools: opts.intoBuiltinPools },
  );
}
