/**
 * Code strategies end to end: `sieve evaluate CHALLENGE strategy.ts|.mjs` runs the strategy in
 * the sandbox, scores its output like a submission and records both hashes; `sieve verify`
 * re-runs it bit for bit; an escape attempt through the CLI ends with a clear error, a
 * non-zero exit and no temporary directory left.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { verifyRecord } from '../src/evaluate/verify.ts';
import { detectLayer } from '../src/strategy/sandbox/layers.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-code-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isolated = detectLayer().layer !== null;

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const BALANCED = `import type { StrategyContext } from '../src/strategy/context.ts';

// Equal rows per (sex, label) cell, drawn with the run's seeded random source.
export function select(ctx: StrategyContext): Int32Array {
  const sex = ctx.groups.sex.codes;
  const strata = Int32Array.from(ctx.labels, (c, i) => (sex[i] < 0 ? -1 : sex[i] * ctx.classNames.length + c));
  return ctx.helpers.stratifiedSample(strata, ctx.budget, ctx.random);
}
`;

describe('code strategies through sieve evaluate and verify', () => {
  it.skipIf(!isolated)('a TypeScript strategy scores on credit-fair; the record names it and its output; verify re-runs it', async () => {
    const strategy = join(dir, 'balanced.ts');
    writeFileSync(strategy, BALANCED);
    const record = await evaluateFile('credit-fair', strategy, { bootstrapSamples: 20 });
    expect(record.strategy).toEqual({ kind: 'code', path: strategy, sha256: sha(strategy), output_sha256: record.submission.sha256, seed: 0 });
    expect(record.submission).toMatchObject({ format: 'csv', rows: 400, path: strategy });
    const out = join(dir, 'record.json');
    writeFileSync(out, JSON.stringify(record));
    const again = await verifyRecord(out);
    expect(again.differences).toEqual([]);
    expect(again.ok).toBe(true);
  });

  it('an escape attempt through the CLI: clear error, non-zero exit, nothing left in TMPDIR', () => {
    const strategy = join(dir, 'peek.mjs');
    writeFileSync(strategy, `import { readFileSync } from 'node:fs';\nexport function select() { return readFileSync('/etc/hostname', 'utf8').split('\\n'); }\n`);
    const own = join(dir, 'tmp');
    mkdirSync(own);
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), 'evaluate', 'credit-fair', strategy, ...(isolated ? [] : ['--allow-network-unsandboxed'])], {
      encoding: 'utf8',
      env: { ...process.env, CI: '1', TMPDIR: own },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/the sandbox refused the strategy: FileSystemRead \(\/etc\/hostname\)/);
    expect(readdirSync(own).filter((f) => f.startsWith('sieve-strategy-'))).toEqual([]);
  });
});
