/**
 * bench/import-stream: `sieve pool import` of a large CSV against DuckDB's own `read_csv` of the
 * same file, measured in the same run, alternating (ABAB) so shared load hits both alike.
 *
 * The CSV (id, label, 6 numeric columns, 1 categorical; about 58 bytes a row) is generated into
 * a temporary directory and deleted afterwards. Each side runs in its own process under
 * /usr/bin/time -v, which gives its peak RSS.
 *   sieve:     the full import (byte scan, staging, checks, Parquet output)
 *   reference: DuckDB read_csv of the same file into a table (same column types: text), the
 *              floor any DuckDB-based import pays
 * Then the same rows as an Arrow IPC file (record batches of 65,536 rows; `--arrow-mb`, 0 to
 * skip), imported by sieve (one record batch at a time) against apache-arrow's own
 * `tableFromIPC` of the whole file (the whole-file read the importer did before), ABAB too.
 *   node --import tsx bench/import-stream.ts [--mb 1024] [--arrow-mb 256] [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Dictionary, Field, Float64, Int32, RecordBatch, RecordBatchFileWriter, Schema, Struct, Utf8, makeData, vectorFromArray, type Data } from 'apache-arrow';
import { printTable } from '../src/util/output.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MB = arg('mb', 1024);
const ARROW_MB = arg('arrow-mb', 256);
const ROUNDS = arg('rounds', 3);
const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync('/usr/bin/time')) {
  console.log('bench/import-stream: skipped — /usr/bin/time (GNU time) is needed to measure peak memory');
  process.exit(0);
}

async function writeCsv(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path);
  out.write('id,label,x0,x1,x2,x3,x4,x5,colour\n');
  let s = 12345;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  let written = 0;
  let rows = 0;
  const colours = ['red', 'green', 'blue'];
  while (written < bytes) {
    const lines: string[] = [];
    for (let k = 0; k < 10000; k++, rows++) {
      const f: string[] = [];
      for (let j = 0; j < 6; j++) f.push((r() * 100).toFixed(3));
      lines.push(`r${rows},${r() < 0.5 ? 'a' : 'b'},${f.join(',')},${colours[rows % 3]}`);
    }
    const chunk = lines.join('\n') + '\n';
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((res) => out.once('drain', () => res()));
  }
  await new Promise<void>((res) => out.end(() => res()));
  return rows;
}

/** The CSV's rows as an Arrow IPC file, written a record batch at a time; returns the row count. */
async function writeArrow(path: string, bytes: number): Promise<number> {
  const colour = new Dictionary(new Utf8(), new Int32(), 0);
  const colours = vectorFromArray(['red', 'green', 'blue'], new Utf8());
  const fields = [new Field('id', new Utf8()), new Field('label', new Utf8()), ...[0, 1, 2, 3, 4, 5].map((j) => new Field(`x${j}`, new Float64())), new Field('colour', colour)];
  const schema = new Schema(fields);
  const writer = new RecordBatchFileWriter();
  const out = createWriteStream(path);
  const done = new Promise<void>((res, rej) => out.on('finish', () => res()).on('error', rej));
  writer.toNodeStream().pipe(out);
  let s = 12345;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const B = 65536;
  let rows = 0;
  // About 75 bytes a row: 48 of doubles, id and label with their offsets, the colour index.
  while (rows * 75 < bytes) {
    const data: Data[] = [
      vectorFromArray(Array.from({ length: B }, (_, i) => `r${rows + i}`), new Utf8()).data[0],
      vectorFromArray(Array.from({ length: B }, () => (r() < 0.5 ? 'a' : 'b')), new Utf8()).data[0],
      ...[0, 1, 2, 3, 4, 5].map(() => makeData({ type: new Float64(), length: B, data: Float64Array.from({ length: B }, () => Math.round(r() * 1e5) / 1e3) })),
      makeData({ type: colour, length: B, nullCount: 0, data: Int32Array.from({ length: B }, (_, i) => (rows + i) % 3), dictionary: colours }),
    ];
    writer.write(new RecordBatch(schema, makeData({ type: new Struct(fields), length: B, nullCount: 0, children: data })));
    rows += B;
    // Let the file stream drain so the generator holds a batch or two, not the file.
    await new Promise<void>((res) => setImmediate(res));
  }
  writer.finish();
  await done;
  return rows;
}

