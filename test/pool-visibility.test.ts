/**
 * Evaluator-only files are reachable only through src/pool/hidden.ts. These checks keep the
 * participant-facing code (pool reading/export/CLI, submissions and strategies) from
 * importing it, and keep the unchecked file reader inside read.ts and hidden.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');

function files(dir: string): string[] {
  const abs = join(root, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(abs, e);
    return statSync(p).isDirectory() ? files(relative(root, p)) : /\.(ts|mts|mjs)$/.test(e) ? [relative(root, p)] : [];
  });
}

describe('evaluator-only files stay behind hidden.ts', () => {
  it('participant-facing modules do not import hidden.ts', () => {
    const participantFacing = [
      ...files('src/pool').filter((f) => !f.endsWith('hidden.ts')),
      ...files('src/submission'),
      ...files('src/cli').filter((f) => /src\/cli\/pool(-[a-z]+)?\.ts$/.test(f)),
    ];
    expect(participantFacing.length).toBeGreaterThan(5);
    const offenders = participantFacing.filter((f) => /hidden(\.ts)?['"]/.test(readFileSync(join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('only read.ts and hidden.ts use the unchecked split reader', () => {
    const users = [...files('src'), ...files('evaluator')].filter((f) => readFileSync(join(root, f), 'utf8').includes('readSplitFile'));
    expect(users.sort()).toEqual(['src/pool/hidden.ts', 'src/pool/read.ts']);
  });
});
