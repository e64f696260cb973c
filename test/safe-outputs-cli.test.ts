/**
 * Clean interruption and clear refusals as a user meets them on the command line (issue 13,
 * items 1 and 3): SIGINT/SIGTERM during an import remove every temporary (exit 130/143), a
 * SIGKILL's leftovers go with the next write, a second writer gets "in use", and the
 * destructive --out cases of the issue exit 2 with a message and no stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure, SieveError } from '../src/util/errors.ts';
import { acquireLock } from '../src/util/temps.ts';
import { tempDir } from './pool-helpers.ts';

const BIN = join(__dirname, '..', 'bin', 'sieve.mjs');

function sieve(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A CSV big enough that writing its pool takes a noticeable moment. */
function bigCsv(path: string, rows: number): void {
  const lines = ['id,label,' + Array.from({ length: 12 }, (_, j) => `x${j}`).join(',')];
  let s = 1;
  for (let i = 0; i < rows; i++) {
    const xs: string[] = [];
    for (let j = 0; j < 12; j++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      xs.push((s / 2147483648).toFixed(5));
    }
    lines.push(`r${i},${'abc'[i % 3]},${xs.join(',')}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.includes('.tmp-') || n.includes('.old-') || n.endsWith('.lock'));

/** Starts an import and sends `signal` as soon as its temporary pool folder appears. */
function interruptImport(dir: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; sawTmp: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'pool', 'import', 'big.csv', '--out', 'out'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sawTmp = false;
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      if (readdirSync(dir).some((n) => n.startsWith('.out.tmp-'))) {
        sawTmp = true;
        clearInterval(poll);
        child.kill(signal);
      }
    }, 2);
    child.on('exit', (code, sig) => {
      clearInterval(poll);
      resolve({ code, signal: sig, stderr, sawTmp });
    });
  });
}

describe('interrupting a write', () => {
  const dir = tempDir('sieve-signal-');
  bigCsv(join(dir, 'big.csv'), 12_000);

  it('SIGINT removes every temporary and exits 130', async () => {
    const r = await interruptImport(dir, 'SIGINT');
    expect(r.sawTmp).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted (SIGINT)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('SIGTERM removes every temporary and exits 143', async () => {
    const r = await interruptImport(dir, 'SIGTERM');
    expect(r.sawTmp).toBe(true);
    expect(r.code).toBe(143);
    expect(leftovers(dir)).toEqual([]);
  });

  it("SIGKILL leaves a temporary folder and a lock, and the next write to the same place removes them", async () => {
    const r = await interruptImport(dir, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    expect(leftovers(dir).length).toBeGreaterThan(0);
    writeFileSync(join(dir, 'small.csv'), 'id,label,x\na,p,1\nb,q,2\nc,p,3\nd,q,4\n');
    const next = sieve(dir, 'pool', 'import', 'small.csv', '--out', 'out');
    expect(next.stderr).toBe('');
    expect(next.status).toBe(0);
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(join(dir, 'out', 'pool.json'))).toBe(true);
  });
});

describe('refusals on the command line', () => {
  it('a second writer gets "in use", not a stack trace', async () => {
    const dir = tempDir('sieve-lock-');
    writeFileSync(join(dir, 'small.csv'), 'id,label,x\na,p,1\nb,q,2\nc,p,3\nd,q,4\n');
    const release = await acquireLock(join(dir, 'out'));
    try {
      const r = sieve(dir, 'pool', 'import', 'small.csv', '--out', 'out');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/out is in use: another sieve process is writing it/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await release();
    }
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  // Each refusal is covered in process by safe-outputs.test.ts; these check the CLI's own wiring.
  it('the destructive --out cases of the issue exit 2 and touch nothing', () => {
    const dir = tempDir('sieve-out-');
    writeFileSync(join(dir, 'small.csv'), 'id,label,x\na,p,1\nb,q,2\nc,p,3\nd,q,4\n');
    mkdirSync(join(dir, 'mine'));
    writeFileSync(join(dir, 'mine', 'keep.txt'), 'precious');
    writeFileSync(join(dir, 'file'), 'precious');
    const cases: [string[], RegExp][] = [
      [['pool', 'import', 'small.csv', '--out', 'mine', '--overwrite'], /not a sieve pool/],
      [['pool', 'import', 'small.csv', '--out', '.', '--overwrite'], /is the working directory/],
      [['pool', 'import', 'small.csv', '--out', ''], /--out is empty/],
      [['pool', 'import', 'small.csv', '--out', '/proc/sieve-out'], /special file system/],
      [['pool', 'import', 'small.csv', '--name', '../../evil'], /letters, digits/],
      [['pool', 'import', 'small.csv', '--name', 'german-credit'], /built-in pool/],
      [['evaluate', 'fashion-debug', 'small.csv', '--out', join(__dirname, '..', 'pools', 'fashion-debug', 'truth.parquet')], /built-in pools/],
      [['evaluate', 'fashion-debug', 'small.csv', '--out', 'small.csv'], /one of this command's inputs/],
    ];
    for (const [args, pattern] of cases) {
      const r = sieve(dir, ...args);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readFileSync(join(dir, 'mine', 'keep.txt'), 'utf8')).toBe('precious');
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('precious');
    expect(readdirSync(dir).sort()).toEqual(['file', 'mine', 'small.csv']);
  });

  it('a genuine bug prints its stack and asks for a report; a user error does not', () => {
    const bug = describeFailure(new TypeError('x is undefined'), '9.9.9');
    expect(bug.exitCode).toBe(1);
    expect(bug.text).toMatch(/TypeError: x is undefined\n\s+at /);
    expect(bug.text).toContain('This is a bug in sieve 9.9.9');
    const user = describeFailure(new SieveError('bad thing', { where: 'here' }), '9.9.9');
    expect(user.text).toBe('error: bad thing\n  where: here');
    const fs = describeFailure(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', path: '/root/x' }), '9.9.9');
    expect(fs.exitCode).toBe(2);
    expect(fs.text).not.toContain('bug');
  });
});
