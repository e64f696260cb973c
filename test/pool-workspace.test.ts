/** Named pools in the workspace: `sieve pool import FILE --name NAME`, then NAME anywhere a pool goes. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProjectWorkspace, userDataDir } from '../src/pool/resolve.ts';
import { tempDir } from './pool-helpers.ts';

function sieve(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'sieve.mjs'), ...args], {
    encoding: 'utf8',
    cwd,
    env: { ...process.env, SIEVE_WORKSPACE: join(cwd, 'ws') },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('workspace pools', () => {
  it('imports into the workspace by name and resolves the name afterwards', () => {
    const dir = tempDir('sieve-ws-');
    const rows = ['id,label,x,y', ...Array.from({ length: 12 }, (_, i) => `r${i},${i % 2 ? 'yes' : 'no'},${i / 10},${(i * 7) % 5}`)];
    writeFileSync(join(dir, 'd.csv'), rows.join('\n') + '\n');

    const imported = sieve(dir, 'pool', 'import', 'd.csv', '--name', 'mine', '--json');
    expect(imported.status, imported.stderr).toBe(0);
    expect(existsSync(join(dir, 'ws', 'pools', 'mine', 'pool.json'))).toBe(true);

    const info = sieve(dir, 'pool', 'info', 'mine', '--json');
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).splits.train.rows).toBe(12);

    const list = sieve(dir, 'pool', 'list', '--json');
    const mine = JSON.parse(list.stdout).find((p: { name: string }) => p.name === 'mine');
    expect(mine).toMatchObject({ where: 'workspace', train_rows: 12 });
  });

  it('refuses an import with neither --out nor --name, and a name that is not a plain word', () => {
    const dir = tempDir('sieve-ws-');
    writeFileSync(join(dir, 'd.csv'), 'id,label,x\n1,a,1\n2,b,2\n');
    const none = sieve(dir, 'pool', 'import', 'd.csv');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--name NAME');
    const bad = sieve(dir, 'pool', 'import', 'd.csv', '--name', '../escape');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('a pool name is letters');
    expect(existsSync(join(dir, 'ws'))).toBe(false);
  });
});

/**
 * Without $SIEVE_WORKSPACE: the user workspace under a temporary HOME (never the real one)
 * and project workspaces found by walking up, from any folder.
 */
