/**
 * The built-in strategy library (strategies/, src/strategy/library.ts): every strategy runs
 * through the ordinary strategy source (the same runners and sandbox as a user's copy) on a
 * small generated pool with every feature kind, for each task it declares, and its output
 * passes the submission rules; each file's header names its tasks as the registry does; the
 * strategies do what their headers say. `sieve strategy list | show | new` through the CLI,
 * and every starting file `new` writes runs as it is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkSubmission } from '../src/evaluate/runner.ts';
import { openPool, readSplit } from '../src/pool/read.ts';
import { writePool } from '../src/pool/write.ts';
import { LIBRARY, libraryPath, libraryText, librarySummary } from '../src/strategy/library.ts';
import { detectLayer } from '../src/strategy/sandbox/layers.ts';
import { strategyTemplate, TEMPLATE_KINDS, TEMPLATE_TASKS } from '../src/strategy/template.ts';
import { strategySource } from '../src/submission/sources/strategy.ts';
import { mixedDraft, tempDir } from './pool-helpers.ts';

const isolated = detectLayer().layer !== null;
const BIN = join(import.meta.dirname, '..', 'bin', 'sieve.mjs');
const sieve = (args: string[], cwd?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, CI: '1' } });

const dir = tempDir('sieve-library-');
const BUDGET = { selection: 'budget: { rows: 40 }', relabel: 'budget: { corrections: 15 }', ranking: 'budget: {}' } as const;

/** A challenge of `task` on the generated pool. */
function challengeFor(task: keyof typeof BUDGET): string {
  const path = join(dir, `${task}.yaml`);
  writeFileSync(path, [
    `name: mixed-${task}`, 'version: 1', `title: ${task} on a generated pool`, `pool: ${join(dir, 'pool')}`, `task: ${task}`, BUDGET[task],
    'model: { kind: logistic-regression, params: { l2: 1.0 }, preprocess: { standardize: true }, seeds: [3] }',
    `metrics: { primary: ${task === 'ranking' ? 'auc' : 'accuracy'}, direction: max }`, 'test: { public_fraction: 0.5 }', '',
  ].join('\n'));
  return path;
}

beforeAll(async () => {
  // 150 train rows with an embedding, pixels, a numeric, a categorical and a text column, and a
  // group. The embedding separates the classes; every tenth train label is then moved to the
  // next class, so confident learning has errors to find.
  const draft = mixedDraft(150, 40, 7);
  for (const table of [draft.tables.train!, draft.tables.test!]) {
    const labels = table.columns.find((c) => c.name === 'label')!.values as string[];
    const emb = table.columns.find((c) => c.name === 'emb')!.values as Float32Array;
    for (let i = 0; i < table.n; i++) emb[i * 4 + 'abc'.indexOf(labels[i])] += 4;
    if (table === draft.tables.train) for (let i = 0; i < table.n; i += 10) labels[i] = 'abc'[('abc'.indexOf(labels[i]) + 1) % 3];
    // Class a is mostly "m", the others mostly "f": the label depends on the group.
    const sex = table.columns.find((c) => c.name === 'sex')!.values as (string | null)[];
    for (let i = 0; i < table.n; i++) if (sex[i] !== null) sex[i] = (labels[i] === 'a') === (i % 7 < 5) ? 'm' : 'f';
  }
  await writePool(join(dir, 'pool'), draft);
});

describe('the built-in strategy library', () => {
  it('one file per registry line, each with a header naming what it does and its tasks', () => {
    const files = readdirSync(join(import.meta.dirname, '..', 'strategies')).sort();
    expect(files).toEqual(LIBRARY.map((e) => e.file).sort());
    expect(new Set(LIBRARY.map((e) => e.name)).size).toBe(LIBRARY.length);
    for (const e of LIBRARY) {
      const text = libraryText(e);
      const head = text.split('\n').slice(0, 14).join('\n');
      expect(head, e.name).toContain(`${e.name}: `);
      expect(librarySummary(text).length, e.name).toBeGreaterThan(20);
      const tasks = /Tasks: ([a-z, ]+)\./.exec(head)?.[1].split(', ');
      expect(tasks, e.name).toEqual([...e.tasks]);
      expect(text.split('\n').length, `${e.name} stays short`).toBeLessThan(60);
    }
  });

  for (const entry of LIBRARY) {
    for (const task of entry.tasks) {
      it(`${entry.name} (${task}) runs as a user's strategy would and its output passes every rule`, async () => {
        const source = strategySource(libraryPath(entry), { allowUnisolated: !isolated });
        const checked = await checkSubmission(challengeFor(task), source);
        const sub = checked.submission;
        expect(sub.task).toBe(task);
        if (task === 'ranking') expect(sub.indices.length).toBe(150);
        else expect(sub.indices.length).toBeGreaterThan(0);
        if (task === 'selection') expect(sub.indices.length).toBe(40);
        if (task === 'relabel') expect(sub.indices.length).toBeLessThanOrEqual(15);
        // Same strategy, same seed, same pool: the same output bit for bit.
        const again = await checkSubmission(challengeFor(task), source);
        expect(again.sha256).toBe(checked.sha256);
      });
    }
  }

  it('class-rebalance takes equal rows per class; fair-resample makes the label rate equal across groups', async () => {
    const pool = await openPool(join(dir, 'pool'));
    const train = await readSplit(pool, 'train');
    const counts = (rows: Int32Array, of: (i: number) => string) => {
      const m = new Map<string, number>();
      for (const i of rows) m.set(of(i), (m.get(of(i)) ?? 0) + 1);
      return m;
    };
    const run = async (name: string) => {
      const entry = LIBRARY.find((e) => e.name === name)!;
      return (await checkSubmission(challengeFor('selection'), strategySource(libraryPath(entry), { allowUnisolated: !isolated }))).submission.indices;
    };
    const balanced = await run('class-rebalance');
    // 40 rows over 3 classes: 14, 13, 13.
    expect([...counts(balanced, (i) => train.classNames[train.labels[i]]).values()].sort()).toEqual([13, 13, 14]);
    const fair = await run('fair-resample');
    const sex = train.groups.sex;
    const rate = (rows: Int32Array, g: string | null) => {
      const inG = [...rows].filter((i) => sex[i] === g);
      return inG.filter((i) => train.labels[i] === 0).length / inG.length;
    };
    const all = Int32Array.from({ length: train.n }, (_, i) => i);
    const spread = (rows: Int32Array) => {
      const r = [rate(rows, 'm'), rate(rows, 'f'), rate(rows, null)];
      return Math.max(...r) - Math.min(...r);
    };
    // Each (group, class) cell gets its share under independence, rounded: the rates agree to rounding.
    expect(spread(all)).toBeGreaterThan(0.3);
    expect(spread(fair)).toBeLessThan(0.1);
  });

  it('class-agreement leaves out the rows whose embedding sits with another class (the moved labels)', async () => {
    const entry = LIBRARY.find((e) => e.name === 'class-agreement')!;
    const picked = (await checkSubmission(challengeFor('selection'), strategySource(libraryPath(entry), { allowUnisolated: !isolated }))).submission.indices;
    expect(picked.length).toBe(40);
    // Rows 0, 10, 20, … carry the next class's label; a random 40 of 150 would hold about 4 of the 15.
    expect([...picked].filter((i) => i % 10 === 0)).toEqual([]);
  });
});

