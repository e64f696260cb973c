/**
 * Vitest global setup, once before any test file:
 * - brings dist/ (the compiled JavaScript that bin/sieve.mjs runs) up to date with the
 *   sources, so tests that spawn the CLI run the code as it is now, also for a targeted
 *   `npx vitest run test/x.test.ts` (a no-op, one stat per source, when dist/ is fresh;
 *   bin/sieve.mjs checks again on every start in a clone);
 * - pins $SIEVE_WORKSPACE, and sieve's cache folder ($SIEVE_CACHE: file hashes, variant pools;
 *   src/util/cache-dir.ts), to a temporary folder for every test and every CLI it spawns, so no test
 *   reads or writes the user's workspace or caches in the home directory (tests of the
 *   workspace lookup itself unset SIEVE_WORKSPACE and point HOME at a temporary folder).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';

export default async function setup(): Promise<() => void> {
  await ensureBuilt();
  const root = mkdtempSync(join(tmpdir(), 'sieve-test-home-'));
  process.env.SIEVE_WORKSPACE = join(root, 'workspace');
  delete process.env.SIEVE_CACHE_DIR; // no longer read; a stale one must not look as if it mattered
  process.env.SIEVE_CACHE = join(root, 'cache');
  return () => rmSync(root, { recursive: true, force: true });
}
