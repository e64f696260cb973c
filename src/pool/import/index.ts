/**
 * `sieve pool import`: any supported file → staged DuckDB table → checked row by row in SQL
 * (ids, labels, feature values, with source line numbers in every error) → feature kinds
 * inferred → optional test split → writePool. Nothing is written unless all checks pass.
 */
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SieveError } from '../../util/errors.ts';
import type { Progress } from '../../util/progress.ts';
import { createRng, deriveSeed } from '../../../evaluator/rng.ts';
import { openDb, queryColumns, quoteIdent, type ColumnData, type ReadColumn, type TableData } from '../duckdb.ts';
import type { FeatureKind, FeatureSpec, PoolManifest } from '../manifest.ts';
import { writePool, type PoolDraft } from '../write.ts';
import {
  detectFormat,
  stageArff,
  stageArrow,
  stageCsv,
  stageIdx,
  stageJsonl,
  stageParquet,
  IMPORT_FORMATS,
  type ImportFormat,
  type Staged,
} from './stage.ts';

export { detectFormat, IMPORT_FORMATS, type ImportFormat } from './stage.ts';

export interface ImportOptions {
  input: string;
  out: string;
  format?: ImportFormat;
  /** Pool name (default: the output directory's name). */
  name?: string;
  /** Column holding unique row ids (default "id"); "none" numbers rows as row-<n>. */
  idColumn?: string;
  /** Column holding class labels (default "label"). */
  labelColumn?: string;
  /** Feature columns (default: every column that is not the id, label or a group). */
  featureColumns?: string[];
  /** Group (sensitive attribute) columns, kept as strings. */
  groupColumns?: string[];
  /** Force a feature's kind instead of inferring it. */
  kinds?: Record<string, FeatureKind>;
  /** Class names in index order; labels outside them are an error. For IDX: names of label 0, 1, … */
  classes?: string[];
  /** IDX: the labels file of `input`. */
  labels?: string;
  /** A second file holding the test split (same columns). */
  testFile?: string;
  /** IDX: the labels file of `testFile`. */
  testLabels?: string;
  /** Or: hold out this fraction of each class as the test split, chosen with `seed`. */
  testFraction?: number;
  seed?: number;
  /** CSV field delimiter (default "," for CSV, tab for TSV). */
  delimiter?: string;
  /** Geometry of binary pixel columns the file does not describe. */
  imageSize?: { width: number; height: number; channels: number };
  description?: string;
  licence?: string;
  source?: string;
  overwrite?: boolean;
  progress?: Progress;
}

/** A VARCHAR column with at most this many distinct values, none longer than… */
const MAX_CATEGORIES = 50;
/** …this many characters, is categorical; otherwise it is text. */
const MAX_CATEGORY_CHARS = 64;
const MAX_EXAMPLES = 5;

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|BOOLEAN)$/;
const LIST_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))\[\d*\]$/;

const q = quoteIdent;

/** A column of a staged table as used by the pool. */
interface Plan {
  spec: FeatureSpec;
  /** SQL producing the pool's value from the staged column. */
  expr: string;
}

interface Source {
  staged: Staged;
  /** SQL for the id of each row. */
  idExpr: string;
}

export async function importPool(opts: ImportOptions): Promise<PoolManifest> {
  const format = opts.format ?? detectFormat(opts.input);
  if (opts.testFile && opts.testFraction !== undefined)
    throw new SieveError('give either a test file or a test fraction, not both', { where: '--test / --test-fraction' });
  if (opts.testFraction !== undefined && !(opts.testFraction > 0 && opts.testFraction < 1))
    throw new SieveError(`--test-fraction must be between 0 and 1 (exclusive), got ${opts.testFraction}`, { where: '--test-fraction' });

  const db = await openDb({ threads: Math.max(1, availableParallelism()) });
  try {
    const conn = db.conn;
    const train = await stage(conn, format, opts.input, opts.labels, 'src_train', opts);
    const test = opts.testFile
      ? await stage(conn, opts.format ?? detectFormat(opts.testFile), opts.testFile, opts.testLabels, 'src_test', opts)
      : undefined;
    const draft = await buildDraft(conn, opts, train, test);
    // One bar for the whole import: the writer's units come after the read-out's.
    const base = opts.progress;
    const readUnits = draft.tables.train.n + (draft.tables.test?.n ?? 0);
    const progress: Progress | undefined = base && {
      start: (units) => base.start(readUnits + units, 'importing'),
      tick: (units) => base.tick(units),
      stop: () => base.stop(),
    };
    return await writePool(opts.out, draft, { overwrite: opts.overwrite, progress });
  } finally {
    db.close();
  }
}

