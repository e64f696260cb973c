/**
 * Finding and loading challenges: a built-in name (a folder under challenges/), a challenge
 * directory, or a path to a challenge.yaml. Parsing and schema errors become SieveErrors that
 * name the file and the field path.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { SieveError, fsError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';
import { openPool, type Pool } from '../pool/open.ts';
import { firstInvalidUtf8, lineOfByte } from '../util/utf8.ts';
import { checkModelParams } from './model-check.ts';
import { challengeSchema, type Challenge } from './schema.ts';

/**
 * The pool a challenge names: a path relative to the challenge file, or a name resolved as
 * everywhere (built-in, then workspace pools), with the project workspace above the
 * challenge's own folder searched first, so a challenge file works from any directory.
 */
export async function openChallengePool(challenge: Challenge): Promise<Pool> {
  return openPool(challenge.poolRef, { near: [challenge.dir] });
}

/** The directory holding the built-in challenges. */
export const BUILTIN_CHALLENGES_DIR = join(PACKAGE_ROOT, 'challenges');

const SPEC_FILE = 'challenge.yaml';
/** Bounds on a challenge spec: its size and how far YAML aliases may expand (billion laughs). */
const MAX_SPEC_BYTES = 1024 * 1024;
const MAX_ALIAS_COUNT = 100;

/** True when a string names a file system location rather than a built-in name. */
function looksLikePath(s: string): boolean {
  return s.includes('/') || s.includes('\\') || s.startsWith('.') || s.endsWith('.yaml') || s.endsWith('.yml');
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}
async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

/** Resolves a challenge name or path to the absolute path of its challenge.yaml. */
export async function resolveChallengePath(nameOrPath: string): Promise<{ specPath: string; builtin: boolean }> {
  if (!looksLikePath(nameOrPath)) {
    const builtinSpec = join(BUILTIN_CHALLENGES_DIR, nameOrPath, SPEC_FILE);
    if (await isFile(builtinSpec)) return { specPath: builtinSpec, builtin: true };
  }
  const p = resolve(nameOrPath);
  if (await isFile(p)) return { specPath: p, builtin: false };
  if (await isDir(p)) {
    const inside = join(p, SPEC_FILE);
    if (await isFile(inside)) return { specPath: inside, builtin: false };
    throw new SieveError(`no ${SPEC_FILE} in challenge directory ${p}`, { where: nameOrPath });
  }
  const names = (await listChallengeNames()).join(', ') || '(none)';
  throw new SieveError(`unknown challenge "${nameOrPath}": not a built-in challenge nor an existing path`, {
    where: 'challenge',
    examples: [`built-in challenges: ${names}`],
  });
}

/** Parses and validates challenge.yaml text. `where` names the file in errors. */
export function parseChallengeText(text: string, where: string): ReturnType<typeof challengeSchema.parse> {
  if (text.length > MAX_SPEC_BYTES)
    throw new SieveError(`${where} is ${text.length} characters; a challenge spec is at most ${MAX_SPEC_BYTES}`, { where });
  let doc;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw tooDeep(where);
  }
  // The parser reports running out of stack as an ordinary error; say what it means.
  if (doc.errors.some((e) => /Maximum call stack size exceeded/.test(e.message))) throw tooDeep(where);
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new SieveError(`invalid YAML in ${where}: ${firstLine(e.message)}`, {
      where,
      count: doc.errors.length,
      examples: doc.errors.map((x) => firstLine(x.message)),
    });
  }
  // Warnings are errors here: an unknown tag (!evil, !!js/function) would otherwise turn quietly into a string.
  if (doc.warnings.length) {
    const unknownTag = doc.warnings.some((w) => w.code === 'TAG_RESOLVE_FAILED');
    throw new SieveError(`${unknownTag ? 'unknown YAML tag' : 'questionable YAML'} in ${where}: ${firstLine(doc.warnings[0].message)}`, {
      where,
      count: doc.warnings.length,
      examples: [...doc.warnings.map((x) => firstLine(x.message)), ...(unknownTag ? ['a challenge spec uses plain YAML values; remove the tag'] : [])],
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError || err instanceof RangeError)) throw err;
    throw new SieveError(`invalid YAML in ${where}: aliases expand too far (${err.message.split('\n')[0]})`, {
      where,
      examples: [`at most ${MAX_ALIAS_COUNT} alias expansions; write the values out instead`],
    });
  }
  if (nestingDepth(raw) > MAX_SPEC_DEPTH) throw tooDeep(where);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SieveError(`${where} must be a YAML mapping (name:, pool:, task:, ...)`, { where });
  }
  const parsed = challengeSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new SieveError(`invalid challenge spec: ${issues[0]}`, { where, count: issues.length, examples: issues });
  }
  return parsed.data;
}

