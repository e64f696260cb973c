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
