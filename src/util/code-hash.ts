/**
 * A sha256 of sieve's own code: every file of src/, compute/ and evaluator/ (path, size and
 * bytes, in a fixed order), from the sources or from dist/, whichever this module runs from.
 * Disk caches of computed results (src/strategy/findings-cache.ts, src/audit/pool-cache.ts)
 * put it in their keys, so a changed analyser or model never reuses a stale entry.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let memo: string | undefined;

export function codeHash(): string {
  if (memo) return memo;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const h = createHash('sha256');
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch {
      return;
    }
    for (const e of entries) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) h.update(`${r}\0${statSync(join(root, r)).size}\0`).update(readFileSync(join(root, r)));
    }
  };
  for (const d of ['src', 'compute', 'evaluator']) walk(d);
  return (memo = h.digest('hex'));
}

/**
 * The git commit of the clone sieve runs from (its package root's .git, read as files: no git
 * program needed), or null in an installed package or where it cannot be read. With the code
 * hash it tells what to check out to re-run a record months later (every evaluator version so
 * far shipped as package version 0.1.0; a verify tryout could not tell which code made a record).
 */
export function gitCommit(root: string): string | null {
  try {
    const git = join(root, '.git');
    // A worktree's .git is a file naming the real folder.
    const dir = statSync(git).isFile() ? readFileSync(git, 'utf8').replace(/^gitdir:\s*/, '').trim() : git;
    const head = readFileSync(join(dir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
    if (!ref) return null;
    const common = (() => { try { return join(dir, readFileSync(join(dir, 'commondir'), 'utf8').trim()); } catch { return dir; } })();
    for (const d of [dir, common]) {
      try {
        const sha = readFileSync(join(d, ref), 'utf8').trim();
        if (/^[0-9a-f]{40}$/.test(sha)) return sha;
      } catch { /* packed */ }
      try {
        const line = readFileSync(join(d, 'packed-refs'), 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
        if (line && /^[0-9a-f]{40} /.test(line)) return line.slice(0, 40);
      } catch { /* none */ }
    }
    return null;
  } catch {
    return null;
  }
}