/** A spec nests a few levels (model.params, metrics.report); deeper is a mistake or an attack. */
const MAX_SPEC_DEPTH = 64;

function tooDeep(where: string): SieveError {
  return new SieveError(`invalid YAML in ${where}: nested more than ${MAX_SPEC_DEPTH} levels deep`, {
    where,
    examples: ['a challenge spec nests a few levels (model: params:, metrics: report:); flatten the lists and mappings'],
  });
}

/** Depth of nested arrays and objects, counted without recursion. */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > MAX_SPEC_DEPTH) return max;
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
  return max;
}

/** The first line of a YAML parser message, without the colon that introduces its excerpt. */
function firstLine(message: string): string {
  return message.split('\n')[0].replace(/:\s*$/, '');
}

/** "model.seeds[2]" from a zod issue path; "(top level)" for the root. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (!path.length) return '(top level)';
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

/** Loads a challenge by built-in name, directory or challenge.yaml path. */
export async function loadChallenge(nameOrPath: string): Promise<Challenge> {
  const { specPath, builtin } = await resolveChallengePath(nameOrPath);
  const bytes = await readFile(specPath).catch((err) => {
    throw fsError(err, 'read the challenge spec', specPath) ?? err;
  });
  if (bytes.length > MAX_SPEC_BYTES)
    throw new SieveError(`${specPath} is ${bytes.length} bytes; a challenge spec is at most ${MAX_SPEC_BYTES}`, { where: specPath });
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0)
    throw new SieveError(`${specPath} is not valid UTF-8 text`, {
      where: specPath,
      examples: [`byte ${bad} (line ${lineOfByte(bytes, bad)}); save the file as UTF-8`],
    });
  const spec = parseChallengeText(bytes.toString('utf8'), specPath);
  await checkModelParams(spec, specPath);
  const dir = dirname(specPath);
  const poolRef = looksLikePath(spec.pool) || isAbsolute(spec.pool) ? resolve(dir, spec.pool) : spec.pool;
  return {
    ...spec,
    specPath,
    dir,
    specSha256: createHash('sha256').update(bytes).digest('hex'),
    poolRef,
    builtin,
  };
}

async function listChallengeNames(): Promise<string[]> {
  const entries = await readdir(BUILTIN_CHALLENGES_DIR, { withFileTypes: true }).catch(() => []);
  const names: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() && (await isFile(join(BUILTIN_CHALLENGES_DIR, e.name, SPEC_FILE)))) names.push(e.name);
  }
  return names.sort();
}

/** Every built-in challenge, loaded and validated, in name order. */
export async function listChallenges(): Promise<Challenge[]> {
  const out: Challenge[] = [];
  for (const name of await listChallengeNames()) out.push(await loadChallenge(name));
  return out;
}

/** True once the challenge's `closes` moment has passed (private scores may then be shown). */
export function isClosed(challenge: Pick<Challenge, 'closes'>, now: Date = new Date()): boolean {
  if (!challenge.closes) return false;
  return Date.parse(challenge.closes) <= now.getTime();
}
