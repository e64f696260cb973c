import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { writeAuditDb, writeAuditTables, sqlName } from '../src/report/tables.ts';
import { makeSplit, reportFor, subsetOf } from './report-fixtures.ts';

async function rows(conn: DuckDBConnection, sql: string) {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson();
}

describe('audit tables in DuckDB', () => {
  const fx = makeSplit();
  const subsetRows = Array.from({ length: 30 }, (_, i) => i * 2);
  const bundle = () => ({ pool: reportFor(fx), subset: reportFor(fx, 'subset', subsetOf(fx.split, subsetRows)) });

  it('writes findings, summary, figures and extra tables that SQL can query', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const written = await writeAuditTables(conn, bundle());
    expect(written.map((t) => t.name)).toEqual([
      'audit', 'summary', 'figures', 'findings_label_errors', 'findings_class_imbalance', 'class_imbalance_class_counts',
      'findings_duplicates', 'findings_fairness', 'fairness_per_group',
    ]);
    // The flagged label errors are exactly the flipped rows, in both scopes.
    const flagged = await rows(conn, `SELECT scope, list(id ORDER BY id) AS ids FROM findings_label_errors WHERE flagged GROUP BY scope ORDER BY scope`);
    expect(flagged).toEqual([
      { scope: 'pool', ids: [...fx.flipped].sort((a, b) => a - b).map((r) => fx.split.ids[r]) },
      { scope: 'subset', ids: ['r010', 'r042'] },
    ]);
    // Detail columns keep their types: numbers are DOUBLE, strings VARCHAR.
    const types = await rows(conn, `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'findings_label_errors' ORDER BY ordinal_position`);
    expect(types).toEqual([
      { column_name: 'scope', data_type: 'VARCHAR' }, { column_name: 'id', data_type: 'VARCHAR' },
      { column_name: 'score', data_type: 'DOUBLE' }, { column_name: 'flagged', data_type: 'BOOLEAN' },
      { column_name: 'given_label', data_type: 'VARCHAR' }, { column_name: 'suggested_label', data_type: 'VARCHAR' },
      { column_name: 'self_confidence', data_type: 'DOUBLE' }, { column_name: 'margin', data_type: 'DOUBLE' },
    ]);
    expect(await rows(conn, `SELECT count(*)::INTEGER AS n FROM findings_label_errors WHERE scope = 'pool'`)).toEqual([{ n: 60 }]);
    const summary = await rows(conn, `SELECT scope, analyser, status, severity, findings::INTEGER AS findings, flagged::INTEGER AS flagged FROM summary ORDER BY scope, analyser`);
    expect(summary.filter((r) => r.scope === 'pool')).toEqual([
      { scope: 'pool', analyser: 'class-imbalance', status: 'ran', severity: 'ok', findings: 0, flagged: 0 },
      { scope: 'pool', analyser: 'duplicates', status: 'ran', severity: 'problem', findings: 5, flagged: 5 },
      { scope: 'pool', analyser: 'fairness', status: 'ran', severity: 'info', findings: 0, flagged: 0 },
      { scope: 'pool', analyser: 'label-errors', status: 'ran', severity: 'warning', findings: 60, flagged: 5 },
      { scope: 'pool', analyser: 'outliers', status: 'skipped', severity: null, findings: null, flagged: null },
    ]);
    const fig = await rows(conn, `SELECT scope, value, text FROM figures WHERE analyser = 'label-errors' AND figure IN ('flagged', 'method') ORDER BY scope, figure`);
    expect(fig).toEqual([
      { scope: 'pool', value: 5, text: null }, { scope: 'pool', value: null, text: 'confident learning' },
      { scope: 'subset', value: 2, text: null }, { scope: 'subset', value: null, text: 'confident learning' },
    ]);
    // The per-group extra table keeps the (missing) group (rows 0, 7, …, 56) and its numbers.
    const groups = await rows(conn, `SELECT "group", rows::INTEGER AS rows FROM fairness_per_group WHERE scope = 'pool' ORDER BY "group"`);
    expect(groups).toEqual([{ group: '(missing)', rows: 9 }, { group: 'north', rows: 25 }, { group: 'south', rows: 26 }]);
    const audit = await rows(conn, `SELECT scope, rows::INTEGER AS rows, subset_file, folds::INTEGER AS folds FROM audit ORDER BY scope`);
    expect(audit).toEqual([{ scope: 'pool', rows: 60, subset_file: null, folds: 5 }, { scope: 'subset', rows: 30, subset_file: 'picked.csv', folds: 5 }]);
    conn.closeSync();
    instance.closeSync();
  });

  it('writes every row of a large findings table', async () => {
    const big = makeSplit(5000, 3);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    await writeAuditTables(conn, { pool: reportFor(big) });
    const [r] = await rows(conn, `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, sum(flagged::INTEGER)::INTEGER AS flagged FROM findings_label_errors`);
    expect(r).toEqual({ n: 5000, ids: 5000, flagged: 5 });
    // Row order and values survive the chunked append across 2,048-row chunks.
    const [last] = await rows(conn, `SELECT id, given_label FROM findings_label_errors WHERE id = 'r4999'`);
    expect(last).toEqual({ id: 'r4999', given_label: big.split.classNames[big.split.labels[4999]] });
    conn.closeSync();
    instance.closeSync();
  });

  it('keeps a --db file that reopens with DuckDB, and leaves nothing on failure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sieve-db-'));
    const path = join(dir, 'audit.duckdb');
    await writeAuditDb(path, bundle());
    expect(await readdir(dir)).toEqual(['audit.duckdb']);
    const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    expect(await rows(conn, `SELECT count(*)::INTEGER AS n FROM findings_duplicates WHERE scope = 'subset'`)).toEqual([{ n: 2 }]);
    conn.closeSync();
    instance.closeSync();

    // Two extra tables with the same name: refused, and the existing file stays as it was.
    const before = await readFile(path);
    const broken = bundle();
    broken.pool.results[3].tables.push({ name: 'per_group', rows: [{ a: 1 }] });
    await expect(writeAuditDb(path, broken)).rejects.toThrow(/fairness_per_group/);
    expect(await readdir(dir)).toEqual(['audit.duckdb']);
    expect((await readFile(path)).equals(before)).toBe(true);

    // A path that is not a DuckDB file yet but exists as something else is replaced whole.
    const other = join(dir, 'other.duckdb');
    await writeFile(other, 'not a database');
    await writeAuditDb(other, { pool: reportFor(fx) });
    const i2 = await DuckDBInstance.create(other, { access_mode: 'READ_ONLY' });
    const c2 = await i2.connect();
    expect(await rows(c2, `SELECT count(*)::INTEGER AS n FROM summary`)).toEqual([{ n: 5 }]);
    c2.closeSync();
    i2.closeSync();
  });

  it('names tables as SQL identifiers', () => {
    expect(sqlName('label-errors')).toBe('label_errors');
    expect(sqlName('Per Group (sex)')).toBe('per_group_sex');
    expect(sqlName('2x')).toBe('t_2x');
  });
});
