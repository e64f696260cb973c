/**
 * The challenges a server serves: every folder of the challenges directory holding a
 * challenge.yaml (default: the built-in challenges), loaded and validated at start-up, with
 * their pools opened. Each is recorded in the store (name, version, spec hash, state, its
 * phase), so results stay tied to the spec they were scored under.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUILTIN_CHALLENGES_DIR, isClosed, loadChallenge, openChallengePool } from '../challenge/load.ts';
import type { Challenge } from '../challenge/schema.ts';
import type { Pool } from '../pool/read.ts';
import { SieveError } from '../util/errors.ts';
import type { ServerStore } from './store/types.ts';

export interface ServedChallenge {
  challenge: Challenge;
  pool: Pool;
}

export async function loadServedChallenges(dir?: string): Promise<Map<string, ServedChallenge>> {
  const root = resolve(dir ?? BUILTIN_CHALLENGES_DIR);
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw new SieveError(`cannot read the challenges directory (${err.code})`, { where: root });
  });
  const out = new Map<string, ServedChallenge>();
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const spec = join(root, e.name, 'challenge.yaml');
    if (!(await stat(spec).then((s) => s.isFile(), () => false))) continue;
    const challenge = await loadChallenge(join(root, e.name));
    if (out.has(challenge.name)) throw new SieveError(`two challenges are named "${challenge.name}"`, { where: spec });
    out.set(challenge.name, { challenge, pool: await openChallengePool(challenge) });
  }
  if (out.size === 0) throw new SieveError('no challenge.yaml in any folder of the challenges directory', { where: root });
  return out;
}

/** Records the served challenges in the store (their state follows `closes`). */
export async function syncChallenges(store: ServerStore, served: Map<string, ServedChallenge>, now = new Date()): Promise<void> {
  for (const { challenge: c } of served.values()) {
    await store.putChallenge(
      { name: c.name, ref: c.dir, version: c.version, specSha256: c.specSha256, title: c.title ?? c.name, task: c.task, state: isClosed(c, now) ? 'closed' : 'open' },
      { opensAt: null, closesAt: c.closes ? Date.parse(c.closes) : null },
    );
  }
}