function stage(conn: DuckDBConnection, format: ImportFormat, path: string, labels: string | undefined, table: string, opts: ImportOptions): Promise<Staged> {
  const abs = resolve(path);
  switch (format) {
    case 'csv':
      return stageCsv(conn, abs, table, opts.delimiter ?? ',', 'csv');
    case 'tsv':
      return stageCsv(conn, abs, table, opts.delimiter ?? '\t', 'tsv');
    case 'jsonl':
      return stageJsonl(conn, abs, table);
    case 'parquet':
      return stageParquet(conn, abs, table);
    case 'arrow':
      return stageArrow(conn, abs, table);
    case 'arff':
      return stageArff(conn, abs, table);
    case 'idx':
      return stageIdx(conn, abs, labels ? resolve(labels) : undefined, table, opts.classes);
  }
}

// ---------------------------------------------------------------------------------------
// Small SQL helpers that report offending rows by their place in the source file.

async function scalar(conn: DuckDBConnection, sql: string): Promise<unknown> {
  const r = await conn.runAndReadAll(sql);
  return r.getRows()[0]?.[0];
}

/** Count and first rows (1-based record numbers) of `s` where `cond` holds. */
async function offenders(conn: DuckDBConnection, s: Staged, cond: string, extra = 'NULL'): Promise<{ count: number; rows: { r: number; v: unknown }[] }> {
  const count = Number(await scalar(conn, `SELECT count(*) FROM ${q(s.table)} WHERE ${cond}`));
  if (count === 0) return { count, rows: [] };
  const r = await conn.runAndReadAll(`SELECT (rowid + 1)::BIGINT, ${extra} FROM ${q(s.table)} WHERE ${cond} ORDER BY rowid LIMIT ${MAX_EXAMPLES}`);
  return { count, rows: r.getRowsJS().map(([row, v]) => ({ r: Number(row), v })) };
}

async function failIf(conn: DuckDBConnection, s: Staged, cond: string, message: string, where: string, extra?: string, show?: (v: unknown) => string): Promise<void> {
  const o = await offenders(conn, s, cond, extra);
  if (!o.count) return;
  throw new SieveError(`${message} (${o.count} row${o.count > 1 ? 's' : ''})`, {
    where: `${s.path}: ${where}`,
    count: o.count,
    examples: o.rows.map(({ r, v }) => `${s.describe(r)}${show ? `: ${show(v)}` : ''}`),
  });
}

const fmtValue = (v: unknown) => (v === null || v === undefined ? 'missing' : JSON.stringify(v));

// ---------------------------------------------------------------------------------------

