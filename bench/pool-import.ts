/**
 * bench/pool-import: the full Fashion-MNIST (60,000 + 10,000 images) from its four gzipped
 * IDX files to a pool — what `sieve pool build fashion-mnist --from DIR` does — then the
 * train split read back into a Float32Array.
 *
 * Reference measured in the same run: gunzipping the four files with node:zlib and nothing
 * else, the floor any IDX import pays; the import is printed as a ratio to it.
 *
 * Data: --from DIR, else $SIEVE_DATA/fashion-mnist (default: ../shared/data beside the
 * repository, as the README says); exits 0 with a message when the files are not there.
 *   node --import tsx bench/pool-import.ts [--from DIR]
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FASHION_DEFAULT_FROM, FASHION_ZSTD_LEVEL, fashionMnistDraft, loadFashionSource } from '../pools/recipes/fashion-mnist.ts';
import { writePool } from '../src/pool/write.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { printTable } from '../src/util/output.ts';

const argFrom = process.argv.indexOf('--from');
const dir = argFrom > 0 ? process.argv[argFrom + 1] : FASHION_DEFAULT_FROM;
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const paths = FILES.map((f) => (existsSync(join(dir, `${f}.gz`)) ? join(dir, `${f}.gz`) : join(dir, f)));
if (!paths.every((p) => existsSync(p))) {
  console.log(`bench/pool-import: skipped — the Fashion-MNIST IDX files are not in ${dir} (pass --from DIR, or set SIEVE_DATA to the folder holding fashion-mnist/)`);
  process.exit(0);
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const tmp = await mkdtemp(join(tmpdir(), 'sieve-bench-import-'));
try {
  // Reference: decompression only.
  let t0 = performance.now();
  let rawBytes = 0;
  for (const p of paths) {
    const buf = await readFile(p);
    rawBytes += p.endsWith('.gz') ? gunzipSync(buf).length : buf.length;
  }
  const gunzipS = seconds(t0);

  t0 = performance.now();
  const src = await loadFashionSource(dir);
  const parseS = seconds(t0);
  t0 = performance.now();
  const draft = fashionMnistDraft(src, { full: true });
  const tablesS = seconds(t0);
  t0 = performance.now();
  const out = join(tmp, 'fashion-mnist-full');
  const m = await writePool(out, draft, { compressionLevel: FASHION_ZSTD_LEVEL.full });
  const writeS = seconds(t0);
  const importS = parseS + tablesS + writeS;
  const rows = m.splits.train.rows + (m.splits.test?.rows ?? 0);

  t0 = performance.now();
  const train = await readSplit(await openPool(out), 'train');
  const readS = seconds(t0);

  const bytes = m.files.reduce((s, f) => s + f.bytes, 0);
  console.log(`Fashion-MNIST from ${dir}: ${rows.toLocaleString('en')} images, ${(rawBytes / 1e6).toFixed(1)} MB raw IDX → ${(bytes / 1e6).toFixed(1)} MB of zstd-${FASHION_ZSTD_LEVEL.full} Parquet`);
  const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');
  printTable(
    ['phase', 'seconds', 'rows/s'],
    [
      ['reference: gunzip the 4 IDX files (node:zlib)', gunzipS.toFixed(2), rate(rows, gunzipS)],
      ['read + gunzip + parse IDX', parseS.toFixed(2), rate(rows, parseS)],
      ['build tables (ids, labels, pixel BLOBs)', tablesS.toFixed(2), rate(rows, tablesS)],
      ['write pool (DuckDB → Parquet, hash)', writeS.toFixed(2), rate(rows, writeS)],
      ['IDX → pool, total', importS.toFixed(2), rate(rows, importS)],
      [`read back train (${train.n} × ${train.d} Float32Array)`, readS.toFixed(2), rate(train.n, readS)],
    ],
  );
  console.log(`IDX → pool: ${importS.toFixed(2)} s, ${rate(rows, importS)} rows/s = ${(importS / gunzipS).toFixed(1)}× the gunzip-only reference`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