describe('sieve strategy list | show | new', () => {
  it('list names every strategy with its kind, tasks and summary; show prints the file; an unknown name is an error', () => {
    const list = sieve(['strategy', 'list', '--json']);
    expect(list.status, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { name: string; kind: string; tasks: string[]; summary: string; path: string }[];
    expect(rows.map((r) => r.name)).toEqual(LIBRARY.map((e) => e.name));
    for (const r of rows) {
      expect(['sql', 'ts']).toContain(r.kind);
      expect(existsSync(r.path)).toBe(true);
      expect(r.summary).not.toMatch(/^[-*/ ]/);
    }
    const table = sieve(['strategy', 'list']);
    expect(table.status, table.stderr).toBe(0);
    for (const e of LIBRARY) expect(table.stdout).toContain(e.name);
    const show = sieve(['strategy', 'show', 'k-center']);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toBe(readFileSync(libraryPath(LIBRARY.find((e) => e.name === 'k-center')!), 'utf8'));
    // challenge check names the strategy, not the CSV its output is held as internally.
    const check = sieve(['challenge', 'check', 'fashion-select', libraryPath(LIBRARY.find((e) => e.name === 'class-rebalance')!)]);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^ok: 1000 ids \(from the sql strategy\) pass every rule of fashion-select/);
    const unknown = sieve(['strategy', 'show', 'nope']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no built-in strategy "nope"[\s\S]*dedupe/);
  });

  it('new writes a commented file that runs as it is, and refuses to overwrite it', async () => {
    const cwd = tempDir('sieve-new-');
    const r = sieve(['strategy', 'new', 'mine', '--kind', 'ts', '--task', 'ranking'], cwd);
    expect(r.status, r.stderr).toBe(0);
    const path = join(cwd, 'mine.ts');
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^\/\*\*\n \* mine: /);
    expect(text).toContain('export function rank(');
    expect(readdirSync(cwd)).toEqual(['mine.ts']); // no temporary left
    const checked = await checkSubmission(challengeFor('ranking'), strategySource(path, { allowUnisolated: !isolated }));
    expect(checked.submission.indices.length).toBe(150);
    writeFileSync(path, '// mine, edited\n' + text);
    const again = sieve(['strategy', 'new', 'mine', '--kind', 'ts', '--task', 'ranking'], cwd);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists; sieve strategy new never overwrites/);
    expect(readFileSync(path, 'utf8')).toBe('// mine, edited\n' + text);
    const wrong = sieve(['strategy', 'new', 'x.sql', '--kind', 'ts'], cwd);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/ends in \.sql, but --kind ts writes a \.ts file/);
    const badKind = sieve(['strategy', 'new', 'y', '--kind', 'py'], cwd);
    expect(badKind.status).not.toBe(0);
    expect(readdirSync(cwd).sort()).toEqual(['mine.ts']);
  });

  for (const kind of TEMPLATE_KINDS) {
    for (const task of TEMPLATE_TASKS) {
      it(`the ${kind} ${task} starting file runs as it is`, async () => {
        const path = join(dir, `start-${task}.${kind}`);
        writeFileSync(path, strategyTemplate(`start-${task}`, kind, task, kind === 'ts' ? '../src/strategy/context.ts' : null));
        const checked = await checkSubmission(challengeFor(task), strategySource(path, { allowUnisolated: !isolated }));
        expect(checked.submission.task).toBe(task);
        expect(checked.submission.indices.length).toBeGreaterThan(0);
      });
    }
  }
});
