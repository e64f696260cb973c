/**
 * A pool with numeric columns and a free-text column (a tasting note of random words: no
 * signal), clean labels and five planted extreme rows, imported from CSV and audited as a
 * user would. Standardised column by column, the 2,048 hashed TF-IDF columns of the note
 * outweighed the 13 numeric ones: a tryout's wine file had 19 of 150 clean labels called
 * wrong and its 15-SD rows missed. The text blocks now enter as they are (unit norm each).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createRng } from '../compute/rng.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const sieve = (args: string[], cwd: string) => run(process.execPath, [join(ROOT, 'bin', 'sieve.mjs'), ...args], { cwd, env: { ...process.env, CI: '1' }, maxBuffer: 64 << 20 });

describe('audit of numeric columns beside a free-text column', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sieve-mixed-text-'));
    const rng = createRng(4);
    const words = 'fruity oak tannin berry cherry smoke vanilla citrus earthy floral spice honey leather mineral plum'.split(' ');
    const d = 13;
    const centres = [0, 1, 2].map(() => Array.from({ length: d }, () => 1.5 * rng.normal()));
    const lines = [`id,${Array.from({ length: d }, (_, j) => `x${j}`).join(',')},note,label`];
    for (let i = 0; i < 155; i++) {
      const c = i % 3;
      // Rows 150–154: 15 standard deviations out in every column.
      const x = i < 150 ? centres[c].map((m) => (m + rng.normal()).toFixed(4)) : centres[c].map(() => '25');
      const note = Array.from({ length: 3 + Math.floor(rng.uniform() * 6) }, () => words[Math.floor(rng.uniform() * words.length)]).join(' ');
      lines.push(`${i < 150 ? `r${i}` : `x${i - 150}`},${x.join(',')},${note},class ${['one', 'two', 'three'][c]}`);
    }
    await writeFile(join(dir, 'wine.csv'), lines.join('\n') + '\n');
    await sieve(['pool', 'import', 'wine.csv', '--out', 'pool'], dir);
  }, 60_000);
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  it('calls no clean label wrong, finds the planted rows, and says how the text enters the model', async () => {
    const { stdout } = await sieve(['audit', 'pool', '--only', 'label-errors,label-errors-knn,outliers', '--json', '--top', 'all'], dir);
    const r = JSON.parse(stdout).pool;
    expect(r.oos_model.features).toMatch(/13 numeric, 2048 hashed TF-IDF of note\), standardised but for the TF-IDF blocks/);
    const by = (name: string) => r.analysers.find((a: { name: string }) => a.name === name);
    expect(by('label-errors').figures.flagged).toBeLessThanOrEqual(3);
    expect(by('label-errors-knn').figures.flagged).toBeLessThanOrEqual(5);
    const outliers = by('outliers').findings.rows.filter((f: { flagged: boolean }) => f.flagged).map((f: { id: string }) => f.id);
    for (const id of ['x0', 'x1', 'x2', 'x3', 'x4']) expect(outliers).toContain(id);
  }, 120_000);
});
