/**
 * `sieve pool export`: a participant-visible split as Arrow IPC, Parquet or CSV. Arrow and
 * Parquet keep the pool's column types and carry the feature specs as metadata
 * (`sieve.features`, `sieve.classes`, `sieve.groups`), so `sieve pool import` restores the
 * same kinds; CSV spreads embeddings and pixels over one numeric column per dimension.
 */
import { createWriteStream } from 'node:fs';
import { extname, resolve } from 'node:path';
import { once } from 'node:events';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { openDb, queryColumns, quoteIdent, sqlString, type ReadColumn } from './duckdb.ts';
import { columnsToTable, fixedBinaryData, float32ListData, float64Data, utf8Data, writeArrowIpc, type ArrowColumn } from './arrow.ts';
import { participantSource, poolReadError, type Pool } from './read.ts';
import { withFileAtomically } from '../util/atomic.ts';
import type { FeatureSpec } from './manifest.ts';
import type { SplitName } from './types.ts';

import { EXPORT_FORMATS, type ExportFormat } from './choices.ts';
export { EXPORT_FORMATS, type ExportFormat } from './choices.ts';

/** Output extensions and the format each implies (`--format` may override). */
const EXTENSION_FORMATS: Record<string, ExportFormat> = { '.arrow': 'arrow', '.ipc': 'arrow', '.feather': 'arrow', '.parquet': 'parquet', '.pq': 'parquet', '.csv': 'csv' };

/** The export format: `format` when given (checked), else the one the output's extension names. */
export function exportFormat(out: string, format?: string): ExportFormat {
  if (format !== undefined) {
    if (!EXPORT_FORMATS.includes(format as ExportFormat))
      throw new SieveError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${format}"`, { where: '--format' });
    return format as ExportFormat;
  }
  const ext = extname(out).toLowerCase();
  const f = EXTENSION_FORMATS[ext];
  if (!f)
    throw new SieveError(`cannot tell the export format from the extension "${ext || '(none)'}" of ${out}`, {
      where: '--out',
      examples: [`extensions: ${Object.keys(EXTENSION_FORMATS).join(', ')}; or give --format ${EXPORT_FORMATS.join('|')}`],
    });
  return f;
}

export interface ExportOptions {
  format: ExportFormat;
  out: string;
  split?: SplitName;
  progress?: Progress;
}

/** Metadata that lets the importer restore kinds, class order and group columns. */
function metadata(pool: Pool): Record<string, string> {
  const m = pool.manifest;
  return {
    'sieve.pool': m.name,
    'sieve.content_hash': m.content_hash,
    'sieve.features': JSON.stringify(m.features),
    'sieve.classes': JSON.stringify(m.classes),
    'sieve.groups': JSON.stringify(m.groups),
  };
}

function selectList(features: FeatureSpec[], groups: string[]): string {
  return [
    'id',
    'label',
    ...features.map((f) => (f.kind === 'embedding' ? `CAST(${quoteIdent(f.name)} AS FLOAT[${f.dim}]) AS ${quoteIdent(f.name)}` : quoteIdent(f.name))),
    ...groups.map(quoteIdent),
  ].join(', ');
}

