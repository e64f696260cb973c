/**
 * `sieve baselines` off a terminal, as a script or CI sees it (execFile: stdout and stderr are
 * pipes): the same leaderboard table as on a terminal, fitted to 120 columns, with the
 * generalisation column and every baseline's line, and no terminal control codes on either
 * stream; its rows agree with --json. With and without CI (which changes the progress lines only).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'sieve.mjs');
const ARGS = ['baselines', 'synth-teach', '--only', 'random,class-balanced', '--no-strategies'];

async function sieve(args: string[], ci: boolean): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.COLUMNS;
  if (ci) env.CI = '1';
  else delete env.CI;
  return execFileP(process.execPath, [BIN, ...args], { env, maxBuffer: 16 << 20 });
}

interface JsonRow { rank: number | null; name: string; metrics: Record<string, { mean: number; std: number }>; generalisation?: { mean: number | null; n: number } }

describe('sieve baselines off a terminal', () => {
  it.each([false, true])('prints the whole table to a pipe (CI %s), the same rows as --json', async (ci) => {
    const [text, json] = await Promise.all([sieve(ARGS, ci), sieve([...ARGS, '--json'], ci)]);
    const out = text.stdout;
    expect(out).toMatch(/^synth-teach v1: .*\(public test part, \d+ model seed\(s\), \d+ bootstrap resamples\)$/m);
    expect(out).toContain('┌');
    expect(out).toMatch(/generalisation/);
    expect(out).toMatch(/^ {2}generalisation: each baseline re-run on 3 hidden variant pool\(s\)/m);
    expect(out).toMatch(/^ {2}random: /m);
    expect(out).toMatch(/^ {2}class-balanced: /m);
    for (const line of out.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(120);
    // No bar, no cursor codes: neither stream is a terminal.
    expect(out).not.toMatch(/\x1b/);
    expect(text.stderr).not.toMatch(/\x1b/);
    // The table's rows are --json's baselines, in its order, with its figures.
    const rows = (JSON.parse(json.stdout) as { baselines: JsonRow[] }).baselines;
    expect(rows.map((r) => r.name).sort()).toEqual(['class-balanced', 'random']);
    const primary = 'balanced_accuracy';
    const tableRows = out.split('\n').filter((l) => /^│ \d+ +│/.test(l));
    expect(tableRows).toHaveLength(rows.length);
    rows.forEach((r, i) => {
      const cells = tableRows[i].split('│').map((c) => c.trim());
      expect(cells[1]).toBe(String(r.rank));
      expect(cells[2]).toBe(r.name);
      expect(cells[4]).toBe(`${r.metrics[primary].mean.toFixed(4)} ± ${r.metrics[primary].std.toFixed(4)}`);
      expect(tableRows[i]).toContain(r.generalisation!.mean!.toFixed(4));
    });
  }, 240_000);

  it('--only with a name that is neither a baseline nor a built-in strategy of the task is refused before scoring, naming what is', async () => {
    const err = await sieve(['baselines', 'credit-fair', '--only', 'random,full', '--no-variants'], true).then(() => null, (e: { code: number; stdout: string; stderr: string }) => e);
    expect(err).not.toBeNull();
    expect(err!.code).toBe(2);
    expect(err!.stdout).toBe('');
    expect(err!.stderr).toContain('no baseline or built-in strategy "full" for credit-fair; a selection challenge\'s baselines are random, class-balanced, full-pool, and the built-in strategies that apply to it dedupe,');
    expect(err!.stderr).toMatch(/where: --only\n {2}first: full/);
    // Only the selection task's baselines: none of the relabel or ranking ones.
    expect(err!.stderr).not.toMatch(/no-corrections|self-confidence|random-order/);
  }, 60_000);
});
