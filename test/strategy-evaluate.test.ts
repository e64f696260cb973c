/**
 * Strategies scored like submissions: `sieve evaluate CHALLENGE strategy.sql` records the
 * strategy's and its output's sha256, `sieve verify` re-runs the strategy and checks both,
 * `sieve strategy run` writes the output as the submission file whose hash the record names.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { verifyRecord } from '../src/evaluate/verify.ts';
import { SubmissionError } from '../src/submission/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-strategy-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sieve = (...args: string[]) =>
  spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const KEEP_CONFIDENT = `-- drop the audit's suspected label errors, then the most confident rows
SELECT id FROM findings
WHERE NOT label_issue
ORDER BY self_confidence DESC, id
LIMIT 400
`;

describe('strategies as submissions', () => {
  it('evaluate records both hashes; verify re-runs the strategy, refuses a changed file, names a changed output', async () => {
    const strategy = join(dir, 'keep-confident.sql');
    writeFileSync(strategy, KEEP_CONFIDENT);
    const record = await evaluateFile('credit-fair', strategy, { bootstrapSamples: 20 });
    expect(record.strategy).toEqual({
      kind: 'sql',
      path: strategy,
      sha256: sha(strategy),
      output_sha256: record.submission.sha256,
      seed: 0,
    });
    expect(record.submission).toMatchObject({ format: 'csv', rows: 400, path: strategy });
    const out = join(dir, 'record.json');
    writeFileSync(out, JSON.stringify(record));

    const ok = await verifyRecord(out);
    expect(ok.differences).toEqual([]);
    expect(ok.ok).toBe(true);
    // 20 resamples, not the challenge's 1000: the figures re-run alike, but are not the official ones.
    expect(ok.notes.join('\n')).toMatch(/NOT THE OFFICIAL INTERVALS: the record's intervals use 20 bootstrap resamples, challenge credit-fair fixes 1000/);

    // The record says the output was something else: verify names the figure.
    const other = structuredClone(record);
    other.strategy!.output_sha256 = '0'.repeat(64);
    const otherPath = join(dir, 'other.json');
    writeFileSync(otherPath, JSON.stringify(other));
    const off = await verifyRecord(otherPath);
    expect(off.ok).toBe(false);
    expect(off.differences.map((d) => d.path)).toEqual(['strategy.output_sha256']);
    // The cause is listed before its effects, whatever the alphabet says (metrics < strategy).
    other.metrics.accuracy.mean = 0.5;
    writeFileSync(otherPath, JSON.stringify(other));
    expect((await verifyRecord(otherPath)).differences.map((d) => d.path)).toEqual(['strategy.output_sha256', 'metrics.accuracy.mean']);

    // A changed strategy file is refused before anything runs.
    writeFileSync(strategy, KEEP_CONFIDENT.replace('LIMIT 400', 'LIMIT 399'));
    await expect(verifyRecord(out)).rejects.toThrow(/the strategy file changed since it was scored/);
    writeFileSync(strategy, KEEP_CONFIDENT);
    expect((await verifyRecord(out)).ok).toBe(true);
  });

  it('strategy output is validated like a file: over budget, unknown ids and bad labels are the same errors', async () => {
    const all = join(dir, 'all.sql');
    writeFileSync(all, 'SELECT id FROM pool');
    const over = await evaluateFile('credit-fair', all, { bootstrapSamples: 20 }).then(() => null, (e: unknown) => e);
    expect(over).toBeInstanceOf(SubmissionError);
    expect((over as SubmissionError).problem).toBe('over-budget');
    expect((over as SubmissionError).message).toMatch(/700 rows submitted; the budget is 400/);

    const unknown = join(dir, 'unknown.sql');
    writeFileSync(unknown, `SELECT id || '-x' AS id FROM pool LIMIT 3`);
    const err = await evaluateFile('credit-fair', unknown).then(() => null, (e: unknown) => e);
    expect((err as SubmissionError).problem).toBe('unknown-ids');
    expect((err as SubmissionError).examples[0]).toBe('row 1: "row-000-x"');
    expect((err as SubmissionError).where).toBe(unknown);

    // A relabel challenge of our own on german-credit: corrections to the suggested label.
    const yaml = join(dir, 'relabel.yaml');
    writeFileSync(yaml, [
      'name: credit-relabel', 'version: 1', 'title: relabel test', 'pool: german-credit', 'task: relabel',
      'budget: { corrections: 50 }',
      'model: { kind: logistic-regression, params: { l2: 1.0 }, preprocess: { standardize: true }, seeds: [0, 1] }',
      'metrics: { primary: accuracy, direction: max }', 'test: { public_fraction: 0.5 }', '',
    ].join('\n'));
    const fix = join(dir, 'fix.sql');
    writeFileSync(fix, `SELECT id, suggested_label AS label FROM findings WHERE label_issue ORDER BY label_score DESC, id LIMIT 50`);
    const fixed = await evaluateFile(yaml, fix, { bootstrapSamples: 20 });
    expect(fixed.subset.rows).toBe(50);
    expect(fixed.subset.changed).toBe(50);
    const bad = join(dir, 'bad-label.sql');
    writeFileSync(bad, `SELECT id, 'horse' AS label FROM pool LIMIT 2`);
    const badErr = await evaluateFile(yaml, bad).then(() => null, (e: unknown) => e);
    expect((badErr as SubmissionError).problem).toBe('bad-labels');
  });

  it('sieve strategy run --out writes the output file the record names; evaluating it scores the same', async () => {
    const strategy = join(dir, 'cli.sql');
    writeFileSync(strategy, KEEP_CONFIDENT);
    const ids = join(dir, 'ids.csv');
    const r = sieve('strategy', 'run', strategy, '--challenge', 'credit-fair', '--out', ids, '--json');
    expect(r.status, r.stderr).toBe(0);
    const ran = JSON.parse(r.stdout);
    expect(ran.rows).toBe(400);
    expect(sha(ids)).toBe(ran.output_sha256);
    const viaStrategy = await evaluateFile('credit-fair', strategy, { bootstrapSamples: 20 });
    const viaFile = await evaluateFile('credit-fair', ids, { bootstrapSamples: 20 });
    expect(viaStrategy.strategy!.output_sha256).toBe(sha(ids));
    expect(viaFile.submission.sha256).toBe(viaStrategy.submission.sha256);
    expect(viaFile.metrics).toEqual(viaStrategy.metrics);

    // Over budget: an error, exit 2, nothing written.
    const all = join(dir, 'cli-all.sql');
    writeFileSync(all, 'SELECT id FROM pool');
    const none = join(dir, 'none.csv');
    const bad = sieve('strategy', 'run', all, '--challenge', 'credit-fair', '--out', none);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/700 rows submitted; the budget is 400/);
    expect(existsSync(none)).toBe(false);
  });
});
