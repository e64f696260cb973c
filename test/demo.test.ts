import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Mean of the primary metric in a leaderboard row such as "│ 2 │ random │ 1000 │ 0.7764 ± 0.0085 │ ...". */
function rowMean(stdout: string, name: string): number {
  const line = stdout.split('\n').find((l) => l.split('│').map((c) => c.trim())[2] === name);
  expect(line, `row ${name}`).toBeDefined();
  const cells = line!.split('│').map((c) => c.trim());
  return Number.parseFloat(cells[4]);
}

describe('sieve demo', () => {
  it('scores the fashion-select baselines offline and prints a leaderboard with intervals and next steps', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), 'demo'], {
      encoding: 'utf8',
      // As through npx (npm sets npm_command=exec): the next steps then say npx sieve.
      env: { ...process.env, CI: '1', npm_command: 'exec' },
      timeout: 600_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    const random = rowMean(out, 'random');
    const balanced = rowMean(out, 'class-balanced');
    const full = rowMean(out, 'full-pool (over budget)');
    expect(random).toBeGreaterThan(0.7);
    expect(random).toBeLessThan(0.85);
    expect(balanced).toBeGreaterThan(0.7);
    expect(balanced).toBeLessThan(0.85);
    expect(full).toBeGreaterThan(random); // twenty times the data helps
    expect(out).toMatch(/95% CI/);
    expect(out).toMatch(/\[0\.\d{4}, 0\.\d{4}\]/);
    expect(out).toMatch(/What to try next/);
    expect(out).toMatch(/ {2}npx sieve evaluate fashion-select my-ids\.csv/);
    expect(out).toMatch(/ {2}npx sieve audit fashion-mnist --html report\.html/);
  }, 660_000);
});