/** Writes `pool`'s split to `opts.out` (atomically, after the output checks); returns the rows written. */
export async function exportPool(pool: Pool, opts: ExportOptions): Promise<{ rows: number; path: string }> {
  const split = opts.split ?? 'train';
  const { path: src, file } = await participantSource(pool, split);
  const out = resolve(opts.out);
  const m = pool.manifest;
  const groups = m.groups.map((g) => g.name);
  // DuckDB failing on a damaged or truncated pool file is the pool's problem, not a bug.
  const readFailed = (err: unknown): never => {
    throw poolReadError(pool, src, err);
  };
  await withFileAtomically(
    out,
    async (tmp) => {
      const db = await openDb({ threads: 1 });
      opts.progress?.start(file.rows, `exporting ${pool.name}/${split}`);
      try {
        if (opts.format === 'parquet') {
          const kv = Object.entries(metadata(pool))
            .map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`)
            .join(', ');
          await db.conn.run(
            `COPY (SELECT ${selectList(m.features, groups)} FROM read_parquet(${sqlString(src)})) TO ${sqlString(tmp)} ` +
              `(FORMAT parquet, COMPRESSION zstd, KV_METADATA {${kv}})`,
          ).catch(readFailed);
          opts.progress?.tick(file.rows);
        } else {
          const r = await queryColumns(db.conn, `SELECT ${selectList(m.features, groups)} FROM read_parquet(${sqlString(src)})`, { progress: opts.progress }).catch(readFailed);
          if (opts.format === 'arrow') await writeArrowIpc(tmp, toArrow(pool, r.columns));
          else await writeCsv(tmp, pool, r.n, r.columns);
        }
        opts.progress?.stop();
      } finally {
        db.close();
      }
    },
    { option: '--out', inputs: [src] },
  );
  return { rows: file.rows, path: out };
}

function toArrow(pool: Pool, cols: ReadColumn[]) {
  const spec = new Map(pool.manifest.features.map((f) => [f.name, f]));
  const arrowCols: ArrowColumn[] = cols.map((c): ArrowColumn => {
    const f = spec.get(c.name);
    switch (c.type) {
      case 'VARCHAR':
        return { name: c.name, data: utf8Data(c.values), nullable: true };
      case 'DOUBLE':
        return { name: c.name, data: float64Data(c.values) };
      case 'FLOAT[]':
        return { name: c.name, data: float32ListData(c.values, c.dim), metadata: { 'sieve.kind': 'embedding' } };
      case 'BLOB': {
        const w = f!.width! * f!.height! * (f!.channels ?? 1);
        const packed = new Uint8Array(c.values.length * w);
        c.values.forEach((b, i) => packed.set(b!, i * w));
        return {
          name: c.name,
          data: fixedBinaryData(packed, w),
          metadata: { 'sieve.kind': 'pixels', 'sieve.width': String(f!.width), 'sieve.height': String(f!.height), 'sieve.channels': String(f!.channels ?? 1) },
        };
      }
      default:
        throw new SieveError(`internal: unexpected ${c.type} column "${c.name}" in export`);
    }
  });
  return columnsToTable(arrowCols, metadata(pool));
}

/** A CSV field: quoted when it holds a comma, quote, line break or edge spaces; NULL is empty. */
function csvField(s: string | null): string {
  if (s === null) return '';
  return /[",\r\n]|^\s|\s$/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Shortest decimal that reads back as the same float32 (9 significant digits always do). */
function float32Text(x: number): string {
  return String(Number(x.toPrecision(9)));
}

async function writeCsv(path: string, pool: Pool, n: number, cols: ReadColumn[]): Promise<void> {
  const header: string[] = [];
  const cells: ((i: number, out: string[]) => void)[] = [];
  for (const c of cols) {
    switch (c.type) {
      case 'VARCHAR':
        header.push(c.name);
        cells.push((i, out) => out.push(csvField(c.values[i])));
        break;
      case 'DOUBLE':
        header.push(c.name);
        cells.push((i, out) => out.push(c.nulls?.[i] ? '' : String(c.values[i])));
        break;
      case 'FLOAT[]':
        for (let j = 0; j < c.dim; j++) header.push(`${c.name}_${j}`);
        cells.push((i, out) => {
          for (let j = 0; j < c.dim; j++) out.push(float32Text(c.values[i * c.dim + j]));
        });
        break;
      case 'BLOB': {
        const w = c.values[0]?.length ?? 0;
        for (let j = 0; j < w; j++) header.push(`${c.name}_${j}`);
        cells.push((i, out) => {
          const b = c.values[i]!;
          for (let j = 0; j < w; j++) out.push(String(b[j]));
        });
        break;
      }
      default:
        throw new SieveError(`internal: unexpected ${c.type} column "${c.name}" in export`);
    }
  }
  const stream = createWriteStream(path);
  const write = async (s: string) => {
    if (!stream.write(s)) await once(stream, 'drain');
  };
  await write(header.map(csvField).join(',') + '\n');
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    const row: string[] = [];
    for (const cell of cells) cell(i, row);
    buf.push(row.join(','));
    if (buf.length === 1024) {
      await write(buf.join('\n') + '\n');
      buf = [];
    }
  }
  if (buf.length) await write(buf.join('\n') + '\n');
  stream.end();
  await once(stream, 'finish');
}
