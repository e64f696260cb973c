/**
 * `sieve embed` on a text pool with the committed tiny BERT-like model: the new column's shape
 * and datasheet, bit-identical results run to run, resuming an interrupted run from its
 * finished chunks, the errors for a missing or mismatched model and a missing stack, and
 * embed → audit → evaluate through the command line.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { embedPool } from '../src/embed/service.ts';
import { loadTransformers, resolveModel } from '../src/embed/runtime.ts';
import { hashFile } from '../src/pool/manifest.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { cacheDir } from '../src/util/cache-dir.ts';
import { SieveError } from '../src/util/errors.ts';
import { EMBED_STACK, ROOT, TINY_BERT, TINY_VIT, spamTextPool } from './embed-helpers.ts';
import { tempDir } from './pool-helpers.ts';

const execFileP = promisify(execFile);

async function sieve(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { cwd, env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const sha = async (p: string) => (await hashFile(p)).sha256;

describe.skipIf(!EMBED_STACK)('sieve embed, text', () => {
  let dir: string;
  let source: string;
  let first: string;
  beforeAll(async () => {
    dir = tempDir('sieve-embed-');
    source = await spamTextPool(dir);
    first = join(dir, 'first');
    await embedPool({ pool: source, column: 'text', model: TINY_BERT, batch: 16, out: first });
  }, 120_000);

  it('adds a FLOAT[64] column of unit vectors to both splits, as a new version that records the model', async () => {
    const src = await openPool(source);
    const pool = await openPool(first);
    const m = pool.manifest;
    expect(m.version).toBe('2');
    expect(m.features.map((f) => [f.name, f.kind, f.dim])).toEqual([['text', 'text', undefined], ['text_emb', 'embedding', 64]]);
    const rec = m.datasheet.embeddings![0];
    expect(rec).toMatchObject({ column: 'text_emb', source_column: 'text', modality: 'text', model: 'tiny-bert', dtype: 'fp32', pooling: 'mean', normalised: true, dim: 64, batch: 16, library: '@huggingface/transformers' });
    expect(rec.library_version).toBe('4.3.2');
    expect(rec.derived_from).toEqual({ name: src.manifest.name, version: '1', content_hash: src.manifest.content_hash });
    const onnx = rec.model_files.find((f) => f.path === 'onnx/model.onnx')!;
    expect(onnx.sha256).toBe(await sha(join(TINY_BERT, 'onnx', 'model.onnx')));
    expect(rec.model_files.map((f) => f.path)).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']);
    expect(m.datasheet.preprocessing).toContain('sieve embed');
    for (const split of ['train', 'test'] as const) {
      const s = await readSplit(pool, split, { columns: ['text_emb'] });
      expect(s.n).toBe(src.manifest.splits[split]!.rows);
      expect(s.d).toBe(64);
      for (let i = 0; i < s.n; i++) {
        let norm = 0;
        for (let j = 0; j < 64; j++) norm += s.features[i * 64 + j] ** 2;
        expect(Math.abs(Math.sqrt(norm) - 1)).toBeLessThan(1e-5);
      }
      // The source rows are carried over unchanged.
      const before = await readSplit(src, split, { columns: ['text'] });
      expect(s.ids).toEqual(before.ids);
    }
    // Different messages get different vectors (not a constant).
    const s = await readSplit(pool, 'train', { columns: ['text_emb'] });
    expect(Array.from(s.features.subarray(0, 64))).not.toEqual(Array.from(s.features.subarray(64, 128)));
  });

  it('gives the same bits on a second run (byte-identical Parquet files)', async () => {
    const again = join(dir, 'again');
    await embedPool({ pool: source, column: 'text', model: TINY_BERT, batch: 16, out: again });
    expect(await sha(join(again, 'train.parquet'))).toBe(await sha(join(first, 'train.parquet')));
    expect(await sha(join(again, 'test.parquet'))).toBe(await sha(join(first, 'test.parquet')));
    expect((await openPool(again)).manifest.content_hash).toBe((await openPool(first)).manifest.content_hash);
  });

  it('keeps finished chunks when interrupted and reuses them on the next run, to the same bits', async () => {
    // A cache folder of its own: other test files' runs (other workers) share the suite's.
    const previous = process.env.SIEVE_CACHE;
    process.env.SIEVE_CACHE = tempDir('sieve-embed-cache-');
    try {
      await resumeRun();
    } finally {
      process.env.SIEVE_CACHE = previous;
    }
  });

  async function resumeRun(): Promise<void> {
    const out = join(dir, 'resumed');
    const stop = new AbortController();
    const seen: boolean[] = [];
    const err = await embedPool({
      pool: source, column: 'text', model: TINY_BERT, batch: 16, chunkRows: 32, out, signal: stop.signal,
      onChunk: (c) => {
        seen.push(c.reused);
        if (seen.length === 2) stop.abort();
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect((err as SieveError).message).toMatch(/interrupted; finished chunks are kept/);
    expect(existsSync(out)).toBe(false);
    const chunks = readdirSync(join(cacheDir(), 'embed'), { recursive: true }).filter((f) => String(f).endsWith('.f32'));
    expect(chunks.length).toBe(2);
    // Progress counts only what this run embeds: totals shrink by the reused rows, ticks add up to the rest.
    const totals: number[] = [];
    let ticked = 0;
    let step = '';
    const progress = {
      start: (t: number, label = '') => {
        step = label;
        if (label.startsWith('embedding')) totals.push(t);
      },
      tick: (u = 1) => void (step.startsWith('embedding') && (ticked += u)),
      stop() {},
    };
    const r = await embedPool({ pool: source, column: 'text', model: TINY_BERT, batch: 16, chunkRows: 32, out, progress });
    expect(r.reusedChunks).toBe(2);
    expect(ticked).toBe(180 - 64);
    expect(totals.slice(0, 3)).toEqual([135, 103, 71]);
    expect(r.computedChunks).toBe(Math.ceil(135 / 32) - 2 + Math.ceil(45 / 32));
    expect(r.computedRows).toBe(180 - 64);
    // Chunk boundaries are multiples of the batch, so every row went through the same batches.
    expect(await sha(join(out, 'train.parquet'))).toBe(await sha(join(first, 'train.parquet')));
    expect(await sha(join(out, 'test.parquet'))).toBe(await sha(join(first, 'test.parquet')));
    // Done: the chunks are gone.
    expect(readdirSync(join(cacheDir(), 'embed'), { recursive: true }).filter((f) => String(f).endsWith('.f32'))).toEqual([]);
  }

  it('without --out replaces a pool in place as its next version, and never a built-in pool', async () => {
    const copy = join(dir, 'in-place');
    cpSync(source, copy, { recursive: true });
    const before = (await openPool(copy)).manifest;
    const r = await embedPool({ pool: copy, column: 'text', model: TINY_BERT, batch: 16 });
    expect(r.out).toBe(copy);
    const after = (await openPool(copy)).manifest;
    expect([after.version, after.features.length, after.datasheet.embeddings![0].derived_from.content_hash]).toEqual(['2', 2, before.content_hash]);
    expect(readdirSync(dir).filter((f) => f.startsWith('.in-place'))).toEqual([]);
    // The same bits as into a new folder.
    expect(await sha(join(copy, 'train.parquet'))).toBe(await sha(join(first, 'train.parquet')));
    await expect(embedPool({ pool: 'spam-assassin', column: 'text', model: TINY_BERT })).rejects.toThrow(/"spam-assassin" is a built-in pool and is never changed in place; say where the new version goes with --out DIR/);
    await expect(embedPool({ pool: copy, column: 'text', model: TINY_BERT, out: join(dir, 'x') })).rejects.toThrow(/already has a column "text_emb"; name the new one with --as NAME/);
  });

  it('says where it looked for a missing model and how to provide one, and refuses a model of the other modality', async () => {
    const models = tempDir('sieve-models-');
    const err = (() => {
      try {
        resolveModel('someone/no-such-model', { env: { SIEVE_MODELS: models } });
      } catch (e) {
        return e as SieveError;
      }
    })()!;
    expect(err).toBeInstanceOf(SieveError);
    expect(err.message).toBe('model "someone/no-such-model" not found (nothing is downloaded without --allow-download)');
    expect(err.where).toBe(join(models, 'someone', 'no-such-model'));
    expect(err.examples.join('\n')).toMatch(/--model DIR/);
    expect(err.examples.join('\n')).toContain(`copy it to ${join(models, 'someone', 'no-such-model')} (or set $SIEVE_MODELS)`);
    expect(err.examples.join('\n')).toMatch(/--allow-download/);
    const noWeights = tempDir('sieve-model-');
    writeFileSync(join(noWeights, 'config.json'), '{"model_type":"bert"}');
    expect(() => resolveModel(noWeights)).toThrow(/has no ONNX weights/);
    await expect(embedPool({ pool: source, column: 'text', model: TINY_VIT, out: join(dir, 'wrong') })).rejects.toThrow(/takes images .* but column "text" holds text/);
    // A tokenizer beside another model's graph (an image graph): the user's folder, said so, not an internal error.
    const mixed = tempDir('sieve-model-mixed-');
    cpSync(TINY_BERT, mixed, { recursive: true });
    cpSync(join(TINY_VIT, 'onnx'), join(mixed, 'onnx'), { recursive: true });
    const wrong = await embedPool({ pool: source, column: 'text', model: mixed, out: join(dir, 'mixed') }).catch((e) => e);
    expect(wrong).toBeInstanceOf(SieveError);
    expect(wrong.message).toMatch(/^model ".*" cannot embed text: its ONNX graph refused the tokenizer's inputs \(.*pixel_values/);
    expect(existsSync(join(dir, 'mixed'))).toBe(false);
    // A text model without its tokenizer.json: named in sieve's words, not transformers.js's options.
    const noTokenizer = tempDir('sieve-model-no-tokenizer-');
    cpSync(TINY_BERT, noTokenizer, { recursive: true });
    rmSync(join(noTokenizer, 'tokenizer.json'));
    const lacking = await embedPool({ pool: source, column: 'text', model: noTokenizer, out: join(dir, 'lacking') }).catch((e) => e);
    expect(lacking).toBeInstanceOf(SieveError);
    expect(lacking.message).toMatch(/its folder has no tokenizer\.json \(a text model's tokenizer files/);
    expect(lacking.message).not.toMatch(/local_files_only|allowRemoteModels/);
  });

  it('without the stack, the error gives the one-line install command', async () => {
    const err = await loadTransformers({ extrasDir: tempDir('sieve-no-extras-') }).catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect(err.message).toMatch(/the embedding stack \(@huggingface\/transformers 4\.3\.2 .*\) is not installed; install it once with:\n {4}ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix \S+/);
    // The pinned version is the one the extras package pins.
    expect(JSON.parse(readFileSync(join(ROOT, 'extras', 'embed', 'package.json'), 'utf8')).dependencies['@huggingface/transformers']).toBe('4.3.2');
  });

  it('embed → audit → evaluate from the command line', async () => {
    const out = join(dir, 'cli');
    const e = await sieve(['embed', source, '--column', 'text', '--model', TINY_BERT, '--batch', '16', '--out', out], dir);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/wrote pool "spam-small" version 2/);
    expect(e.stdout).toMatch(/180 rows, 180 embedded in this run at [\d,]+ rows\/s/);
    expect(await sha(join(out, 'train.parquet'))).toBe(await sha(join(first, 'train.parquet')));
    const audit = await sieve(['audit', out, '--only', 'class-imbalance,duplicates,outliers', '--json'], dir);
    expect(audit.code, audit.stderr).toBe(0);
    const report = JSON.parse(audit.stdout).pool;
    expect(report.rows).toBe(135);
    expect(report.analysers.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['class-imbalance', 'duplicates', 'outliers']));
    writeFileSync(join(dir, 'challenge.yaml'), [
      'name: spam-small-select', 'version: 1', 'title: Small spam selection', 'description: test', `pool: ${out}`,
      'task: selection', 'budget: { rows: 60 }', 'metrics: { primary: accuracy, direction: max, report: [macro_f1] }',
      'model: { kind: logistic-regression, params: { l2: 0.1, max_iter: 50 }, seeds: [0, 1] }',
      'test: { public_fraction: 0.5, seed: 0 }', 'bootstrap: { samples: 50, seed: 0 }', '',
    ].join('\n'));
    const train = await readSplit(await openPool(out), 'train', { columns: [] });
    writeFileSync(join(dir, 'ids.csv'), 'id\n' + train.ids.filter((_, i) => i % 2 === 0).slice(0, 60).join('\n') + '\n');
    const ev = await sieve(['evaluate', join(dir, 'challenge.yaml'), join(dir, 'ids.csv'), '--json'], dir);
    expect(ev.code, ev.stderr).toBe(0);
    const rec = JSON.parse(ev.stdout);
    expect(rec.pool).toMatchObject({ name: 'spam-small', content_hash: (await openPool(out)).manifest.content_hash });
    expect(rec.test.rows).toBe(45);
    const acc = rec.metrics.accuracy;
    expect(acc.ci95[0]).toBeLessThanOrEqual(acc.mean);
    expect(acc.mean).toBeGreaterThan(0.5);
  }, 120_000);
});
