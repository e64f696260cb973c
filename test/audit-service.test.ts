/**
 * The audit service (src/audit/service.ts): one call from a target to the audit, shared by
 * `sieve audit` and the server; and the rule that the analysers only detect (they import no
 * challenge, submission, task or evaluation code).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runAuditService } from '../src/audit/service.ts';
import { readAuditSplits, readSubsetIndices, resolveAuditTarget } from '../src/audit/target.ts';

const ROOT = resolve(import.meta.dirname, '..');

describe('audit service', () => {
  it('audits a challenge pool and a subset given as rows or as a file, with the same figures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sieve-audit-service-'));
    try {
      const target = await resolveAuditTarget('credit-fair');
      const { train } = await readAuditSplits(target.pool);
      const picked = train.ids.filter((_, i) => i % 3 === 0);
      const file = join(dir, 'picked.txt');
      await writeFile(file, [...picked].reverse().join('\n') + '\n');
      const only = ['class-imbalance', 'fairness'];
      const viaFile = await runAuditService({ target: 'credit-fair', only, seed: 0, subset: { file } });
      const rows = Int32Array.from(picked.map((id) => train.ids.indexOf(id))).reverse();
      const viaRows = await runAuditService({ target, only, seed: 0, subset: { rows, name: 'upload' } });
      expect(viaFile.target.challenge?.name).toBe('credit-fair');
      expect(viaFile.bundle.pool.pool.challenge).toBe('credit-fair');
      expect(viaFile.bundle.subset!.rows).toBe(picked.length);
      expect(viaRows.bundle.subset!.subset).toEqual({ file: 'upload', rows: picked.length });
      const figures = (r: typeof viaFile) => r.bundle.subset!.results.map((x) => [x.name, x.summary.figures]);
      expect(figures(viaRows)).toEqual(figures(viaFile));
      expect(viaFile.bundle.pool.results.map((r) => r.name)).toEqual(only);
      // Rows outside the pool are refused before any analyser runs.
      await expect(runAuditService({ target, only, seed: 0, subset: { rows: Int32Array.of(train.n), name: 'bad' } })).rejects.toThrow(/not a train row/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("reads a subset under the challenge's task, and as ids for a plain pool", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sieve-audit-service-'));
    try {
      // fashion-relabel is a relabel challenge: a corrections file selects the corrected rows.
      const t = await resolveAuditTarget('fashion-relabel');
      expect(t.challenge?.task).toBe('relabel');
      const { train } = await readAuditSplits(t.pool);
      const fixes = join(dir, 'fixes.csv');
      await writeFile(fixes, `id,label\n${train.ids[7]},${train.classNames[0]}\n${train.ids[3]},${train.classNames[1]}\n`);
      expect(Array.from(await readSubsetIndices(fixes, train, t.challenge))).toEqual([3, 7]);
      // An ids-only file is not a relabel submission: the task's columns decide, nothing is guessed.
      const ids = join(dir, 'ids.txt');
      await writeFile(ids, `${train.ids[3]}\n`);
      await expect(readSubsetIndices(ids, train, t.challenge)).rejects.toThrow(/missing column\(s\) label/);
      // A pool reached directly has no task: its subset is a list of ids.
      await expect(readSubsetIndices(fixes, train)).rejects.toThrow(/unexpected column\(s\) label/);
      expect(Array.from(await readSubsetIndices(ids, train))).toEqual([3]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('analysers import no challenge, submission, task, strategy or evaluation code', () => {
    const dir = join(ROOT, 'src', 'analysers');
    const offenders: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (/\/(challenge|submission|tasks|strategy|evaluate|audit|server|cli)\//.test(m[1])) offenders.push(`${f}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
