/**
 * `sieve audit --pred-probs FILE`: the reader's strict validation (every problem reported at
 * once, with first rows), the three formats, and the audit using the file instead of the
 * built-in cross-validation (header, JSON and the label-error flags computed from it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { readPredProbs } from '../src/audit/pred-probs.ts';
import { withDb } from '../src/pool/duckdb.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { SieveError } from '../src/util/errors.ts';
import { labelErrors, scoreLabelErrors } from '../src/analysers/label-errors.ts';
import { createAuditContext } from '../src/analysers/context.ts';
import { defaultOosModel } from '../src/analysers/oos.ts';
import type { Progress } from '../src/util/progress.ts';

const quiet: Progress = { start() {}, tick() {}, stop() {} };

const ROOT = resolve(import.meta.dirname, '..');
const execFileP = promisify(execFile);
const pool = { ids: ['a', 'b', 'c', 'd'], classNames: ['cat', 'dog', 'bird'], name: 'tiny' };
let dir: string;

beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'sieve-pred-probs-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function csv(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function rejection(p: Promise<unknown>): Promise<SieveError> {
  try { await p; } catch (err) { if (err instanceof SieveError) return err; throw err; }
  throw new Error('expected a SieveError');
}

describe('pred-probs reader', () => {
  it('reads a valid CSV in any row and column order, into pool order, rescaled to sum to 1', async () => {
    const text = 'dog,id,cat,bird\n0.2,c,0.7,0.1\n0.5,a,0.25,0.25\n0.1,d,0.1,0.8\n0.6,b,0.2,0.2002\n';
    const p = await csv('ok.csv', text);
    const r = await readPredProbs(p, pool);
    expect(r.n).toBe(4);
    expect(r.k).toBe(3);
    expect(Array.from(r.proba.subarray(0, 3))).toEqual([0.25, 0.5, 0.25]);
    expect(r.proba[2 * 3]).toBeCloseTo(0.7, 6);
    expect(r.proba[3 * 3 + 2]).toBeCloseTo(0.8, 6);
    const b = Array.from(r.proba.subarray(3, 6));
    expect(b[0] + b[1] + b[2]).toBeCloseTo(1, 6);
    expect(r.source).toEqual({ file: p, format: 'csv', sha256: createHash('sha256').update(text).digest('hex') });
  });

  it('reports every problem of a broken file at once, with the first offending rows', async () => {
    const p = await csv('bad.csv', [
      'id,cat,dog,bird',
      'a,0.5,0.5,0',      // fine
      'a,0.2,0.3,0.5',    // duplicate id
      'zz,0.2,0.3,0.5',   // unknown id
      'b,1.1,-0.1,0',     // over 1 and negative (sums to 1)
      'c,NaN,0.5,0.5',    // not finite
      'c2,x,0.5,0.5',     // unknown id and not a number
      ',0.2,0.3,0.5',     // empty id
      'd,0.2,0.2,0.2',    // sums to 0.6
    ].join('\n') + '\n');
    const e = await rejection(readPredProbs(p, pool));
    const m = e.message;
    expect(m).toMatch(/1 duplicate ids: line 3: "a" \(first at line 2\)/);
    expect(m).toMatch(/2 unknown ids \(not train rows of tiny\): line 4: "zz"; line 7: "c2"/);
    expect(m).toMatch(/1 empty ids: line 8/);
    expect(m).toMatch(/1 negative values: line 5, "dog": -0.1/);
    expect(m).toMatch(/1 values over 1: line 5, "cat": 1.1/);
    expect(m).toMatch(/1 values that are not finite: line 6, "cat": NaN/);
    expect(m).toMatch(/1 values that are not numbers: line 7, "cat": "x"/);
    expect(m).toMatch(/1 rows whose probabilities do not sum to 1 \(within 0.001\): line 9: sums to 0.600000/);
    expect(m).toMatch(/kinds of problem/);
    expect(e.count).toBe(9);
    // b and c have rows, but rejected ones; every train id still appears once, so none is "missing".
    expect(m).not.toMatch(/missing ids/);
  });

  it('checks ids and values even when a column is extra', async () => {
    const e = await rejection(readPredProbs(await csv('extra.csv', 'id,cat,dog,bird,fish\na,1,0,0,0\nq,1,0,0,0\nq,1,0,0,0\nb,0.5,0.6,0,0\n'), pool));
    expect(e.message).toMatch(/1 extra columns .*"fish"/);
    expect(e.message).toMatch(/1 unknown ids .*line 3: "q"/);
    expect(e.message).toMatch(/1 duplicate ids: line 4: "q" \(first at line 3\)/);
    expect(e.message).toMatch(/2 train rows with no row in the file \(missing ids\): "c"; "d"/);
    expect(e.message).toMatch(/line 5: sums to 1.10000/);
  });

  it('names missing, extra and duplicate columns and missing ids', async () => {
    const e = await rejection(readPredProbs(await csv('cols.csv', 'id,cat,Dog,fish,fish\na,1,0,0,0\n'), pool));
    expect(e.message).toMatch(/duplicate column names: "fish" × 2/);
    expect(e.message).toMatch(/missing class columns .*: "dog"; "bird"/);
    expect(e.message).toMatch(/extra columns .*: "Dog"; "fish"; "fish"/);
    // pandas' index written as a first column without a name; a file separated by ";".
    const indexed = await rejection(readPredProbs(await csv('pandas.csv', ',id,cat,dog,bird\n0,a,1,0,0\n1,b,0,1,0\n2,c,0,0,1\n3,d,1,0,0\n'), pool));
    expect(indexed.message).toMatch(/1 extra columns .*pandas' index: write the file with index=False/);
    const semi = await rejection(readPredProbs(await csv('semi.csv', 'id;cat;dog;bird\na;1;0;0\nb;0,5;0,5;0\n'), pool));
    expect(semi.examples.join('\n')).toMatch(/the header looks separated by ";"/);
    const noId = await rejection(readPredProbs(await csv('noid.csv', 'row,cat,dog,bird\na,1,0,0\n'), pool));
    expect(noId.message).toMatch(/no "id" column/);
    expect(noId.message).toMatch(/extra columns .*"row"/);
    const missing = await rejection(readPredProbs(await csv('short.csv', 'id,cat,dog,bird\na,1,0,0\nc,0,1,0\n'), pool));
    expect(missing.message).toMatch(/2 train rows with no row in the file \(missing ids\): "b"; "d"/);
    const infinite = await rejection(readPredProbs(await csv('inf.csv', 'id,cat,dog,bird\na,1,0,0\nb,inf,0,0\nc,0,1,0\nd,0,,1\n'), pool));
    expect(infinite.message).toMatch(/1 values that are not finite: line 3, "cat": inf/);
    expect(infinite.message).toMatch(/1 missing values: line 5, "dog"/);
  });

  it('rejects unknown extensions, empty files and a Parquet name on other bytes', async () => {
    expect((await rejection(readPredProbs(await csv('p.xlsx', 'x'), pool))).message).toMatch(/cannot tell the format/);
    expect((await rejection(readPredProbs(await csv('e.csv', ''), pool))).message).toMatch(/empty/);
    expect((await rejection(readPredProbs(await csv('fake.parquet', 'id,cat\n'), pool))).message).toMatch(/not a Parquet file/);
  });

  it('reads Parquet and Arrow files with the same result as CSV', async () => {
    const text = 'id,cat,dog,bird\na,0.5,0.25,0.25\nb,0.2,0.6,0.2\nc,0.7,0.2,0.1\nd,0.1,0.1,0.8\n';
    const fromCsv = await readPredProbs(await csv('same.csv', text), pool);
    const pq = join(dir, 'same.parquet');
    await withDb(async (conn) => {
      await conn.run(`COPY (SELECT * FROM read_csv('${join(dir, 'same.csv')}', header = true)) TO '${pq}' (FORMAT parquet)`);
    });
    const fromPq = await readPredProbs(pq, pool);
    expect(fromPq.source.format).toBe('parquet');
    expect(Array.from(fromPq.proba)).toEqual(Array.from(fromCsv.proba));
    const arrow = join(dir, 'same.arrow');
    const t = tableFromArrays({
      id: ['d', 'c', 'b', 'a'], cat: Float32Array.from([0.1, 0.7, 0.2, 0.5]), dog: Float64Array.from([0.1, 0.2, 0.6, 0.25]), bird: Float64Array.from([0.8, 0.1, 0.2, 0.25]),
    });
    await writeFile(arrow, tableToIPC(t, 'file'));
    const fromArrow = await readPredProbs(arrow, pool);
    expect(fromArrow.source.format).toBe('arrow');
    for (let i = 0; i < fromCsv.proba.length; i++) expect(fromArrow.proba[i]).toBeCloseTo(fromCsv.proba[i], 6);
  });
});

describe('sieve audit --pred-probs', () => {
  it('uses the file instead of cross-validation and says so in the header and the JSON', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train');
    const k = train.classNames.length;
    // A "model" of the user's own: confident of the given label except on every 7th row.
    const proba = new Float32Array(train.n * k);
    const lines = [['id', ...train.classNames].join(',')];
    for (let i = 0; i < train.n; i++) {
      const y = i % 7 === 0 ? (train.labels[i] + 1) % k : train.labels[i];
      for (let j = 0; j < k; j++) proba[i * k + j] = j === y ? 0.9 : 0.1 / (k - 1);
      lines.push([train.ids[i], ...Array.from(proba.subarray(i * k, (i + 1) * k), (v) => String(v))].join(','));
    }
    const file = await csv('gc.csv', lines.join('\n') + '\n');
    const run = (extra: string[]) => execFileP(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'audit', 'german-credit', '--pred-probs', file, '--only', 'label-errors', ...extra], {
      cwd: dir, env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024,
    });
    const j = JSON.parse((await run(['--json', '--top', '1000'])).stdout);
    const report = j.pool ?? j;
    expect(report.predictions.sha256).toBe(createHash('sha256').update(lines.join('\n') + '\n').digest('hex'));
    expect(report.folds).toBe(0);
    // The header block names the file, not a model that never ran.
    expect(report.oos_model).toMatchObject({ source: 'predictions', file, format: 'csv', sha256: report.predictions.sha256 });
    expect(report.oos_model.model).toBeUndefined();
    const le = report.analysers.find((a: { name: string }) => a.name === 'label-errors');
    expect(String(le.figures.oos_model)).toMatch(/^file /);
    // The same flags as the analyser run in-process on the same matrix.
    const model = defaultOosModel('logistic-regression', 'tabular', 0);
    const ctx = createAuditContext({
      poolName: 'german-credit', train, model, folds: 5, seed: 0, progress: quiet,
      computeOos: () => { throw new Error('must not cross-validate'); },
      probabilities: { proba, n: train.n, k, folds: 0, seed: 0, model, source: { file, format: 'csv', sha256: report.predictions.sha256 } },
    });
    const inProcess = await labelErrors.run(ctx, labelErrors.defaults);
    expect(le.figures.flagged).toBe(inProcess.summary.figures.flagged);
    expect(le.figures.flagged).toBeGreaterThan(0);
    // Without neighbours the flags are exactly the rows whose "model" disagrees with the label.
    const plain = scoreLabelErrors({ labels: train.labels, proba, n: train.n, k }, { knnK: 0 });
    expect(plain.mask.reduce((a, v) => a + v, 0)).toBe(Math.ceil(train.n / 7));
    const human = (await run([])).stdout;
    expect(human).toMatch(/out-of-sample probabilities: from .*gc\.csv \(csv, sha256\s+[0-9a-f]{64}\)/); // the line wraps at the terminal width
  }, 120_000);

  it('on a pixel pool too the file is used as it is: no blend with the neighbours\' labels, the flags of confident learning on it alone', async () => {
    const train = await readSplit(await openPool('fashion-debug'), 'train');
    const k = train.classNames.length;
    // A weak "model": 0.15 on the given label (0.2 on another on every 5th row), the rest spread.
    // The neighbours' labels would sharpen it, so the built-in blend would take them in.
    const lines = [['id', ...train.classNames].join(',')];
    const proba = new Float32Array(train.n * k);
    for (let i = 0; i < train.n; i++) {
      const y = train.labels[i], other = (y + 1 + (i % (k - 1))) % k;
      for (let j = 0; j < k; j++) proba[i * k + j] = i % 5 === 0 ? (j === y ? 0.1 : j === other ? 0.2 : 0.7 / (k - 2)) : j === y ? 0.15 : 0.85 / (k - 1);
      lines.push([train.ids[i], ...Array.from(proba.subarray(i * k, (i + 1) * k), (v) => String(v))].join(','));
    }
    const file = await csv('fd.csv', lines.join('\n') + '\n');
    const out = await execFileP(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), 'audit', 'fashion-debug', '--pred-probs', file, '--only', 'label-errors', '--json'], {
      cwd: dir, env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024,
    });
    const j = JSON.parse(out.stdout);
    const le = (j.pool ?? j).analysers.find((a: { name: string }) => a.name === 'label-errors');
    expect(le.figures.knn_weight).toBe(0);
    const plain = scoreLabelErrors({ labels: train.labels, proba, n: train.n, k }, { knnK: 0 });
    expect(le.figures.flagged).toBe(plain.mask.reduce((a, v) => a + v, 0));
  }, 120_000);
});
