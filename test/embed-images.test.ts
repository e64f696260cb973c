/**
 * An image folder → `sieve pool import` → `sieve embed` with the committed tiny ViT-like model
 * → `sieve audit` (thumbnails in the HTML report) → `sieve evaluate`, all from the command line,
 * on real Fashion-MNIST images written as PNG, JPEG and WebP files.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashFile } from '../src/pool/manifest.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { EMBED_STACK, ROOT, TINY_BERT, TINY_VIT } from './embed-helpers.ts';
import { fashionImageFolder } from './image-fixtures.ts';
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

describe.skipIf(!EMBED_STACK)('sieve embed, images', () => {
  let dir: string;
  let pool: string;
  beforeAll(async () => {
    dir = tempDir('sieve-embed-img-');
    const folder = await fashionImageFolder(dir, { perClass: 20 });
    // Pictures filed under two classes: the audit must see the duplicates and their conflict.
    for (const bag of readdirSync(join(folder, 'Bag')).slice(0, 4)) copyFileSync(join(folder, 'Bag', bag), join(folder, 'Sneaker', `copy-of-${bag}`));
    pool = join(dir, 'images');
    const r = await sieve(['pool', 'import', folder, '--out', pool, '--image-size', '32x32x3', '--test-fraction', '0.25'], dir);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('embeds the images into unit vectors, the same bits twice, then audits (with thumbnails) and evaluates', async () => {
    const out = join(dir, 'embedded');
    const e = await sieve(['embed', pool, '--column', 'image', '--model', TINY_VIT, '--batch', '8', '--out', out], dir);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/64 rows, 64 embedded in this run at [\d,]+ rows\/s/);
    const m = (await openPool(out)).manifest;
    expect(m.features.map((f) => [f.name, f.kind, f.dim ?? f.width])).toEqual([['image', 'pixels', 32], ['image_emb', 'embedding', 48]]);
    expect(m.datasheet.embeddings![0]).toMatchObject({ source_column: 'image', modality: 'image', model: 'tiny-vit', pooling: 'pooler_output', normalised: true, dim: 48, batch: 8 });
    expect(m.datasheet.embeddings![0].model_files.map((f) => f.path)).toEqual(['config.json', 'preprocessor_config.json', 'onnx/model.onnx']);
    const s = await readSplit(await openPool(out), 'train', { columns: ['image_emb'] });
    for (let i = 0; i < s.n; i++) {
      let norm = 0;
      for (let j = 0; j < 48; j++) norm += s.features[i * 48 + j] ** 2;
      expect(Math.abs(Math.sqrt(norm) - 1)).toBeLessThan(1e-5);
    }
    // A duplicated picture has the same vector in both classes.
    const pairs = s.ids.flatMap((id, a) => (id.startsWith('Sneaker/copy-of-') ? [[a, s.ids.indexOf(`Bag/${id.slice('Sneaker/copy-of-'.length)}`)]] : [])).filter(([, b]) => b >= 0);
    expect(pairs.length).toBeGreaterThan(0);
    for (const [a, b] of pairs) expect(Array.from(s.features.subarray(a * 48, a * 48 + 48))).toEqual(Array.from(s.features.subarray(b * 48, b * 48 + 48)));

    const again = join(dir, 'again');
    const e2 = await sieve(['embed', pool, '--column', 'image', '--model', TINY_VIT, '--batch', '8', '--out', again, '--json'], dir);
    expect(e2.code, e2.stderr).toBe(0);
    expect(JSON.parse(e2.stdout).run.rows_per_second).toBeGreaterThan(0);
    for (const f of ['train.parquet', 'test.parquet']) expect((await hashFile(join(again, f))).sha256).toBe((await hashFile(join(out, f))).sha256);

    // A text model on a pixels column is refused before any work.
    const wrong = await sieve(['embed', pool, '--column', 'image', '--model', TINY_BERT, '--out', join(dir, 'wrong')], dir);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/takes text \(it has a tokenizer, no preprocessor_config.json\), but column "image" holds pixels/);

    const html = join(dir, 'report.html');
    const audit = await sieve(['audit', out, '--only', 'duplicates,class-imbalance', '--html', html, '--json'], dir);
    expect(audit.code, audit.stderr).toBe(0);
    const dup = JSON.parse(audit.stdout).pool.analysers.find((x: { name: string }) => x.name === 'duplicates');
    expect(dup.severity).toBe('problem');
    expect(readFileSync(html, 'utf8')).toMatch(/<img class="thumb" src="data:image\/png;base64,[A-Za-z0-9+/=]+" width="96" height="96"/);

    writeFileSync(join(dir, 'challenge.yaml'), [
      'name: images-select', 'version: 1', 'title: Image selection', 'description: test', `pool: ${out}`,
      'task: selection', 'budget: { rows: 30 }', 'metrics: { primary: accuracy, direction: max, report: [macro_f1] }',
      'model: { kind: logistic-regression, params: { l2: 1, max_iter: 50 }, seeds: [0, 1] }',
      'test: { public_fraction: 0.5, seed: 0 }', 'bootstrap: { samples: 50, seed: 0 }', '',
    ].join('\n'));
    writeFileSync(join(dir, 'ids.csv'), 'id\n' + s.ids.filter((_, i) => i % 3 !== 0).slice(0, 30).join('\n') + '\n');
    const ev = await sieve(['evaluate', join(dir, 'challenge.yaml'), join(dir, 'ids.csv'), '--json'], dir);
    expect(ev.code, ev.stderr).toBe(0);
    const rec = JSON.parse(ev.stdout);
    expect(rec.pool.content_hash).toBe(m.content_hash);
    expect(rec.metrics.accuracy.mean).toBeGreaterThan(1 / 3);
  }, 240_000);
});