describe('workspaces that follow the user', () => {
  const BIN = join(__dirname, '..', 'bin', 'sieve.mjs');
  function user(home: string, cwd: string, ...args: string[]) {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, CI: 'true' };
    delete env.SIEVE_WORKSPACE;
    delete env.XDG_DATA_HOME;
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  function csv(dir: string): string {
    const rows = ['id,label,x,y', ...Array.from({ length: 40 }, (_, i) => `r${i},${i % 2 ? 'yes' : 'no'},${(i % 2) + i / 100},${(i * 7) % 5}`)];
    writeFileSync(join(dir, 'd.csv'), rows.join('\n') + '\n');
    return join(dir, 'd.csv');
  }

  it('follows the platform conventions for the user data folder', () => {
    expect(userDataDir({ XDG_DATA_HOME: '/x/data' }, 'linux', '/home/u')).toBe('/x/data/sieve');
    expect(userDataDir({ XDG_DATA_HOME: 'relative' }, 'linux', '/home/u')).toBe('/home/u/.local/share/sieve');
    expect(userDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/sieve');
    expect(userDataDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/sieve');
    expect(userDataDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u')).toContain('sieve');
  });

  it('finds the nearest .sieve folder above a directory, like git finds .git', () => {
    const root = tempDir('sieve-walk-');
    mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
    mkdirSync(join(root, 'a', '.sieve'));
    expect(findProjectWorkspace(join(root, 'a', 'b', 'c'))).toBe(join(root, 'a', '.sieve'));
    expect(findProjectWorkspace(join(root, 'a'))).toBe(join(root, 'a', '.sieve'));
    writeFileSync(join(root, 'a', 'b', '.sieve'), 'a file, not a workspace');
    expect(findProjectWorkspace(join(root, 'a', 'b', 'c'))).toBe(join(root, 'a', '.sieve'));
  });

  it('imports into the user workspace and opens the pool by name from any folder', () => {
    const home = tempDir('sieve-home-');
    const here = tempDir('sieve-here-');
    const elsewhere = tempDir('sieve-elsewhere-');
    const imported = user(home, here, 'pool', 'import', csv(here), '--name', 'mine', '--test-fraction', '0.25');
    expect(imported.status, imported.stderr).toBe(0);
    expect(existsSync(join(home, '.local', 'share', 'sieve', 'pools', 'mine', 'pool.json'))).toBe(true);
    expect(existsSync(join(here, '.sieve'))).toBe(false);
    const info = user(home, elsewhere, 'pool', 'info', 'mine', '--json');
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).dir).toBe(join(home, '.local', 'share', 'sieve', 'pools', 'mine'));
  });

  it('a project workspace comes first below it; pool list says where each pool lives; a challenge file finds its pool from anywhere', () => {
    const home = tempDir('sieve-home-');
    const proj = tempDir('sieve-proj-');
    mkdirSync(join(proj, 'sub', 'deeper'), { recursive: true });
    const elsewhere = tempDir('sieve-elsewhere-');
    const init = user(home, proj, 'workspace', 'init');
    expect(init.status, init.stderr).toBe(0);
    expect(existsSync(join(proj, '.sieve'))).toBe(true);

    expect(user(home, elsewhere, 'pool', 'import', csv(elsewhere), '--name', 'shared').status).toBe(0);
    const inProject = user(home, join(proj, 'sub', 'deeper'), 'pool', 'import', csv(elsewhere), '--name', 'local', '--test-fraction', '0.25');
    expect(inProject.status, inProject.stderr).toBe(0);
    expect(existsSync(join(proj, '.sieve', 'pools', 'local', 'pool.json'))).toBe(true);

    const list = user(home, join(proj, 'sub'), 'pool', 'list', '--json');
    expect(list.status, list.stderr).toBe(0);
    const pools = JSON.parse(list.stdout) as { name: string; where: string; workspace: string | null; dir: string }[];
    expect(pools.find((p) => p.name === 'local')).toMatchObject({ where: 'workspace', workspace: 'project', dir: join(proj, '.sieve', 'pools', 'local') });
    expect(pools.find((p) => p.name === 'shared')).toMatchObject({ where: 'workspace', workspace: 'user' });
    expect(pools.find((p) => p.name === 'german-credit')).toMatchObject({ where: 'built-in', workspace: null });
    const human = user(home, join(proj, 'sub'), 'pool', 'list');
    expect(human.stdout).toContain(`workspace: ${join(proj, '.sieve')} (project workspace)`);
    expect(human.stdout).toContain(`workspace: ${join(home, '.local', 'share', 'sieve')} (user workspace)`);
    // Outside the project, the project pool is not found, and the error says where it looked.
    const missing = user(home, elsewhere, 'pool', 'info', 'local');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('pools in');
    expect(missing.stderr).toContain('shared');

    // A user-written challenge in the project names the project pool; it is checked from elsewhere.
    writeFileSync(join(proj, 'challenge.yaml'), [
      'name: my-challenge', 'version: 1', 'title: mine', 'description: a user challenge', 'pool: local', 'task: selection',
      'budget: { rows: 10 }', 'model: { kind: logistic-regression, params: { l2: 1.0, max_iter: 50 }, seeds: [0] }',
      'metrics: { primary: accuracy, direction: max }', 'test: { public_fraction: 0.5, seed: 0 }',
    ].join('\n') + '\n');
    const head = user(home, proj, 'pool', 'head', 'local', '--rows', '8', '--json');
    expect(head.status, head.stderr).toBe(0);
    writeFileSync(join(elsewhere, 'ids.txt'), (JSON.parse(head.stdout) as { id: string }[]).map((r) => r.id).join('\n') + '\n');
    const check = user(home, elsewhere, 'challenge', 'check', join(proj, 'challenge.yaml'), 'ids.txt', '--json');
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, challenge: 'my-challenge' });
  });
});
