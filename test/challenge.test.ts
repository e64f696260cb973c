import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isClosed, listChallenges, loadChallenge, parseChallengeText } from '../src/challenge/load.ts';
import { SieveError } from '../src/util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-chal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = `
name: toy
version: 1
title: Toy
pool: ./toy-pool
task: selection
budget: { rows: 10 }
model: { kind: logistic-regression, params: { l2: 1 }, seeds: [0, 1] }
metrics: { primary: accuracy, direction: max, report: [macro_f1] }
test: { public_fraction: 0.5 }
`;

function errorOf(text: string): SieveError {
  try {
    parseChallengeText(text, 'toy.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(SieveError);
    return err as SieveError;
  }
  throw new Error('expected the spec to be rejected');
}

describe('challenge specs', () => {
  it('loads every built-in challenge with its pool, task and budget', async () => {
    const all = await listChallenges();
    const byName = new Map(all.map((c) => [c.name, c]));
    expect([...byName.keys()].sort()).toEqual(['credit-fair', 'fashion-concept', 'fashion-debug', 'fashion-debug-mlp', 'fashion-relabel', 'fashion-select', 'spam-select', 'synth-teach']);
    expect(byName.get('fashion-relabel')!).toMatchObject({ task: 'relabel', pool: 'fashion-relabel', budget: { corrections: 300 } });
    expect(byName.get('spam-select')!).toMatchObject({ task: 'selection', pool: 'spam-assassin', budget: { rows: 300 } });
    for (const name of ['fashion-select', 'fashion-debug', 'synth-teach', 'fashion-relabel', 'spam-select'])
      expect(byName.get(name)!.variants!.pools.length, name).toBeGreaterThanOrEqual(3);
    expect(byName.get('fashion-concept')!.metrics).toMatchObject({ rules: 'dataperf', primary: 'f1[Shirt]', positive_class: 'Shirt' });
    expect(byName.get('fashion-concept')!.one_vs_rest).toBe('Shirt');
    expect(byName.get('fashion-debug')!.metrics.rules).toBe('sieve');
    const fs = byName.get('fashion-select')!;
    expect(fs.pool).toBe('fashion-mnist');
    expect(fs.task).toBe('selection');
    expect(fs.budget.rows).toBe(1000);
    expect(fs.model.seeds).toEqual([0, 1, 2, 3, 4]);
    expect(fs.specSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(byName.get('fashion-debug')!.task).toBe('ranking');
    expect(byName.get('fashion-debug')!.model.preprocess.pca).toBe(64);
    expect(byName.get('credit-fair')!.groups).toEqual(['sex', 'age_band']);
    for (const c of all) expect(c.builtin).toBe(true);
  });

  it('fills defaults and resolves a relative pool path against the yaml', async () => {
    const cdir = join(dir, 'toy');
    mkdirSync(cdir, { recursive: true });
    writeFileSync(join(cdir, 'challenge.yaml'), base);
    const byDir = await loadChallenge(cdir);
    const byFile = await loadChallenge(join(cdir, 'challenge.yaml'));
    expect(byDir.poolRef).toBe(join(cdir, 'toy-pool'));
    expect(byFile.specSha256).toBe(byDir.specSha256);
    expect(byDir.bootstrap).toEqual({ samples: 1000, seed: 0 });
    expect(byDir.test.seed).toBe(0);
    expect(byDir.groups).toEqual([]);
    expect(byDir.builtin).toBe(false);
  });

  it('names the field path of each schema problem', () => {
    expect(errorOf(base.replace('budget: { rows: 10 }', '')).examples).toContain('budget.rows: selection needs budget.rows');
    expect(errorOf(base.replace('seeds: [0, 1]', 'seeds: [0, -1]')).examples[0]).toMatch(/^model\.seeds\[1\]: /);
    expect(errorOf(base.replace('seeds: [0, 1]', 'seeds: [3, 3]')).examples[0]).toBe('model.seeds[1]: duplicate seed 3');
    expect(errorOf(base.replace('task: selection', 'task: sorting')).examples[0]).toMatch(/^task: /);
    expect(errorOf(base + 'colour: blue\n').examples[0]).toMatch(/colour/);
    expect(errorOf(base.replace('direction: max', 'direction: min')).examples[0]).toMatch(/^metrics\.direction: accuracy is better when higher/);
    expect(errorOf(base.replace('report: [macro_f1]', 'report: [macro_f1, worst_group_accuracy]')).examples[0]).toBe(
      'metrics.report[1]: worst_group_accuracy needs at least one column in groups',
    );
    expect(errorOf(base.replace('report: [macro_f1]', 'report: [speed]')).examples[0]).toMatch(/^metrics\.report\[0\]: "speed" is not a metric: expected a metric family/);
    expect(errorOf(base.replace('primary: accuracy', 'primary: acuracy')).examples[0]).toMatch(/^metrics\.primary: "acuracy" is not a metric/);
    expect(errorOf(base.replace('primary: accuracy', 'primary: f1')).examples[0]).toMatch(/^metrics\.primary: f1 has one value per class/);
    expect(errorOf(base.replace('report: [macro_f1]', 'report: [auc]')).examples[0]).toMatch(/ranking metric/);
    expect(errorOf(base.replace('public_fraction: 0.5', 'public_fraction: 1.5')).examples[0]).toMatch(/^test\.public_fraction: /);
    expect(errorOf(base + 'closes: next tuesday\n').examples[0]).toMatch(/^closes: an ISO date/);
    // A time without its zone would close at another instant on a machine in another zone.
    expect(errorOf(base + 'closes: 2030-12-04T02:30:00\n').examples[0]).toMatch(/^closes: a time needs its time zone, e\.g\. 2030-12-31T16:00:00Z/);
    const fair = base.replace('report: [macro_f1]', 'report: [demographic_parity_gap]') + 'groups: [sex]\n';
    expect(errorOf(fair).examples[0]).toBe('metrics.report[0]: demographic_parity_gap needs metrics.positive_class');
    expect(errorOf(base.replace('report: [macro_f1]', 'report: ["worst_group_accuracy[age]"]') + 'groups: [sex]\n').examples[0]).toMatch(
      /"age" is not listed in groups/,
    );
  });

  it('scoring rules: sieve by default; dataperf needs the official primary, every-fix refits, a binary concept', () => {
    expect(parseChallengeText(base, 'toy.yaml').metrics.rules).toBe('sieve');
    const ranking = base.replace('budget: { rows: 10 }', 'budget: {}').replace('task: selection', 'task: ranking');
    const dp = (metrics: string, extra = '') => ranking.replace(/metrics: .*/, `metrics: ${metrics}`) + extra;
    expect(parseChallengeText(dp('{ rules: dataperf, primary: dataperf_fraction_fixes, direction: min, report: [auc] }'), 't').metrics.rules).toBe('dataperf');
    expect(errorOf(dp('{ rules: dataperf, primary: auc, direction: max }')).examples.join('\n')).toMatch(/metrics.primary: DataPerf's debugging rules rank by dataperf_fraction_fixes/);
    expect(errorOf(dp('{ primary: auc, direction: max, report: [dataperf_fraction_fixes] }', 'ranking: { step: 5 }\n')).examples.join('\n'))
      .toMatch(/metrics.report\[0\]: dataperf_fraction_fixes follows DataPerf's refit after every fix; it needs ranking.step 1, not 5/);
    expect(errorOf(dp('{ primary: dataperf_fraction_fixes, direction: max }')).message).toMatch(/better when lower; use min/);
    const sel = (metrics: string, extra = '') => base.replace(/metrics: .*/, `metrics: ${metrics}`) + extra;
    const noConcept = errorOf(sel('{ rules: dataperf, primary: "f1[Shirt]", direction: max, positive_class: Shirt }')).examples.join('\n');
    expect(noConcept).toMatch(/one_vs_rest: DataPerf's selection task is binary/);
    expect(errorOf(sel('{ rules: dataperf, primary: accuracy, direction: max, positive_class: Shirt }', 'one_vs_rest: Shirt\n')).examples.join('\n'))
      .toMatch(/rank by the positive class's F1, f1\[Shirt\], not accuracy/);
    expect(errorOf(sel('{ rules: dataperf, primary: "f1[Bag]", direction: max, positive_class: Bag }', 'one_vs_rest: Shirt\n')).examples.join('\n'))
      .toMatch(/the positive class of a one_vs_rest challenge is Shirt, not Bag/);
    expect(errorOf(sel('{ rules: nist, primary: accuracy, direction: max }')).examples.join('\n')).toMatch(/metrics.rules/);
  });

  it('checks model hyperparameters with the evaluator when loading', async () => {
    const cdir = join(dir, 'typo');
    mkdirSync(cdir, { recursive: true });
    writeFileSync(join(cdir, 'challenge.yaml'), base.replace('params: { l2: 1 }', 'params: { l2: 1, max_iters: 50 }'));
    const err = await loadChallenge(cdir).catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect(err.message).toMatch(/model\.params\.max_iters: logistic-regression: unknown parameter.*max_iters/);
  });

  it('rejects YAML syntax errors and non-mapping documents with the file name', () => {
    const e = errorOf('name: [unclosed\n');
    expect(e.message).toMatch(/invalid YAML/);
    expect(e.where).toBe('toy.yaml');
    expect(errorOf('- a\n- b\n').message).toMatch(/must be a YAML mapping/);
  });

  it('says which challenges exist when a name is unknown', async () => {
    const err = await loadChallenge('no-such-challenge').catch((e) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect(err.message).toMatch(/unknown challenge "no-such-challenge"/);
    expect(err.examples[0]).toMatch(/fashion-select/);
  });

  it('is closed only after its closing date', () => {
    expect(isClosed({ closes: '2020-01-01' })).toBe(true);
    expect(isClosed({ closes: '2999-01-01' })).toBe(false);
    expect(isClosed({})).toBe(false);
    expect(isClosed({ closes: '2030-06-01' }, new Date('2030-06-02T00:00:00Z'))).toBe(true);
  });
});

describe('sieve challenge info', () => {
  it('shows both limits, and notes a pool whose test split participants could read', async () => {
    const { spawnSync } = await import('node:child_process');
    const { writeTinyChallenge } = await import('./fixtures/tiny-challenge.ts');
    const parent = mkdtempSync(join(tmpdir(), 'sieve-challenge-info-'));
    try {
      const open = await writeTinyChallenge(parent, { name: 'open-test', openTest: true, limits: '{ submissions_per_day: 4, submissions_total: 5 }' });
      const hidden = await writeTinyChallenge(parent, { name: 'hidden-test' });
      const info = (dir: string) => spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), 'challenge', 'info', dir], { encoding: 'utf8', env: { ...process.env, CI: '1', COLUMNS: '200' } });
      const a = info(open.dir);
      expect(a.status, a.stderr).toBe(0);
      expect(a.stdout).toMatch(/limits\s+│ 4 submissions per day, 5 in all per participant \(enforced by sieve serve\)/);
      expect(a.stdout).toContain("note: the pool's test split is participant-visible");
      const b = info(hidden.dir);
      expect(b.status, b.stderr).toBe(0);
      expect(b.stdout).not.toContain('participant-visible');
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  }, 60_000);
});
