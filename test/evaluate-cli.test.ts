import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPool, readSplit } from '../src/pool/read.ts';
import { evaluateFile } from '../src/evaluate/runner.ts';
import { rescoreRecord } from '../src/evaluate/rescore.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-eval-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sieve = (...args: string[]) =>
  spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });

describe('sieve evaluate / verify / baselines on credit-fair (small and fast)', () => {
  it('evaluate --out writes the full record, --json shows the public view; verify exits 0, 1 or 2', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train', { columns: [] });
    const sub = join(dir, 'ids.csv');
    writeFileSync(sub, 'id\n' + train.ids.filter((_, i) => i % 2 === 0).slice(0, 350).join('\n') + '\n');
    const out = join(dir, 'result.json');
    const r = sieve('evaluate', 'credit-fair', sub, '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout);
    expect(shown.private).toEqual({ hidden: true, until: null });
    expect(Object.keys(shown.counts.parts)).toEqual(['public']); // publicView: no private or all-rows counts
    const stored = JSON.parse(readFileSync(out, 'utf8'));
    expect(stored.private.metrics.accuracy.per_seed).toHaveLength(5);
    expect(stored.metrics).toEqual(shown.metrics);
    expect(stored.submission.rows).toBe(350);

    const human = sieve('evaluate', 'credit-fair', sub, '--show-private');
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/private mean ±/); // the header may wrap to fit 120 columns
    expect(human.stdout).toMatch(/worst_group_(accuracy\[sex\]|[^\n]*\n│ accuracy\[sex\])/); // a long name may wrap after "_"

    const ok = sieve('verify', out);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/bit-identical/);
    // On one thread: the same figures (the record says how many threads computed them).
    const one = sieve('verify', out, '--threads', '1', '--json');
    expect(one.status, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).ok).toBe(true);
    const oneOut = join(dir, 'one-thread.json');
    expect(sieve('evaluate', 'credit-fair', sub, '--threads', '1', '--out', oneOut).status).toBe(0);
    expect(JSON.parse(readFileSync(oneOut, 'utf8')).system.threads).toBe(1);
    expect(sieve('evaluate', 'credit-fair', sub, '--threads', '0').stderr).toMatch(/--threads must be an integer ≥ 1, got "0"/);
    // The environment variable is checked too (it was ignored, and every core used).
    const envBad = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), 'evaluate', 'credit-fair', sub], {
      encoding: 'utf8', env: { ...process.env, CI: '1', SIEVE_THREADS: 'abc' },
    });
    expect(envBad.status).toBe(2);
    expect(envBad.stderr).toMatch(/SIEVE_THREADS must be an integer ≥ 1, got "abc"/);
    // The --json public view, saved: verify compares what it holds (tryout: it reported the
    // private and all-rows counts it lacks as 2 differing figures, exit 1).
    const savedPublic = join(dir, 'public.json');
    writeFileSync(savedPublic, r.stdout);
    const publicOk = sieve('verify', savedPublic);
    expect(publicOk.status, publicOk.stdout + publicOk.stderr).toBe(0);
    expect(publicOk.stdout).toMatch(/private scores are not in this record/);

    const tampered = { ...stored, metrics: { ...stored.metrics, accuracy: { ...stored.metrics.accuracy, mean: 0.5 } } };
    const bad = join(dir, 'tampered.json');
    writeFileSync(bad, JSON.stringify(tampered));
    const mismatch = sieve('verify', bad, '--json');
    expect(mismatch.status).toBe(1);
    expect(JSON.parse(mismatch.stdout).differences).toEqual([{ path: 'metrics.accuracy.mean', recorded: 0.5, rerun: stored.metrics.accuracy.mean }]);

    // A record naming a device or a FIFO as its submission: bad input at once (it read /dev/zero
    // without end, and blocked on a FIFO through SIGTERM).
    const fifo = join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    for (const path of ['/dev/zero', fifo, 5]) {
      const odd = join(dir, 'odd-path.json');
      writeFileSync(odd, JSON.stringify({ ...stored, submission: { ...stored.submission, path } }));
      const r2 = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), 'verify', odd], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 30_000 });
      expect(r2.status, String(path)).toBe(2);
      expect(r2.stderr, String(path)).toMatch(typeof path === 'number' ? /the record names 5/ : /is not a regular file/);
    }

    writeFileSync(sub, 'id\n' + train.ids.slice(0, 10).join('\n') + '\n');
    const changed = sieve('verify', out);
    expect(changed.status).toBe(2);
    expect(changed.stderr).toMatch(/submission file changed since it was scored/);
    expect(existsSync(out)).toBe(true);
  });

  it('evaluate --timings: where the time went, printed and under "timings" in --json, never in the record', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train', { columns: [] });
    const sub = join(dir, 'timed-ids.csv');
    writeFileSync(sub, 'id\n' + train.ids.slice(0, 300).join('\n') + '\n');
    const out = join(dir, 'timed.json');
    const r = sieve('evaluate', 'credit-fair', sub, '--timings', '--json', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout);
    const phases = Object.keys(shown.timings.phases);
    for (const p of ['startup', 'modules', 'challenge', 'pool read', 'submission', 'preprocessing', 'fits', 'prediction', 'metrics', 'bootstrap', 'record']) {
      expect(phases, p).toContain(p);
      expect(shown.timings.phases[p]).toBeGreaterThanOrEqual(0);
    }
    const sum = Object.values(shown.timings.phases as Record<string, number>).reduce((a, b) => a + b, 0) + shown.timings.other;
    expect(Math.abs(sum - shown.timings.total)).toBeLessThan(0.01 + 0.001 * phases.length);
    const stored = JSON.parse(readFileSync(out, 'utf8'));
    expect(JSON.stringify(stored)).not.toMatch(/timings|"pool read"|"bootstrap":\s*\d/);
    const human = sieve('evaluate', 'credit-fair', sub, '--timings');
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^timings .*not part of the record/m);
    expect(human.stdout).toMatch(/^\s+bootstrap\s+\d+\.\d{3} s\s+\d+%/m);
    expect(human.stdout).toMatch(/^\s+total\s+\d+\.\d{3} s\s+100%/m);
    // Without the flag, neither form shows them.
    expect(sieve('evaluate', 'credit-fair', sub, '--json').stdout).not.toMatch(/"timings"/);
  });

  it('verify --rescore: every figure again from the record alone; a tampered count is named (exit 1); no counts, an error', async () => {
    const train = await readSplit(await openPool('german-credit'), 'train', { columns: [] });
    const sub = join(dir, 'rescore-ids.csv');
    writeFileSync(sub, 'id\n' + train.ids.filter((_, i) => i % 3 === 0).join('\n') + '\n');
    const stored = JSON.parse(JSON.stringify(await evaluateFile('credit-fair', sub, { bootstrapSamples: 20 })));
    const out = join(dir, 'rescore.json');
    writeFileSync(out, JSON.stringify(stored));
    rmSync(sub); // --rescore needs neither the submission nor a refit
    const rescored = sieve('verify', out, '--rescore');
    expect(rescored.status, rescored.stderr).toBe(0);
    expect(rescored.stdout).toMatch(/re-scored: all \d+ recorded figures equal/);
    expect(rescored.stdout).toMatch(/note: \d+ intervals re-scored from the record's replays \(20 resamples, seed 0\)/);
    // A byte-order mark before the JSON is read past; damaged records say what is wrong (exit 2).
    const bom = join(dir, 'rescore-bom.json');
    writeFileSync(bom, '\uFEFF' + JSON.stringify(stored));
    expect(sieve('verify', bom, '--rescore').status).toBe(0);
    const asString = join(dir, 'rescore-challenge-string.json');
    writeFileSync(asString, JSON.stringify({ ...stored, challenge: 'credit-fair' }));
    expect(sieve('verify', asString, '--rescore').stderr).toMatch(/result record's "challenge" is "credit-fair", not an object/);
    const objVersion = join(dir, 'rescore-version-object.json');
    writeFileSync(objVersion, JSON.stringify({ ...stored, evaluator: { ...stored.evaluator, version: { x: 1 } } }));
    const ov = sieve('verify', objVersion, '--rescore');
    expect(ov.status).toBe(2);
    expect(ov.stderr).toMatch(/evaluator\.version is \{"x":1\}, not a version string/);
    // Variant scores on a file of ids' record (only strategies are re-run on variants): a difference.
    const madeUp = join(dir, 'rescore-made-up-variants.json');
    writeFileSync(madeUp, JSON.stringify({ ...stored, generalisation: { variants: [{ seed: 1, score: 0.95 }, { seed: 2, score: 0.95 }] } }));
    const mu = sieve('verify', madeUp, '--rescore', '--json');
    expect(mu.status).toBe(1);
    expect(JSON.parse(mu.stdout).differences.map((d: { path: string }) => d.path)).toContain('generalisation');
    const folder = sieve('verify', dir, '--rescore');
    expect(folder.status).toBe(2);
    expect(folder.stderr).toMatch(/result record is not a file/);

    // An interval moved by one ulp is named with both values; nothing else differs.
    const interval = structuredClone(stored);
    const [lo, hi] = stored.private.all_metrics['worst_group_accuracy[sex]'].ci95;
    interval.private.all_metrics['worst_group_accuracy[sex]'].ci95[1] = hi + Number.EPSILON;
    interval.metrics.macro_f1.bias += 1e-9;
    const moved = join(dir, 'rescore-interval.json');
    writeFileSync(moved, JSON.stringify(interval));
    const movedOut = sieve('verify', moved, '--rescore', '--json');
    expect(movedOut.status).toBe(1);
    expect(JSON.parse(movedOut.stdout).differences).toEqual([
      { path: 'metrics.macro_f1.bias', recorded: stored.metrics.macro_f1.bias + 1e-9, rerun: stored.metrics.macro_f1.bias },
      { path: 'private.all_metrics.worst_group_accuracy[sex].ci95[1]', recorded: hi + Number.EPSILON, rerun: hi },
    ]);
    expect(lo).toBeLessThanOrEqual(hi);
    const human = sieve('verify', moved, '--rescore');
    expect(human.stdout).toMatch(/MISMATCH: 2 of \d+ figures differ/);
    expect(human.stdout).toMatch(/private\.all_metrics\.worst_group_accuracy\[sex\]\.ci95\[1\]/);

    // A record from before replays (evaluator 2.0.0): everything else re-scores, with a note that intervals were not.
    const old = structuredClone(stored);
    delete old.replay;
    delete old.private.replay;
    delete old.private.public_mask;
    old.evaluator.version = '2.0.0';
    const oldOutcome = rescoreRecord(old);
    expect(oldOutcome.differences).toEqual([]);
    expect(oldOutcome.notes.join('\n')).toMatch(/intervals \(ci95, bias\) and group notes were not re-scored: the record stores no replay/);
    // A record of this evaluator always has them: removed replays (and removed private scores) are differences.
    const stripped = structuredClone(old);
    stripped.evaluator.version = stored.evaluator.version;
    expect(rescoreRecord(stripped).differences.map((d: { path: string }) => d.path)).toEqual(['replay']);
    const noPrivate = structuredClone(stored);
    delete noPrivate.private;
    expect(rescoreRecord(noPrivate).differences.map((d: { path: string }) => d.path)).toEqual(['private']);
    // A record damaged deep inside is bad input for --rescore (exit 2), not an internal error (exit 1).
    const deep = structuredClone(stored);
    delete deep.counts.layout;
    const deepPath = join(dir, 'deep.json');
    writeFileSync(deepPath, JSON.stringify(deep));
    const d = sieve('verify', deepPath, '--rescore');
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/^error: the record cannot be re-scored: /);
    expect(d.stderr).not.toMatch(/internal error/);

    const tampered = structuredClone(stored);
    tampered.counts.parts.private[3].confusion[0] += 1;
    delete tampered.curve;
    const bad = join(dir, 'rescore-tampered.json');
    writeFileSync(bad, JSON.stringify(tampered));
    const off = sieve('verify', bad, '--rescore', '--json');
    expect(off.status).toBe(1);
    const paths = JSON.parse(off.stdout).differences.map((d: { path: string }) => d.path);
    expect(paths).toContain('private.metrics.accuracy.per_seed[3]');
    expect(paths).toContain('counts.parts.private[3]: confusion matrix total');
    expect(paths.every((p: string) => p.startsWith('private.') || p.startsWith('counts.parts.private[3]'))).toBe(true);

    delete tampered.counts;
    expect(() => rescoreRecord(tampered)).toThrow(/no metric counts to re-score from/);
  });

  it('baselines --json: ranked, in budget except the full pool, private hidden', () => {
    const r = sieve('baselines', 'credit-fair', '--no-strategies', '--json');
    expect(r.status, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    const byName = Object.fromEntries(body.baselines.map((b: { name: string }) => [b.name, b]));
    expect(Object.keys(byName).sort()).toEqual(['class-balanced', 'full-pool', 'random']);
    expect(byName['full-pool'].over_budget).toBe(true);
    expect(byName['full-pool'].rows).toBe(700);
    expect(byName.random.rows).toBe(400);
    expect(byName.random.private).toEqual({ hidden: true });
    expect(byName.random.metrics['demographic_parity_gap[sex]'].ci95).toHaveLength(2);
    // Leaderboard order: ranks 1, 2 by accuracy, then the over-budget reference row.
    expect(body.baselines.map((b: { rank: number | null }) => b.rank)).toEqual([1, 2, null]);
    expect(body.baselines[0].primary.mean).toBeGreaterThanOrEqual(body.baselines[1].primary.mean);
  });
});
