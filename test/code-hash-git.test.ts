/**
 * The git commit a record names (src/util/code-hash.ts gitCommit), read from a clone's .git as
 * files: a branch's loose ref, a packed one, a detached HEAD, a worktree's .git file; null
 * outside a clone.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { gitCommit } from '../src/util/code-hash.ts';

const dir = mkdtempSync(join(tmpdir(), 'sieve-git-commit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const A = 'a'.repeat(40), B = 'b'.repeat(40), C = 'c'.repeat(40);

it('reads loose, packed and detached heads and a worktree, and gives null outside a clone', () => {
  const loose = join(dir, 'loose');
  mkdirSync(join(loose, '.git', 'refs', 'heads'), { recursive: true });
  writeFileSync(join(loose, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(loose, '.git', 'refs', 'heads', 'main'), `${A}\n`);
  expect(gitCommit(loose)).toBe(A);

  const packed = join(dir, 'packed');
  mkdirSync(join(packed, '.git'), { recursive: true });
  writeFileSync(join(packed, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(packed, '.git', 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted\n${C} refs/heads/other\n${B} refs/heads/main\n`);
  expect(gitCommit(packed)).toBe(B);

  const detached = join(dir, 'detached');
  mkdirSync(join(detached, '.git'), { recursive: true });
  writeFileSync(join(detached, '.git', 'HEAD'), `${C}\n`);
  expect(gitCommit(detached)).toBe(C);

  // A worktree: .git is a file naming its folder, whose commondir holds the refs.
  const wt = join(dir, 'wt');
  const wtGit = join(loose, '.git', 'worktrees', 'wt');
  mkdirSync(wtGit, { recursive: true });
  mkdirSync(wt);
  writeFileSync(join(wt, '.git'), `gitdir: ${wtGit}\n`);
  writeFileSync(join(wtGit, 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(wtGit, 'commondir'), '../..\n');
  expect(gitCommit(wt)).toBe(A);

  expect(gitCommit(join(dir, 'nowhere'))).toBeNull();
});
