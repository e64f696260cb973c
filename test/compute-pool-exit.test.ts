/**
 * The pool's threads must never keep a command alive: a process that used kernel helpers and
 * pooled jobs exits on its own once its work is done (a 'message' listener attached after
 * unref() once re-ref'd every idle thread, and `sieve evaluate` hung after printing).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('compute/pool.ts threads', () => {
  it('let the process exit after kernel tasks on helper threads', () => {
    const script = `
      import { gramMatrix } from './compute/dots.ts';
      import { setKernelThreads } from './compute/pool.ts';
      setKernelThreads(2);
      const A = new Float32Array(2000 * 64).map((_, i) => (i % 7) / 7);
      console.log('gram', gramMatrix(A, 2000, 64)[0]);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root, encoding: 'utf8', timeout: 60_000,
    });
    expect(r.signal, 'the process was still alive after 60 s').toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^gram /);
  });
});