/** Runs a command under GNU time; returns wall seconds and peak RSS in MB. */
function timed(args: string[]): { seconds: number; rssMb: number } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', ...args], { encoding: 'utf8', maxBuffer: 1 << 26, cwd: join(here, '..') });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  return { seconds, rssMb: m ? Number(m[1]) / 1024 : NaN };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tmp = mkdtempSync(join(tmpdir(), 'sieve-bench-stream-'));
try {
  const csv = join(tmp, 'big.csv');
  const rows = await writeCsv(csv, MB * 1e6 * 1.048576);
  const size = statSync(csv).size;
  console.log(`generated ${(size / 1e6).toFixed(0)} MB, ${rows.toLocaleString('en')} rows; ${ROUNDS} rounds, ABAB`);
  const columns = `{'id':'VARCHAR','label':'VARCHAR',${[0, 1, 2, 3, 4, 5].map((j) => `'x${j}':'VARCHAR'`).join(',')},'colour':'VARCHAR'}`;
  const refScript =
    `import { DuckDBInstance } from '@duckdb/node-api';` +
    `const i = await DuckDBInstance.create(':memory:', { memory_limit: '512MB', temp_directory: ${JSON.stringify(join(tmp, 'duck'))} });` +
    `const c = await i.connect();` +
    `await c.run(\`CREATE TABLE t AS SELECT * FROM read_csv('${csv}', header = true, auto_detect = false, columns = ${columns}, delim = ',', quote = '"', escape = '"', strict_mode = true)\`);` +
    `const r = await c.runAndReadAll('SELECT count(*) FROM t'); if (Number(r.getRows()[0][0]) !== ${rows}) process.exit(3);`;
  const sieve = [process.execPath, join(here, '..', 'bin', 'sieve.mjs'), 'pool', 'import', csv, '--out', join(tmp, 'pool'), '--overwrite', '--json'];
  const reference = [process.execPath, '--input-type=module', '-e', refScript];
  const a: { seconds: number; rssMb: number }[] = [];
  const b: { seconds: number; rssMb: number }[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    a.push(timed(sieve));
    b.push(timed(reference));
    console.log(`round ${k + 1}: sieve ${a[k].seconds.toFixed(1)} s / ${a[k].rssMb.toFixed(0)} MB, read_csv ${b[k].seconds.toFixed(1)} s / ${b[k].rssMb.toFixed(0)} MB`);
  }
  const rate = (s: number) => Math.round(rows / s).toLocaleString('en');
  printTable(
    ['', 'median s', 'rows/s', 'median peak RSS (MB)'],
    [
      ['sieve pool import (scan, stage, check, write Parquet)', median(a.map((x) => x.seconds)).toFixed(1), rate(median(a.map((x) => x.seconds))), median(a.map((x) => x.rssMb)).toFixed(0)],
      ['reference: DuckDB read_csv into a table', median(b.map((x) => x.seconds)).toFixed(1), rate(median(b.map((x) => x.seconds))), median(b.map((x) => x.rssMb)).toFixed(0)],
    ],
  );
  const ratios = a.map((x, k) => x.seconds / b[k].seconds);
  console.log(`import / read_csv time: median ratio ${median(ratios).toFixed(2)}× (per round: ${ratios.map((x) => x.toFixed(2)).join(', ')})`);
  console.log(`peak RSS: sieve ${median(a.map((x) => x.rssMb)).toFixed(0)} MB for a ${(size / 1e6).toFixed(0)} MB file (target: within 1 GB)`);
  rmSync(csv);
  rmSync(join(tmp, 'pool'), { recursive: true, force: true });

  if (ARROW_MB > 0) {
    const arrow = join(tmp, 'big.arrow');
    const arrowRows = await writeArrow(arrow, ARROW_MB * 1e6 * 1.048576);
    const arrowSize = statSync(arrow).size;
    console.log(`\nArrow: generated ${(arrowSize / 1e6).toFixed(0)} MB, ${arrowRows.toLocaleString('en')} rows in record batches of 65,536; ${ROUNDS} rounds, ABAB`);
    const arrowUrl = pathToFileURL(createRequire(import.meta.url).resolve('apache-arrow')).href;
    const refArrow =
      `import { tableFromIPC } from ${JSON.stringify(arrowUrl)}; import { readFileSync } from 'node:fs';` +
      `const t = tableFromIPC(readFileSync(${JSON.stringify(arrow)})); if (t.numRows !== ${arrowRows}) process.exit(3);`;
    const sieveArrow = [process.execPath, join(here, '..', 'bin', 'sieve.mjs'), 'pool', 'import', arrow, '--out', join(tmp, 'pool'), '--overwrite', '--json'];
    const c: { seconds: number; rssMb: number }[] = [];
    const d: { seconds: number; rssMb: number }[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      c.push(timed(sieveArrow));
      d.push(timed([process.execPath, '--input-type=module', '-e', refArrow]));
      console.log(`round ${k + 1}: sieve ${c[k].seconds.toFixed(1)} s / ${c[k].rssMb.toFixed(0)} MB, tableFromIPC ${d[k].seconds.toFixed(1)} s / ${d[k].rssMb.toFixed(0)} MB`);
    }
    printTable(
      ['', 'median s', 'rows/s', 'median peak RSS (MB)'],
      [
        ['sieve pool import of the Arrow file (batch by batch)', median(c.map((x) => x.seconds)).toFixed(1), Math.round(arrowRows / median(c.map((x) => x.seconds))).toLocaleString('en'), median(c.map((x) => x.rssMb)).toFixed(0)],
        ['reference: apache-arrow tableFromIPC of the whole file', median(d.map((x) => x.seconds)).toFixed(1), Math.round(arrowRows / median(d.map((x) => x.seconds))).toLocaleString('en'), median(d.map((x) => x.rssMb)).toFixed(0)],
      ],
    );
    const arrowRatios = c.map((x, k) => x.seconds / d[k].seconds);
    const rssRatios = c.map((x, k) => x.rssMb / d[k].rssMb);
    console.log(`Arrow import / tableFromIPC time: median ratio ${median(arrowRatios).toFixed(2)}×; peak RSS ratio ${median(rssRatios).toFixed(2)}× (per round: ${rssRatios.map((x) => x.toFixed(2)).join(', ')})`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
