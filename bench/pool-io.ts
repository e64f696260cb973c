/**
 * bench/pool-io: the pool layer's DuckDB access on 1,000,000 rows × FLOAT[64] (+ id, label):
 *   append   appendTable (data chunks filled by memcpy) vs the row-by-row appender
 *   write    writePool (validate, append, zstd Parquet, hash)
 *   read     readSplit into one Float32Array vs the row-object API (getRowObjectsJS)
 * References are measured in the same run on a slice of the rows and scaled linearly
 * (running them on all rows would take minutes); ratios are reference ÷ sieve.
 *   node --import tsx bench/pool-io.ts [--rows N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARRAY, FLOAT, arrayValue } from '@duckdb/node-api';
import { createRng } from '../compute/rng.ts';
import { appendTable, openDb, sqlString } from '../src/pool/duckdb.ts';
import { writePool } from '../src/pool/write.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { printTable } from '../src/util/output.ts';

const arg = process.argv.indexOf('--rows');
const n = arg > 0 ? Number(process.argv[arg + 1]) : 1_000_000;
const d = 64;
const refRows = Math.min(n, 20_000);
const seconds = (t0: number) => (performance.now() - t0) / 1000;

const rng = createRng(42);
const emb = new Float32Array(n * d);
for (let i = 0; i < emb.length; i++) emb[i] = rng.normal();
const ids = Array.from({ length: n }, (_, i) => `r${i}`);
const labels = Array.from({ length: n }, () => String(rng.int(10)));
const table = {
  n,
  columns: [
    { name: 'id', type: 'VARCHAR' as const, values: ids },
    { name: 'label', type: 'VARCHAR' as const, values: labels },
    { name: 'emb', type: 'FLOAT[]' as const, dim: d, values: emb },
  ],
};

const tmp = await mkdtemp(join(tmpdir(), 'sieve-bench-io-'));
try {
  // append: chunked vs row by row
  const db = await openDb({ threads: 1 });
  let t0 = performance.now();
  await appendTable(db.conn, 'chunked', table);
  const appendS = seconds(t0);
  await db.conn.run(`CREATE TABLE rowwise (id VARCHAR, label VARCHAR, emb FLOAT[${d}])`);
  const appender = await db.conn.createAppender('rowwise');
  const type = ARRAY(FLOAT, d);
  t0 = performance.now();
  for (let i = 0; i < refRows; i++) {
    appender.appendVarchar(ids[i]);
    appender.appendVarchar(labels[i]);
    appender.appendArray(arrayValue(Array.from(emb.subarray(i * d, (i + 1) * d))), type);
    appender.endRow();
  }
  appender.closeSync();
  const rowwiseS = (seconds(t0) * n) / refRows;
  db.close();

  // write a pool
  t0 = performance.now();
  await writePool(join(tmp, 'pool'), {
    manifest: {
      name: 'bench-io', version: '1', description: 'benchmark', source: 'generated', licence: 'CC0-1.0', citation: '',
      task: 'classification', id_column: 'id', label_column: 'label',
      classes: Array.from({ length: 10 }, (_, k) => String(k)),
      features: [{ name: 'emb', kind: 'embedding', dim: d }], groups: [],
      datasheet: { motivation: 'benchmark', composition: 'normal noise', collection: 'generated', preprocessing: 'none', uses: 'benchmark', known_issues: [] },
    },
    tables: { train: table },
  });
  const writeS = seconds(t0);

  // read back
  const pool = await openPool(join(tmp, 'pool'));
  t0 = performance.now();
  const split = await readSplit(pool, 'train');
  const readS = seconds(t0);
  let same = split.n === n;
  for (let i = 0; i < emb.length && same; i += 997) same = split.features[i] === emb[i];
  const rdb = await openDb({ threads: 2 });
  t0 = performance.now();
  const reader = await rdb.conn.runAndReadAll(
    `SELECT id, label, emb FROM read_parquet(${sqlString(join(tmp, 'pool', 'train.parquet'))}) LIMIT ${refRows}`,
  );
  const objects = reader.getRowObjectsJS();
  const X = new Float32Array(refRows * d);
  objects.forEach((o, i) => X.set(o.emb as number[], i * d));
  const rowObjS = (seconds(t0) * n) / refRows;
  rdb.close();

  const rate = (s: number) => Math.round(n / s).toLocaleString('en');
  printTable(
    ['step', 'rows', 'seconds', 'rows/s', 'reference', 'ref seconds', 'speed-up'],
    [
      ['append', n, appendS.toFixed(2), rate(appendS), `row-by-row appender (${refRows} rows, scaled)`, rowwiseS.toFixed(1), `${(rowwiseS / appendS).toFixed(1)}×`],
      ['writePool', n, writeS.toFixed(2), rate(writeS), '', '', ''],
      ['readSplit', n, readS.toFixed(2), rate(readS), `row objects (${refRows} rows, scaled)`, rowObjS.toFixed(1), `${(rowObjS / readS).toFixed(1)}×`],
    ],
  );
  if (!same) {
    console.error('read-back mismatch');
    process.exitCode = 1;
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
