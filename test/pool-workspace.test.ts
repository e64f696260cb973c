/** Named pools in the workspace: `sieve pool import FILE --name NAME`, then NAME anywhere a pool goes. */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
