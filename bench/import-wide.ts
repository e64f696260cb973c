/**
 * bench/import-wide: `sieve pool import` of wide CSVs (1,000 / 5,000 / 20,000 numeric columns,
 * 100 rows) against DuckDB's own `read_csv` of the same file into a table, measured in the same
 * run, alternating (ABAB) so shared load hits both alike. Each side runs in its own process
 * under /usr/bin/time -v, which gives its peak RSS.
 *   sieve:     the full import (byte scan, staging, checks, Parquet output)
 *   reference: DuckDB read_csv of the file into a table, every column text (what the importer
 *              stages), the floor any DuckDB-based import pays
 *   node --import tsx bench/import-wide.ts [--columns 1000,5000,20000] [--rows 100] [--rounds 3]
 *                                          [--before DIR]   (also time the sieve checked out in DIR)
 *                                          [--limit-s 900]  (give up on a side after this long)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTable } from '../src/util/output.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const WIDTHS = arg('columns', '1000,5000,20000').split(',').map(Number);
const ROWS = Number(arg('rows', '100'));
const ROUNDS = Number(arg('rounds', '3'));
const BEFORE = process.argv.includes('--before') ? resolve(arg('before', '')) : undefined;
const LIMIT_S = Number(arg('limit-s', '900'));
const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync('/usr/bin/time')) {
  console.log('bench/import-wide: skipped — /usr/bin/time (GNU time) is needed to measure peak memory');
  process.exit(0);
}

function writeCsv(path: string, cols: number): void {
  const lines = [['id', 'label', ...Array.from({ length: cols }, (_, j) => `x${j}`)].join(',')];
  let s = 12345;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < ROWS; i++) lines.push([`r${i}`, r() < 0.5 ? 'a' : 'b', ...Array.from({ length: cols }, () => (r() * 100).toFixed(2))].join(','));
  writeFileSync(path, lines.join('\n') + '\n');
}

interface Run { seconds: number; rssMb: number; ok: boolean }

/** Runs a command under GNU time (killed after LIMIT_S); returns wall seconds and peak RSS in MB. */
function timed(args: string[], cwd: string): Run {
  const t0 = performance.now();
  // timeout(1) inside time(1): the measured process itself is killed, not only its parent.
  const r = spawnSync('/usr/bin/time', ['-v', 'timeout', '-s', 'KILL', String(LIMIT_S), ...args], { encoding: 'utf8', maxBuffer: 1 << 26, cwd });
  const seconds = (performance.now() - t0) / 1000;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  const killed = /Command terminated by signal 9|exit status 137|Exit status: 137/.test(r.stderr ?? '');
  if (killed) return { seconds, rssMb: m ? Number(m[1]) / 1024 : NaN, ok: false };
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${(r.stderr ?? '').slice(-2000)}`);
  return { seconds, rssMb: m ? Number(m[1]) / 1024 : NaN, ok: r.status === 0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tmp = mkdtempSync(join(tmpdir(), 'sieve-bench-wide-'));
const table: string[][] = [];
try {
  for (const cols of WIDTHS) {
    const csv = join(tmp, `wide-${cols}.csv`);
    writeCsv(csv, cols);
    console.log(`${cols.toLocaleString('en')} columns × ${ROWS} rows: ${(statSync(csv).size / 1e6).toFixed(1)} MB; ${ROUNDS} rounds, ABAB`);
    const spec = `{'id':'VARCHAR','label':'VARCHAR',${Array.from({ length: cols }, (_, j) => `'x${j}':'VARCHAR'`).join(',')}}`;
    // The script goes to a file: as one argument it would pass Linux's 128 KiB limit per argument.
    const refScript =
      `import { DuckDBInstance } from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('@duckdb/node-api')).href)};` +
      `const i = await DuckDBInstance.create(':memory:', { temp_directory: ${JSON.stringify(join(tmp, 'duck'))} });` +
      `const c = await i.connect();` +
      `await c.run(\`CREATE TABLE t AS SELECT * FROM read_csv('${csv}', header = true, auto_detect = false, columns = ${spec}, delim = ',', quote = '"', escape = '"', strict_mode = true)\`);` +
      `const r = await c.runAndReadAll('SELECT count(*) FROM t'); if (Number(r.getRows()[0][0]) !== ${ROWS}) process.exit(3);`;
    const refFile = join(tmp, 'read-csv.mjs');
    writeFileSync(refFile, refScript);
    const sieveIn = (repo: string) => [process.execPath, join(repo, 'bin', 'sieve.mjs'), 'pool', 'import', csv, '--out', join(tmp, repo === BEFORE ? 'pool-before' : 'pool'), '--overwrite', '--json'];
    const a: Run[] = [];
    const b: Run[] = [];
    const before: Run[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      a.push(timed(sieveIn(join(here, '..')), join(here, '..')));
      b.push(timed([process.execPath, refFile], join(here, '..')));
      // The old importer once (it can take many minutes), after the first pair.
      if (BEFORE && k === 0) before.push(timed(sieveIn(BEFORE), BEFORE));
      console.log(
        `  round ${k + 1}: sieve ${a[k].seconds.toFixed(1)} s / ${a[k].rssMb.toFixed(0)} MB, read_csv ${b[k].seconds.toFixed(1)} s / ${b[k].rssMb.toFixed(0)} MB` +
          (before[k] ? `, before ${before[k].ok ? '' : '> '}${before[k].seconds.toFixed(1)} s / ${before[k].rssMb.toFixed(0)} MB` : ''),
      );
    }
    const ratios = a.map((x, k) => x.seconds / b[k].seconds);
    table.push([
      cols.toLocaleString('en'),
      median(a.map((x) => x.seconds)).toFixed(1),
      median(a.map((x) => x.rssMb)).toFixed(0),
      median(b.map((x) => x.seconds)).toFixed(1),
      median(b.map((x) => x.rssMb)).toFixed(0),
      `${median(ratios).toFixed(2)}×`,
      before.length ? `${before[0].ok ? '' : '> '}${before[0].seconds.toFixed(1)}` : '-',
    ]);
  }
  printTable(['columns', 'sieve s', 'sieve MB', 'read_csv s', 'read_csv MB', 'time ratio (median)', 'before s'], table);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
