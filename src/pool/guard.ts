/**
 * Participant sources never launder evaluator-only data: a file a participant-facing command
 * reads (an import input, a pool's train split) is refused when it is, after resolving
 * symbolic links, an evaluator-only file of the pool directory it lies in (by that pool's own
 * manifest), or has the size and sha256 of an evaluator-only file of a built-in pool (a copy
 * or hard link). Locally the person at the keyboard can open those files anyway; what this
 * prevents is sieve turning a challenge's answer key into a pool that `pool head`, `pool
 * export` and audits then print as if it were participant data.
 */
import { readFileSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { hashFileCached } from '../util/hash-cache.ts';
import { isPoolDir } from '../util/outpath.ts';
import { MANIFEST_FILE } from './manifest.ts';
import { builtinPoolsDir, listBuiltinPools } from './resolve.ts';

interface EvaluatorFile {
  pool: string;
  path: string;
  role: string;
  bytes: number;
  sha256: string;
}

interface RawManifest {
  name?: string;
  files?: { path?: string; role?: string; visibility?: string; bytes?: number; sha256?: string }[];
}

function readRaw(dir: string): RawManifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as RawManifest;
  } catch {
    return null;
  }
}

let builtinEvaluatorFiles: EvaluatorFile[] | null = null;

/** Evaluator-only files of the built-in pools, from their manifests. */
function evaluatorFilesOfBuiltins(): EvaluatorFile[] {
  if (builtinEvaluatorFiles) return builtinEvaluatorFiles;
  builtinEvaluatorFiles = [];
  for (const name of listBuiltinPools()) {
    const m = readRaw(join(builtinPoolsDir(), name));
    for (const f of m?.files ?? []) {
      if (f.visibility === 'evaluator' && typeof f.bytes === 'number' && typeof f.sha256 === 'string')
        builtinEvaluatorFiles.push({ pool: name, path: String(f.path), role: String(f.role), bytes: f.bytes, sha256: f.sha256 });
    }
  }
  return builtinEvaluatorFiles;
}

function refuse(where: string, real: string, pool: string, role: string, how: string): never {
  throw new SieveError(`${where} is the evaluator-only ${role} file of pool "${pool}" (${how}); participant commands never read it`, {
    where: resolve(where) === real ? where : `${where} → ${real}`,
    exitCode: 3,
    examples: [
      "a challenge's test and truth files are what the evaluator scores on; see docs/challenges.md (what is secret where)",
      'import your own data, or a participant-visible split (train)',
    ],
  });
}

/**
 * Throws (exit code 3) when `path` is an evaluator-only file; see the module comment.
 * A path that does not exist passes: its reader reports it.
 */
export async function assertParticipantSource(path: string, where = path): Promise<void> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return;
  }
  const st = await stat(real).catch(() => null);
  if (!st?.isFile()) return;
  for (let d = dirname(real); ; d = dirname(d)) {
    if (isPoolDir(d)) {
      const m = readRaw(d);
      const rel = relative(d, real);
      const entry = m?.files?.find((f) => f.path === rel);
      if (entry?.visibility === 'evaluator') refuse(where, real, m?.name ?? d, entry.role ?? 'unnamed', `by its manifest ${join(d, MANIFEST_FILE)}`);
    }
    if (dirname(d) === d) break;
  }
  const sameSize = evaluatorFilesOfBuiltins().filter((f) => f.bytes === st.size);
  if (!sameSize.length) return;
  const { sha256 } = await hashFileCached(real);
  const hit = sameSize.find((f) => f.sha256 === sha256);
  if (hit) refuse(where, real, hit.pool, hit.role, `same bytes as built-in ${hit.pool}/${hit.path}`);
}