function checkColumnsExist(s: Staged, wanted: { option: string; names: string[] }[]): void {
  const have = new Set(s.columns.map((c) => c.name));
  const missing = wanted.flatMap(({ option, names }) => names.filter((n) => !have.has(n)).map((n) => `${n} (${option})`));
  if (missing.length)
    throw new SieveError(`unknown column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
      where: s.path,
      examples: [`available: ${s.columns.map((c) => c.name).join(', ')}`],
    });
}

function typeOf(s: Staged, col: string): string {
  return s.columns.find((c) => c.name === col)!.type;
}

async function buildDraft(conn: DuckDBConnection, opts: ImportOptions, train: Staged, test?: Staged): Promise<PoolDraft> {
  const sources = test ? [train, test] : [train];
  // --- which columns play which part --------------------------------------------------
  const noIds = opts.idColumn === 'none' || (opts.idColumn === undefined && train.format === 'idx');
  const idCol = noIds ? undefined : opts.idColumn ?? 'id';
  const labelCol = opts.labelColumn ?? 'label';
  const have = new Set(train.columns.map((c) => c.name));
  const declaredGroups = train.declaredGroups?.filter((g) => have.has(g.name));
  const groupCols = opts.groupColumns ?? declaredGroups?.map((g) => g.name) ?? [];
  const taken = new Set([idCol, labelCol, ...groupCols].filter((x): x is string => !!x));
  for (const s of sources) {
    checkColumnsExist(s, [
      ...(idCol ? [{ option: opts.idColumn ? '--id-column' : 'the default id column; pass --id-column NAME, or --id-column none to number rows', names: [idCol] }] : []),
      { option: opts.labelColumn ? '--label-column' : 'the default label column; pass --label-column NAME', names: [labelCol] },
      { option: '--group-columns', names: groupCols },
      { option: '--feature-columns', names: opts.featureColumns ?? [] },
      { option: '--kind', names: Object.keys(opts.kinds ?? {}) },
    ]);
  }
  const featureCols = opts.featureColumns ?? train.columns.map((c) => c.name).filter((c) => !taken.has(c));
  const clash = featureCols.filter((c) => taken.has(c));
  if (clash.length) throw new SieveError('a column cannot be a feature and the id, label or a group', { where: '--feature-columns', examples: clash });
  for (const c of [...featureCols, ...groupCols])
    if (c === 'id' || c === 'label')
      throw new SieveError(`column "${c}" would be a ${groupCols.includes(c) ? 'group' : 'feature'}, but "${c}" is reserved in pools`, {
        where: c,
        examples: [`pass --${c}-column ${c} if it holds the ${c}s, or leave it out with --feature-columns`],
      });
  if (featureCols.length === 0) throw new SieveError('no feature columns left after id, label and groups', { where: train.path });
  if (test) {
    for (const c of featureCols) {
      const a = typeOf(train, c);
      const b = typeOf(test, c);
      if (a !== b && !(NUMERIC_TYPE.test(a) && NUMERIC_TYPE.test(b)) && !(LIST_TYPE.test(a) && LIST_TYPE.test(b)))
        throw new SieveError(`column "${c}" is ${a} in the train file but ${b} in the test file`, { where: test.path });
    }
  }

  // --- ids ----------------------------------------------------------------------------
  const srcs: Source[] = sources.map((s, i) => ({
    staged: s,
    idExpr: idCol ? `CAST(${q(idCol)} AS VARCHAR)` : `'${i === 0 ? 'row' : 'test-row'}-' || (rowid + 1)`,
  }));
  for (const { staged: s, idExpr } of srcs) {
    if (idCol) await failIf(conn, s, `${idExpr} IS NULL OR trim(${idExpr}) = ''`, `missing ids in column "${idCol}"`, idCol);
    const dups = await conn.runAndReadAll(
      `SELECT k, list(rowid + 1 ORDER BY rowid)[1:2], count(*) OVER () FROM (SELECT ${idExpr} AS k, rowid FROM ${q(s.table)}) ` +
        `GROUP BY k HAVING count(*) > 1 ORDER BY min(rowid) LIMIT ${MAX_EXAMPLES}`,
    );
    const rows = dups.getRowsJS();
    if (rows.length) {
      const total = Number(rows[0][2]);
      throw new SieveError(`duplicate ids: ${total} id${total > 1 ? 's occur' : ' occurs'} more than once`, {
        where: `${s.path}: ${idCol}`,
        count: total,
        examples: rows.map(([k, rs]) => `"${k}" at ${(rs as bigint[]).map((r) => s.describe(Number(r))).join(' and ')}`),
      });
    }
  }
  if (test) {
    const [a, b] = srcs;
    const shared = await conn.runAndReadAll(
      `SELECT x.k, x.r, y.r FROM (SELECT ${a.idExpr} AS k, rowid + 1 AS r FROM ${q(a.staged.table)}) x ` +
        `JOIN (SELECT ${b.idExpr} AS k, rowid + 1 AS r FROM ${q(b.staged.table)}) y USING (k) ORDER BY x.r LIMIT ${MAX_EXAMPLES}`,
    );
    const rows = shared.getRowsJS();
    if (rows.length)
      throw new SieveError('ids occur in both the train and the test file', {
        where: `${test.path}: ${idCol}`,
        examples: rows.map(([k, r1, r2]) => `"${k}" at ${train.describe(Number(r1))} of ${basename(train.path)} and ${test.describe(Number(r2))} of ${basename(test.path)}`),
      });
  }

  // --- labels and classes -------------------------------------------------------------
  const labelExpr = `CAST(${q(labelCol)} AS VARCHAR)`;
  for (const s of sources) await failIf(conn, s, `${labelExpr} IS NULL OR trim(${labelExpr}) = ''`, `missing labels in column "${labelCol}"`, labelCol);
  let classes: string[];
  const given = opts.classes ?? train.declared[labelCol]?.categories ?? train.declaredClasses;
  if (given) {
    const origin = opts.classes ? '--classes' : 'the classes the file declares';
    const dup = given.filter((c, i) => given.indexOf(c) !== i);
    if (dup.length) throw new SieveError(`${origin} list a class twice`, { where: opts.classes ? '--classes' : train.path, examples: dup });
    classes = given;
    const list = `[${classes.map((c) => `'${c.replaceAll("'", "''")}'`).join(', ')}]::VARCHAR[]`;
    for (const s of sources)
      await failIf(conn, s, `NOT list_contains(${list}, ${labelExpr})`, `labels not among ${origin} (${classes.join(', ')})`, labelCol, labelExpr, fmtValue);
  } else {
    const union = sources.map((s) => `SELECT DISTINCT ${labelExpr} AS l FROM ${q(s.table)}`).join(' UNION ');
    const r = await conn.runAndReadAll(union);
    classes = sortLabels(r.getRowsJS().map(([l]) => String(l)));
  }
  if (classes.length < 2)
    throw new SieveError(`a classification pool needs at least two classes; column "${labelCol}" has ${classes.length}`, {
      where: `${train.path}: ${labelCol}`,
      examples: classes,
    });

  // --- features -----------------------------------------------------------------------
  const plans: Plan[] = [];
  const kinds = await inferKinds(conn, opts, sources, featureCols);
  for (const col of featureCols) plans.push(await planFeature(conn, opts, sources, col, kinds[col]));
  const groupExprs = groupCols.map((g) => ({ name: g, expr: `CAST(${q(g)} AS VARCHAR)` }));

  // --- read out, split, assemble ------------------------------------------------------
  const select = (src: Source) =>
    [
      `${src.idExpr} AS id`,
      `${labelExpr} AS label`,
      ...plans.map((p) => `${p.expr} AS ${q(p.spec.name)}`),
      ...groupExprs.map((g) => `${g.expr} AS ${q(g.name)}`),
    ].join(', ');
  const total = sources.reduce((s, x) => s + x.rows, 0);
  opts.progress?.start(total * 3, 'importing'); // read-out now, writing (2 units a row) later
  const tables: TableData[] = [];
  for (const src of srcs) {
    const r = await queryColumns(conn, `SELECT ${select(src)} FROM ${q(src.staged.table)} ORDER BY rowid`, { progress: opts.progress });
    tables.push(toTable(r.n, r.columns, plans));
  }
  let trainTable = tables[0];
  let testTable = tables[1];
  let splitNote = test ? `test split from ${basename(test.path)}` : 'no test split';
  if (opts.testFraction !== undefined) {
    const seed = opts.seed ?? 0;
    const { trainIdx, testIdx } = stratifiedSplit(trainTable, classes, opts.testFraction, seed);
    testTable = takeRows(trainTable, testIdx);
    trainTable = takeRows(trainTable, trainIdx);
    splitNote = `test split: ${opts.testFraction} of each class held out at random (stratified, seed ${seed})`;
  }

  const features = plans.map((p) => p.spec);
  const name = sanitizeName(opts.name ?? basename(resolve(opts.out)));
  const inputs = [opts.input, opts.labels, opts.testFile, opts.testLabels].filter((x): x is string => !!x).map((p) => basename(p));
  const kindSummary = features.map((f) => `${f.name} (${f.kind})`).join(', ');
  return {
    manifest: {
      name,
      version: '1',
      description: opts.description ?? `Imported from ${inputs.join(', ')}`,
      source: opts.source ?? inputs.join(', '),
      licence: opts.licence ?? 'not stated (imported data; check the licence of the source)',
      citation: '',
      task: 'classification',
      id_column: 'id',
      label_column: 'label',
      classes,
      features,
      groups: groupCols.map((g) => declaredGroups?.find((d) => d.name === g) ?? { name: g }),
      datasheet: {
        motivation: `Imported with sieve pool import from ${inputs.join(', ')} (${train.format}).`,
        composition: `${trainTable.n} train rows${testTable ? `, ${testTable.n} test rows` : ''}; ${classes.length} classes; features: ${kindSummary}${groupCols.length ? `; groups: ${groupCols.join(', ')}` : ''}.`,
        collection: 'Not recorded: the importer only knows the file it was given.',
        preprocessing: `Feature kinds ${opts.kinds ? 'partly set by --kind, otherwise ' : ''}inferred from column types and values; ids ${idCol ? `from column "${idCol}"` : 'generated from row numbers'}; labels from column "${labelCol}"; ${splitNote}. Rows kept in file order; no row was dropped.`,
        uses: 'Auditing and data-centric experiments with sieve.',
        known_issues: [],
      },
    },
    tables: { train: trainTable, ...(testTable ? { test: testTable } : {}) },
    // An imported pool is the user's own data: its test split is theirs to read.
    testVisibility: 'participant',
  };
}

/** Numeric-looking labels in numeric order, others alphabetically. */
function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return numeric ? labels.sort((a, b) => Number(a) - Number(b)) : labels.sort();
}

function sanitizeName(s: string): string {
  const n = s.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
  return n || 'imported';
}

/** Decides each feature column's kind from its DuckDB type and, for strings, its values. */
async function inferKinds(conn: DuckDBConnection, opts: ImportOptions, sources: Staged[], cols: string[]): Promise<Record<string, FeatureKind>> {
  const out: Record<string, FeatureKind> = {};
  const train = sources[0];
  const strings: string[] = [];
  for (const c of cols) {
    const forced = opts.kinds?.[c] ?? train.declared[c]?.kind;
    const t = typeOf(train, c);
    if (forced) out[c] = forced;
    else if (NUMERIC_TYPE.test(t)) out[c] = 'numeric';
    else if (LIST_TYPE.test(t)) out[c] = 'embedding';
    else if (t === 'BLOB') out[c] = 'pixels';
    else if (t === 'VARCHAR') strings.push(c);
    else
      throw new SieveError(`column "${c}" has type ${t}, which sieve cannot use as a feature`, {
        where: `${train.path}: ${c}`,
        examples: ['leave it out with --feature-columns, or convert it to numbers or text first'],
      });
  }
  if (!strings.length) return out;
  const union = sources.map((s) => `SELECT ${strings.map(q).join(', ')} FROM ${q(s.table)}`).join(' UNION ALL ');
  const stats = strings
    .map((c) => {
      const x = q(c);
      return (
        `count(${x}), count(*) FILTER (WHERE ${x} IS NOT NULL AND TRY_CAST(${x} AS DOUBLE) IS NULL), count(DISTINCT ${x}), coalesce(max(length(${x})), 0), ` +
        `count(*) FILTER (WHERE ${x} IS NOT NULL AND (NOT starts_with(trim(${x}), '[') OR TRY_CAST(${x} AS DOUBLE[]) IS NULL))`
      );
    })
    .join(', ');
  const row = (await conn.runAndReadAll(`SELECT ${stats} FROM (${union})`)).getRowsJS()[0].map(Number);
  for (let i = 0; i < strings.length; i++) {
    const c = strings[i];
    const [nonNull, nonNumeric, distinct, maxLen, nonList] = row.slice(i * 5, i * 5 + 5);
    if (nonNull > 0 && nonNumeric === 0) out[c] = 'numeric';
    else if (nonNull > 0 && nonList === 0) out[c] = 'embedding'; // "[0.1, 0.2, …]" in every row
    else if (nonNumeric > 0 && nonNumeric <= 0.1 * nonNull && distinct > MAX_CATEGORIES) {
      // Mostly numbers with a few stray strings ("n/a", "?"): refuse rather than guess.
      const s = sources[0];
      const o = await offenders(conn, s, `${q(c)} IS NOT NULL AND TRY_CAST(${q(c)} AS DOUBLE) IS NULL`, q(c));
      throw new SieveError(`column "${c}" is numeric except for ${nonNumeric} value${nonNumeric > 1 ? 's' : ''} that are not numbers`, {
        where: `${s.path}: ${c}`,
        count: nonNumeric,
        examples: [...o.rows.map(({ r, v }) => `${s.describe(r)}: ${fmtValue(v)}`), `or keep it as text with --kind ${c}=categorical`],
      });
    } else if (distinct <= MAX_CATEGORIES && maxLen <= MAX_CATEGORY_CHARS) out[c] = 'categorical';
    else out[c] = 'text';
  }
  return out;
}

/** Checks a feature column's values in every source and says how to read it out. */
async function planFeature(conn: DuckDBConnection, opts: ImportOptions, sources: Staged[], col: string, kind: FeatureKind): Promise<Plan> {
  const x = q(col);
  const train = sources[0];
  const declared = train.declared[col] ?? {};
  switch (kind) {
    case 'numeric': {
      const t = typeOf(train, col);
      if (!(NUMERIC_TYPE.test(t) || t === 'VARCHAR'))
        throw new SieveError(`column "${col}" (${t}) cannot be numeric`, { where: `${train.path}: ${col}` });
      const e = `TRY_CAST(${x} AS DOUBLE)`;
      for (const s of sources) {
        await failIf(conn, s, `${e} IS NULL`, `missing or non-numeric values in numeric feature "${col}"`, col, `CAST(${x} AS VARCHAR)`, fmtValue);
        await failIf(conn, s, `isnan(${e}) OR isinf(${e})`, `NaN or infinite values in numeric feature "${col}"`, col, `CAST(${x} AS VARCHAR)`, fmtValue);
      }
      return { spec: { name: col, kind: 'numeric' }, expr: e };
    }
    case 'categorical': {
      const e = `CAST(${x} AS VARCHAR)`;
      let categories = declared.categories;
      if (categories) {
        const list = `[${categories.map((c) => `'${c.replaceAll("'", "''")}'`).join(', ')}]::VARCHAR[]`;
        for (const s of sources)
          await failIf(conn, s, `${e} IS NOT NULL AND NOT list_contains(${list}, ${e})`, `values of "${col}" outside its declared categories`, col, e, fmtValue);
      } else {
        const union = sources.map((s) => `SELECT DISTINCT ${e} AS v FROM ${q(s.table)} WHERE ${e} IS NOT NULL`).join(' UNION ');
        categories = sortLabels((await conn.runAndReadAll(union)).getRowsJS().map(([v]) => String(v)));
      }
      return { spec: { name: col, kind: 'categorical', categories }, expr: e };
    }
    case 'text':
      return { spec: { name: col, kind: 'text' }, expr: `CAST(${x} AS VARCHAR)` };
    case 'embedding': {
      const t = typeOf(train, col);
      if (!LIST_TYPE.test(t) && t !== 'VARCHAR')
        throw new SieveError(`column "${col}" (${t}) cannot be an embedding: it needs lists of numbers`, { where: `${train.path}: ${col}` });
      // Text columns may hold lists written as "[0.1, 0.2, …]" (CSV has no list type).
      const list = t === 'VARCHAR' ? `TRY_CAST(${x} AS DOUBLE[])` : `CAST(${x} AS DOUBLE[])`;
      const dim = Number(await scalar(conn, `SELECT len(${list}) FROM ${q(train.table)} WHERE ${list} IS NOT NULL ORDER BY rowid LIMIT 1`));
      for (const s of sources) {
        await failIf(conn, s, `${list} IS NULL`, `missing or unreadable embeddings in "${col}"`, col, `CAST(${x} AS VARCHAR)`, fmtValue);
        await failIf(conn, s, `len(${list}) <> ${dim}`, `ragged embedding "${col}": the first row has ${dim} values`, col, `len(${list})`, (v) => `${v} values`);
        await failIf(
          conn,
          s,
          `coalesce(list_bool_or(list_transform(${list}, lambda v: v IS NULL OR isnan(v) OR isinf(v))), false)`,
          `NaN, infinite or missing values in embedding "${col}"`,
          col,
        );
      }
      if (!(dim > 0)) throw new SieveError(`embedding "${col}" has zero dimensions`, { where: `${train.path}: ${col}` });
      return { spec: { name: col, kind: 'embedding', dim }, expr: `CAST(${list} AS FLOAT[${dim}])` };
    }
    case 'pixels': {
      const t = typeOf(train, col);
      if (t !== 'BLOB') throw new SieveError(`column "${col}" (${t}) cannot be pixels: it needs binary image bytes`, { where: `${train.path}: ${col}` });
      const geometry =
        declared.width && declared.height
          ? { width: declared.width, height: declared.height, channels: declared.channels ?? 1 }
          : opts.imageSize;
      if (!geometry)
        throw new SieveError(`binary column "${col}" needs an image size`, { where: `${train.path}: ${col}`, examples: ['pass --image-size 28x28 (or WxHxC)'] });
      const w = geometry.width * geometry.height * geometry.channels;
      for (const s of sources)
        await failIf(conn, s, `${x} IS NULL OR octet_length(${x}) <> ${w}`, `pixels "${col}" are not ${w} bytes (${geometry.width}×${geometry.height}×${geometry.channels})`, col, `octet_length(${x})`, (v) => `${v ?? 'no'} bytes`);
      return { spec: { name: col, kind: 'pixels', ...geometry }, expr: x };
    }
  }
}

/** Read columns → writer columns (pixels packed into one buffer). */
function toTable(n: number, cols: ReadColumn[], plans: Plan[]): TableData {
  const out: ColumnData[] = cols.map((c): ColumnData => {
    switch (c.type) {
      case 'VARCHAR':
        return { name: c.name, type: 'VARCHAR', values: c.values };
      case 'DOUBLE':
        return { name: c.name, type: 'DOUBLE', values: c.values };
      case 'FLOAT[]':
        return { name: c.name, type: 'FLOAT[]', dim: c.dim, values: c.values };
      case 'BLOB': {
        const plan = plans.find((p) => p.spec.name === c.name)!;
        const w = plan.spec.width! * plan.spec.height! * (plan.spec.channels ?? 1);
        const values = new Uint8Array(n * w);
        for (let i = 0; i < n; i++) values.set(c.values[i]!, i * w);
        return { name: c.name, type: 'BLOB', bytesPerRow: w, values };
      }
      default:
        throw new SieveError(`internal: unexpected ${c.type} column "${c.name}" in import`);
    }
  });
  return { n, columns: out };
}

/** Rows `idx` (in that order) of every column. */
export function takeRows(t: TableData, idx: Int32Array): TableData {
  const m = idx.length;
  const columns = t.columns.map((c): ColumnData => {
    switch (c.type) {
      case 'VARCHAR':
        return { ...c, values: Array.from(idx, (i) => c.values[i]) };
      case 'DOUBLE':
        return { ...c, values: c.values instanceof Float64Array ? Float64Array.from(idx, (i) => (c.values as Float64Array)[i]) : Array.from(idx, (i) => (c.values as (number | null)[])[i]) };
      case 'INTEGER':
        return { ...c, values: Int32Array.from(idx, (i) => c.values[i]) };
      case 'BOOLEAN':
        return { ...c, values: Uint8Array.from(idx, (i) => c.values[i]) };
      case 'FLOAT[]': {
        const v = new Float32Array(m * c.dim);
        for (let k = 0; k < m; k++) v.set(c.values.subarray(idx[k] * c.dim, (idx[k] + 1) * c.dim), k * c.dim);
        return { ...c, values: v };
      }
      case 'BLOB': {
        const w = c.bytesPerRow;
        const v = new Uint8Array(m * w);
        for (let k = 0; k < m; k++) v.set(c.values.subarray(idx[k] * w, (idx[k] + 1) * w), k * w);
        return { ...c, values: v };
      }
    }
  });
  return { n: m, columns };
}

/**
 * Holds out round(fraction × count) rows of each class (at least one row stays in train),
 * chosen by a seeded shuffle per class; both parts keep file order.
 */
export function stratifiedSplit(t: TableData, classes: string[], fraction: number, seed: number): { trainIdx: Int32Array; testIdx: Int32Array } {
  const labels = (t.columns.find((c) => c.name === 'label') as Extract<ColumnData, { type: 'VARCHAR' }>).values;
  const isTest = new Uint8Array(t.n);
  for (const cls of classes) {
    const rows: number[] = [];
    for (let i = 0; i < t.n; i++) if (labels[i] === cls) rows.push(i);
    const k = Math.min(Math.round(fraction * rows.length), Math.max(0, rows.length - 1));
    const rng = createRng(deriveSeed(seed, 'import-test-split', cls));
    rng.shuffle(rows);
    for (let j = 0; j < k; j++) isTest[rows[j]] = 1;
  }
  const testIdx: number[] = [];
  const trainIdx: number[] = [];
  for (let i = 0; i < t.n; i++) (isTest[i] ? testIdx : trainIdx).push(i);
  if (testIdx.length === 0)
    throw new SieveError(`--test-fraction ${fraction} leaves the test split empty (${t.n} rows)`, { where: '--test-fraction' });
  return { trainIdx: Int32Array.from(trainIdx), testIdx: Int32Array.from(testIdx) };
}
