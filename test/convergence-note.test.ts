/**
 * The convergence note (src/evaluate/convergence.ts): a fixed model that stops at its iteration
 * limit on most fits gets a one-line note in `sieve evaluate` and `sieve baselines`, and the
 * record / --json carry it. A tiny max_iter on german-credit makes every fit stop at the limit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergenceNote } from '../src/evaluate/convergence.ts';
import { openPool, readSplit } from '../src/pool/read.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-convergence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sieve = (...args: string[]) =>
  spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
/** Printed prose wraps at 120 columns: compare with the line breaks and indents folded away. */
const flat = (s: string) => s.replace(/\s+/g, ' ');

const challenge = (params: string, preprocess = '{ standardize: true }') => `
name: tiny-iterations
version: 1
title: German credit with a two-iteration logistic regression
pool: german-credit
task: selection
budget: { rows: 400 }
model: { kind: logistic-regression, params: ${params}, preprocess: ${preprocess}, seeds: [0, 1] }
metrics: { primary: accuracy, direction: max }
test: { public_fraction: 0.5 }
baselines: [random, full-pool]
bootstrap: { samples: 20, seed: 0 }
`;

describe('convergence note', () => {
  it('counts distinct fits against the model declared limit; none for converged fits, kNN, the MLP or a ranking', () => {
    const lr = { kind: 'logistic-regression' as const, params: { max_iter: 5 } };
    const stopped = [{ iterations: 5 }, { iterations: 5 }, { iterations: 5 }];
    // Logistic regression uses no seed: the protocols' one fit stands for every seed.
    expect(convergenceNote(lr, stopped)).toMatchObject({ fits: 1, at_limit: 1, param: 'max_iter', limit: 5 });
    expect(convergenceNote(lr, stopped)!.note).toMatch(/the one fit \(for all 3 seeds: the model uses no seed\)/);
    // Baselines that draw rows per seed fit each seed on its own rows: most (2 of 3) is enough.
    expect(convergenceNote(lr, [{ iterations: 5 }, { iterations: 3 }, { iterations: 5 }], { perSeedRows: true }))
      .toMatchObject({ fits: 3, at_limit: 2 });
    expect(convergenceNote(lr, [{ iterations: 5 }, { iterations: 3 }, { iterations: 4 }], { perSeedRows: true })).toBeUndefined();
    expect(convergenceNote(lr, [{ iterations: 4 }])).toBeUndefined();
    expect(convergenceNote({ kind: 'logistic-regression', params: {} }, [{ iterations: 99 }])).toBeUndefined(); // default max_iter 100
    expect(convergenceNote({ kind: 'knn', params: {} }, [{ iterations: 0 }])).toBeUndefined();
    expect(convergenceNote({ kind: 'mlp', params: { epochs: 2 } }, [{ iterations: 2 }, { iterations: 2 }])).toBeUndefined();
    expect(convergenceNote(lr, { cold: 2, warm: 10, grid_points: 11, seconds: 1 })).toBeUndefined();
  });

  let spec: string, ids: string;
  beforeAll(async () => {
    const train = await readSplit(await openPool('german-credit'), 'train', { columns: [] });
    ids = join(dir, 'ids.txt');
    writeFileSync(ids, train.ids.slice(0, 300).join('\n') + '\n');
    spec = join(dir, 'challenge.yaml');
    writeFileSync(spec, challenge('{ l2: 1.0, max_iter: 2, tol: 0.0001 }'));
  });

  it('sieve evaluate prints it on one wrapped line and the record carries it', () => {
    const human = sieve('evaluate', spec, ids);
    expect(human.status, human.stderr).toBe(0);
    expect(flat(human.stdout)).toContain(
      'convergence the one fit (for all 2 seeds: the model uses no seed) stopped at the iteration limit (max_iter 2) short of convergence',
    );
    expect(flat(human.stdout)).toContain('the score is still the official one');
    for (const line of human.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
    const json = sieve('evaluate', spec, ids, '--json');
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).convergence).toMatchObject({ fits: 1, at_limit: 1, param: 'max_iter', limit: 2 });
  });

  it('sieve baselines adds the fits up in one note', () => {
    const r = sieve('baselines', spec, '--json');
    expect(r.status, r.stderr).toBe(0);
    const byName = Object.fromEntries(JSON.parse(r.stdout).baselines.map((b: { name: string }) => [b.name, b]));
    expect(byName.random.convergence).toMatchObject({ fits: 2, at_limit: 2 }); // a fresh draw per seed: two fits
    expect(byName['full-pool'].convergence).toMatchObject({ fits: 1, at_limit: 1 });
    const human = sieve('baselines', spec);
    expect(human.status, human.stderr).toBe(0);
    expect(flat(human.stdout)).toContain('convergence: 3 of 3 fits (random 2/2, full-pool 1/1) stopped at the iteration limit (max_iter 2) short of convergence');
  });

  it('a converged model gets no note; a model spec the evaluator refuses is reported against the challenge file', () => {
    const ok = join(dir, 'converged.yaml');
    writeFileSync(ok, challenge('{ l2: 1.0, max_iter: 200, tol: 0.0001 }'));
    const r = sieve('evaluate', ok, ids, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).convergence).toBeUndefined();
    const bad = join(dir, 'bad-pca.yaml');
    writeFileSync(bad, challenge('{}', '{ pca: 5000 }'));
    const refused = sieve('evaluate', bad, ids);
    expect(refused.status).not.toBe(0);
    expect(flat(refused.stderr)).toMatch(/the challenge's model spec is invalid: preprocess: 'pca' must be an integer between 1 and the input dimension \d+, got 5000/);
    expect(flat(refused.stderr)).toContain('model.preprocess.pca');
  });
});
