/**
 * Participant sources never launder evaluator-only data: a file a participant-facing command
 * reads (an import input, a pool's train split) is refused when it is, after resolving
 * symbolic links, an evaluator-only file of the pool directory it lies in (by that pool's own
 * manifest), or has the size and sha256 of an evaluator-only file of a built-in pool (a copy
 * or hard link). Locally the person at the keyboard can open those files anyway; what this
 * prevents is sieve turning a challenge's answer key into a pool that `pool head`, `pool
 * export` and audits then print as if it were participant data.
 *
 * A challenge's hidden variant pools (built into `variantCacheDir()`) are evaluator-only in
 * every file: anything under that directory is refused, and so is a copy of any of their files.
 * So is anything in the evaluation cache (`evalCacheDir()`, src/pool/split-cache.ts), which
 * holds decoded test splits.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { hashFileCached } from '../util/hash-cache.ts';
import { isPoolDir } from '../util/outpath.ts';
import { MANIFEST_FILE } from './manifest.ts';
import { builtinPoolsDir, listBuiltinPools, variantCacheDir } from './resolve.ts';
import { evalCacheDir } from './split-cache.ts';

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

/**
 * Files of the variant pools built so far (not memoised: the cache grows while a process
 * runs). The cache holds a few directories, each with a small pool.json.
 */
function evaluatorFilesOfVariants(): EvaluatorFile[] {
  const root = variantCacheDir();
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
  const out: EvaluatorFile[] = [];
  for (const name of names) {
    for (const f of readRaw(join(root, name))?.files ?? []) {
      if (typeof f.bytes === 'number' && typeof f.sha256 === 'string')
        out.push({ pool: name, path: String(f.path), role: String(f.role), bytes: f.bytes, sha256: f.sha256 });
    }
  }
  return out;
}

/** The variant cache directory after resolving links (it may not exist yet). */
async function realVariantRoot(): Promise<string> {
  const root = variantCacheDir();
  return realpath(root).catch(() => root);
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
  const variants = await realVariantRoot();
  const inVariants = relative(variants, real);
  if (inVariants && !inVariants.startsWith('..') && !isAbsolute(inVariants))
    refuse(where, real, inVariants.split(sep)[0], 'hidden variant', `it lies in the variant cache ${variants}`);
  const evalCache = await realpath(evalCacheDir()).catch(() => evalCacheDir());
  const inEvalCache = relative(evalCache, real);
  if (inEvalCache && !inEvalCache.startsWith('..') && !isAbsolute(inEvalCache))
    refuse(where, real, 'any', 'decoded (evaluation cache)', `it lies in the evaluation cache ${evalCache}`);
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
  const sameSizeVariant = evaluatorFilesOfVariants().filter((f) => f.bytes === st.size);
  if (!sameSize.length && !sameSizeVariant.length) return;
  const { sha256 } = await hashFileCached(real);
  const hit = sameSize.find((f) => f.sha256 === sha256);
  if (hit) refuse(where, real, hit.pool, hit.role, `same bytes as built-in ${hit.pool}/${hit.path}`);
  const vhit = sameSizeVariant.find((f) => f.sha256 === sha256);
  if (vhit) refuse(where, real, vhit.pool, `${vhit.role} (hidden variant)`, `same bytes as ${join(variantCacheDir(), vhit.pool, vhit.path)}`);
}
