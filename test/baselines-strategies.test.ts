/**
 * `sieve baselines` scores the built-in strategies that apply to the challenge next to its
 * baselines: public score and generalisation score (per variant, a t interval holding the
 * mean, the gap) for each, through the same path as a user's copy of the file, with the audit
 * findings computed once per pool however many strategies read them.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBaselines } from '../src/evaluate/baselines.ts';
import { loadEvalContext } from '../src/evaluate/context.ts';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { libraryPath, LIBRARY } from '../src/strategy/library.ts';
import { findingsProduced } from '../src/strategy/findings.ts';
import { detectLayer } from '../src/strategy/sandbox/layers.ts';
import { SieveError } from '../src/util/errors.ts';

const allowUnisolated = detectLayer().layer === null;

describe('baselines with the built-in strategies', () => {
  it('synth-teach: strategy rows with public and generalisation scores; findings once per pool; the same figures as sieve evaluate of the file', async () => {
    const ctx = await loadEvalContext('synth-teach');
    const before = findingsProduced().length;
    const results = await runBaselines(ctx, { names: ['random', 'drop-label-issues', 'dedupe', 'uncertainty'], bootstrapSamples: 20, allowUnisolated });
    expect(results.map((r) => r.name)).toEqual(['random', 'drop-label-issues', 'dedupe', 'uncertainty']);
    for (const r of results.slice(1)) {
      expect(r.error).toBeUndefined();
      expect(r.rows).toBe(1000);
      expect(r.strategy).toMatchObject({ file: LIBRARY.find((e) => e.name === r.name)!.file, path: libraryPath(LIBRARY.find((e) => e.name === r.name)!), seed: 0 });
      const g = r.generalisation!;
      expect(g.n).toBe(3);
      expect(g.variants.every((v) => v.primary !== null && v.error === undefined)).toBe(true);
      expect(g.ci95![0]).toBeLessThanOrEqual(g.mean!);
      expect(g.ci95![1]).toBeGreaterThanOrEqual(g.mean!);
      expect(g.gap).toBeCloseTo(r.primary.mean! - g.mean!, 12);
    }
    // Three strategies read the findings on four pools (public + 3 variants): produced four times, once per pool.
    const computed = findingsProduced().slice(before);
    expect(computed).toHaveLength(4);
    expect(new Set(computed).size).toBe(4);
    expect(computed[0]).toBe(ctx.pool.manifest.content_hash);

    // What a user gets by evaluating the file: the same output and the same figures.
    const record = await evaluateFile('synth-teach', libraryPath(LIBRARY.find((e) => e.name === 'drop-label-issues')!), { bootstrapSamples: 20 });
    const row = results[1];
    expect(record.strategy!.output_sha256).toBe(row.strategy!.output_sha256);
    expect(record.metrics).toEqual(row.metrics);
    expect((record.generalisation as { variants: { primary: number }[] }).variants.map((v) => v.primary)).toEqual(row.generalisation!.variants.map((v) => v.primary));
    expect(findingsProduced().length - before).toBe(4); // still cached
  });

  it('--only refuses a strategy that does not apply; --no-strategies leaves them out; the CLI shows the rows', async () => {
    const ctx = await loadEvalContext('credit-fair');
    const err = await runBaselines(ctx, { names: ['relabel-suggested'] }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect((err as SieveError).message).toMatch(/"relabel-suggested" does not apply to credit-fair/);
    const none = await runBaselines(ctx, { names: undefined, strategies: false, bootstrapSamples: 20 });
    expect(none.map((r) => r.name)).toEqual(['random', 'class-balanced', 'full-pool']);

    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), 'baselines', 'credit-fair', '--only', 'random,class-rebalance,fair-resample', '--json', ...(allowUnisolated ? ['--allow-network-unsandboxed'] : [])], {
      encoding: 'utf8',
      env: { ...process.env, CI: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    const names = body.baselines.map((b: { name: string }) => b.name).sort();
    expect(names).toEqual(['class-rebalance', 'fair-resample', 'random']);
    const fair = body.baselines.find((b: { name: string }) => b.name === 'fair-resample');
    expect(fair.strategy.kind).toBe('ts');
    expect(fair.rows).toBe(400);
    expect(fair.rank).toBeGreaterThan(0);
    expect(fair.metrics['demographic_parity_gap[sex]'].mean).toEqual(expect.any(Number));
  });
});
