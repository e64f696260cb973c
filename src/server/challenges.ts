/**
 * The challenges a server serves: every folder of the challenges directory holding a
 * challenge.yaml (default: the built-in challenges), loaded and validated at start-up, with
 * their pools opened. Each is recorded in the store (name, version, spec hash, state, its
 * phase), so results stay tied to the spec they were scored under.
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
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
      { name: c.name, ref: c.dir, version: c.version, specSha256: c.specSha256, title: c.title ?? c.name, task: c.task, state: isClosed(c, now) ? 'closed' : 'open', origin: 'dir' },
      { opensAt: null, closesAt: c.closes ? Date.parse(c.closes) : null },
    );
  }
}

/** A challenge name fit for a folder name (the spec's own rules come on top, from its schema). */
const FOLDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A challenge created through the API: its challenge.yaml written to a fresh folder under
 * `root`, validated by the same loader and schema as any challenge (and its pool opened),
 * and only then renamed to `root/NAME`; a spec that fails leaves nothing behind. Its `pool:`
 * must name a pool the server can open (built-in or workspace), since the folder holds only
 * the spec.
 */
export async function createChallengeFolder(root: string, yaml: string, taken: (name: string) => boolean): Promise<(ServedChallenge & { discard(): Promise<void> }) | { taken: string }> {
  await mkdir(root, { recursive: true });
  const tmp = join(root, `.new-${randomBytes(8).toString('hex')}`);
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, 'challenge.yaml'), yaml);
    const draft = await loadChallenge(tmp);
    if (!FOLDER_NAME.test(draft.name)) throw new SieveError(`the challenge name "${draft.name}" cannot name a folder`, { where: 'name' });
    const dir = join(root, draft.name);
    if (taken(draft.name) || (await stat(dir).then(() => true, () => false))) {
      await rm(tmp, { recursive: true, force: true });
      return { taken: draft.name };
    }
    await openChallengePool(draft);
    await rename(tmp, dir);
    const challenge = await loadChallenge(dir);
    return { challenge, pool: await openChallengePool(challenge), discard: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Name the uploaded spec, not the server's scratch folder.
    if (err instanceof SieveError) {
      const fix = (t: string) => t.split(join(tmp, 'challenge.yaml')).join('challenge.yaml').split(tmp).join('<challenge folder>');
      throw new SieveError(fix(err.message), { where: err.where === undefined ? undefined : fix(err.where), examples: err.examples.map(fix) });
    }
    throw err;
  }
}

/** The challenges created through the API in an earlier run, loaded again from their folders. */
export async function loadCreatedChallenges(store: ServerStore, served: Map<string, ServedChallenge>): Promise<string[]> {
  const problems: string[] = [];
  for (const row of await store.listChallenges()) {
    if (row.origin !== 'api' || served.has(row.name)) continue;
    try {
      const challenge = await loadChallenge(row.ref);
      served.set(challenge.name, { challenge, pool: await openChallengePool(challenge) });
    } catch (err) {
      if (!(err instanceof SieveError)) throw err;
      problems.push(`challenge ${row.name} (created through the API, ${row.ref}) is not served: ${err.message}`);
    }
  }
  return problems;
}
