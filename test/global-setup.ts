/**
 * Vitest global setup: brings dist/ (the compiled JavaScript that bin/sieve.mjs runs) up to
 * date with the sources before any test file runs, so tests that spawn the CLI always run the
 * code as it is now, also for a targeted `npx vitest run test/x.test.ts`. A no-op (one stat
 * per source) when dist/ is fresh; bin/sieve.mjs checks again on every start in a clone.
 */
import { ensureBuilt } from '../scripts/build.mjs';

export default async function setup(): Promise<void> {
  await ensureBuilt();
}
