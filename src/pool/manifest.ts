/**
 * The pool manifest (`pool.json`, format `sieve-pool/1`): what a pool holds, where its files
 * are, who may read them, and hashes that pin its exact content. Schema in zod so a
 * hand-edited or truncated manifest fails with a message naming the offending field.
 */
import { createHash } from 'node:crypto';
import { hashFileStreamed } from '../util/hash-cache.ts';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SieveError } from '../util/errors.ts';
import { FEATURE_KINDS } from './choices.ts';
import { TEXT_DIMS } from '../../compute/text-features.ts';

export const POOL_FORMAT = 'sieve-pool/1';
export const MANIFEST_FILE = 'pool.json';

const nonEmpty = z.string().min(1);
const count = z.number().int().nonnegative();

export const FeatureKind = z.enum(FEATURE_KINDS);
export type FeatureKind = z.infer<typeof FeatureKind>;

export const FeatureSpec = z
  .object({
    name: nonEmpty,
    kind: FeatureKind,
    /** embedding: number of dimensions (Parquet stores FLOAT[], so this is the authority). */
    dim: z.number().int().positive().optional(),
    /** pixels: image geometry; the BLOB holds width × height × channels bytes, row-major. */
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    channels: z.number().int().positive().optional(),
    /** categorical: the categories in one-hot order. */
    categories: z.array(z.string()).optional(),
    description: z.string().optional(),
  })
  .superRefine((f, ctx) => {
    if (f.kind === 'embedding' && f.dim === undefined)
      ctx.addIssue({ code: 'custom', message: `embedding feature "${f.name}" needs "dim"` });
    if (f.kind === 'pixels' && (f.width === undefined || f.height === undefined))
      ctx.addIssue({ code: 'custom', message: `pixels feature "${f.name}" needs "width" and "height"` });
    if (f.kind === 'categorical' && !f.categories)
      ctx.addIssue({ code: 'custom', message: `categorical feature "${f.name}" needs "categories"` });
  });
export type FeatureSpec = z.infer<typeof FeatureSpec>;

export const GroupSpec = z.object({ name: nonEmpty, description: z.string().optional() });
export type GroupSpec = z.infer<typeof GroupSpec>;

export const SplitStats = z.object({
  rows: count,
  /** Rows per class name (every class listed, zeros included). */
  class_counts: z.record(z.string(), count),
});
export type SplitStats = z.infer<typeof SplitStats>;

export const FileRole = z.enum(['train', 'test', 'truth', 'duplicates']);
export type FileRole = z.infer<typeof FileRole>;
export const Visibility = z.enum(['participant', 'evaluator']);
export type Visibility = z.infer<typeof Visibility>;

export const FileEntry = z.object({
  path: nonEmpty.refine((p) => !p.includes('..') && !p.startsWith('/'), 'file path must stay inside the pool directory'),
  role: FileRole,
  visibility: Visibility,
  rows: count,
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits'),
});
export type FileEntry = z.infer<typeof FileEntry>;

/** One column added by `sieve embed` (src/embed/): what computed it, enough to do it again. */
export const EmbeddingRecord = z.object({
  column: nonEmpty,
  source_column: nonEmpty,
  modality: z.enum(['text', 'image']),
  /** `--model` as given (a folder's name or a hub id). */
  model: nonEmpty,
  /** sha256 over the list of model files below ("<sha256>  <path>" lines). */
  model_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  model_files: z.array(z.object({ path: nonEmpty, bytes: count, sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  dtype: nonEmpty,
  /** text: "mean" (over the attention mask); images: "image_embeds", "pooler_output" or "cls". */
  pooling: nonEmpty,
  normalised: z.boolean(),
  dim: z.number().int().positive(),
  batch: z.number().int().positive(),
  library: nonEmpty,
  library_version: nonEmpty,
  /** The pool version the column was added to. */
  derived_from: z.object({ name: nonEmpty, version: nonEmpty, content_hash: z.string().regex(/^[0-9a-f]{64}$/) }),
});
export type EmbeddingRecord = z.infer<typeof EmbeddingRecord>;

export const Datasheet = z.object({
  motivation: z.string(),
  composition: z.string(),
  collection: z.string(),
  preprocessing: z.string(),
  uses: z.string(),
  known_issues: z.array(z.string()),
  /** Noise or duplicates planted on purpose (rates, kinds, seeds), for synthetic/challenge pools. */
  injected: z.record(z.string(), z.unknown()).optional(),
  /** Embedding columns added by `sieve embed`, oldest first. */
  embeddings: z.array(EmbeddingRecord).optional(),
});
export type Datasheet = z.infer<typeof Datasheet>;

export const PoolManifest = z.object({
  format: z.literal(POOL_FORMAT),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'name: letters, digits, ".", "_" and "-" only'),
  version: nonEmpty,
  description: z.string(),
  source: z.string(),
  licence: z.string(),
  citation: z.string(),
  task: z.literal('classification'),
  id_column: z.literal('id'),
  label_column: z.literal('label'),
  classes: z.array(nonEmpty).min(2, 'a classification pool needs at least two classes'),
  features: z.array(FeatureSpec).min(1, 'a pool needs at least one feature column'),
  groups: z.array(GroupSpec),
  splits: z.object({ train: SplitStats, test: SplitStats.optional() }),
  files: z.array(FileEntry),
  content_hash: z.string().regex(/^[0-9a-f]{64}$/),
  created_by: z.object({ tool: z.literal('datasieve'), version: nonEmpty }),
  datasheet: Datasheet,
  /** Recipe that built the pool (path relative to the package root), for built-in pools. */
  recipe: z.string().optional(),
  /**
   * Set on a challenge's hidden variant pool (src/evaluate/variants.ts): the same recipe with
   * another seed, built for the evaluator only, so every file of it is evaluator-only.
   */
  variant: z
    .object({
      recipe: nonEmpty,
      recipe_version: z.number().int().positive(),
      seed: z.number().int().nonnegative(),
      /** content_hash of the pool the variant was drawn from (none for generated pools). */
      source: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
    })
    .strict()
    .optional(),
});
export type PoolManifest = z.infer<typeof PoolManifest>;

/** The manifest without what the writer computes (files, hashes, tool, split counts). */
export type ManifestDraft = Omit<PoolManifest, 'format' | 'files' | 'content_hash' | 'created_by' | 'splits'> & {
  splits?: PoolManifest['splits'];
};

/** JSON with object keys sorted at every level: one byte sequence per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * sha256 over the canonical manifest minus `content_hash` and `created_by` (so rebuilding
 * with a newer sieve keeps the hash when the content is the same). File hashes are part of
 * the manifest, so the data is covered too.
 */
export function contentHash(m: Omit<PoolManifest, 'content_hash' | 'created_by'> & Partial<PoolManifest>): string {
  const { content_hash: _h, created_by: _c, ...rest } = m;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** Turns zod issues into one readable line per problem, with the JSON path. */
export function describeIssues(err: z.ZodError): string[] {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/** Validates a parsed manifest, with errors naming the field; `where` names the file. */
export function parseManifest(raw: unknown, where: string): PoolManifest {
  const r = PoolManifest.safeParse(raw);
  if (!r.success) {
    const problems = describeIssues(r.error);
    throw new SieveError(`invalid pool manifest (${problems.length} problem${problems.length > 1 ? 's' : ''})`, {
      where,
      examples: problems,
      count: problems.length,
    });
  }
  const m = r.data;
  checkConsistency(m, where);
  return m;
}

/** Cross-field rules zod cannot express per field. */
function checkConsistency(m: PoolManifest, where: string): void {
  const problems: string[] = [];
  const dupes = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
  for (const d of dupes(m.classes)) problems.push(`classes: "${d}" listed twice`);
  const columnNames = [...m.features.map((f) => f.name), ...m.groups.map((g) => g.name)];
  for (const d of dupes(columnNames)) problems.push(`column "${d}" declared twice (features/groups)`);
  for (const c of columnNames) if (c === 'id' || c === 'label') problems.push(`column name "${c}" is reserved`);
  for (const d of dupes(m.files.map((f) => f.path))) problems.push(`files: "${d}" listed twice`);
  const train = m.files.filter((f) => f.role === 'train');
  if (train.length !== 1) problems.push(`files: need exactly one train file, found ${train.length}`);
  else if (m.variant && train[0].visibility !== 'evaluator') problems.push('files: a hidden variant pool keeps its train file evaluator-only');
  else if (!m.variant && train[0].visibility !== 'participant') problems.push('files: the train file must be participant-visible');
  if (m.variant) for (const f of m.files) if (f.visibility !== 'evaluator') problems.push(`files: ${f.path} of a hidden variant pool must be evaluator-only`);
  for (const f of m.files) {
    if ((f.role === 'truth' || f.role === 'duplicates') && f.visibility !== 'evaluator')
      problems.push(`files: ${f.path} (${f.role}) must be evaluator-only`);
  }
  const test = m.files.filter((f) => f.role === 'test');
  if (test.length > 1) problems.push(`files: at most one test file, found ${test.length}`);
  if (test.length === 1 && !m.splits.test) problems.push('splits.test missing while a test file is listed');
  if (test.length === 0 && m.splits.test) problems.push('splits.test given but no test file listed');
  for (const [split, stats] of Object.entries(m.splits)) {
    if (!stats) continue;
    const file = m.files.find((f) => f.role === split);
    if (file && file.rows !== stats.rows) problems.push(`splits.${split}.rows = ${stats.rows} but ${file.path} has ${file.rows} rows`);
    const sum = Object.values(stats.class_counts).reduce((a, b) => a + b, 0);
    if (sum !== stats.rows) problems.push(`splits.${split}.class_counts sum to ${sum}, not ${stats.rows}`);
    for (const c of Object.keys(stats.class_counts))
      if (!m.classes.includes(c)) problems.push(`splits.${split}.class_counts: unknown class "${c}"`);
  }
  if (problems.length)
    throw new SieveError('inconsistent pool manifest', { where, examples: problems, count: problems.length });
  const expected = contentHash(m);
  if (expected !== m.content_hash)
    throw new SieveError('pool manifest content_hash does not match its content (edited by hand?)', {
      where,
      examples: [`recorded ${m.content_hash}`, `computed ${expected}`],
    });
}

/** Reads and validates `<dir>/pool.json`. */
export async function loadManifest(dir: string): Promise<PoolManifest> {
  const path = join(resolve(dir), MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SieveError(code === 'ENOENT' ? `not a pool: ${MANIFEST_FILE} not found` : `cannot read ${MANIFEST_FILE}: ${code}`, {
      where: path,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SieveError(`${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`, { where: path });
  }
  return parseManifest(raw, path);
}

/** sha256 and size of a file, streamed (the one implementation lives in src/util/hash-cache.ts). */
export const hashFile = hashFileStreamed;

export interface VerifyReport {
  ok: boolean;
  files: { path: string; ok: boolean; problem?: string }[];
}

/** Recomputes every listed file's size and sha256 against the manifest. */
export async function verifyPool(dir: string, manifest?: PoolManifest): Promise<VerifyReport> {
  const m = manifest ?? (await loadManifest(dir));
  const files: VerifyReport['files'] = [];
  for (const f of m.files) {
    const p = join(resolve(dir), f.path);
    const exists = await stat(p).then(() => true, () => false);
    if (!exists) {
      files.push({ path: f.path, ok: false, problem: 'missing' });
      continue;
    }
    const { sha256, bytes } = await hashFile(p);
    if (bytes !== f.bytes) files.push({ path: f.path, ok: false, problem: `size ${bytes} != recorded ${f.bytes}` });
    else if (sha256 !== f.sha256) files.push({ path: f.path, ok: false, problem: `sha256 ${sha256} != recorded ${f.sha256}` });
    else files.push({ path: f.path, ok: true });
  }
  return { ok: files.every((f) => f.ok), files };
}

/** Width of one row of a feature in the numeric matrix the reader builds. */
export function featureWidth(f: FeatureSpec): number {
  switch (f.kind) {
    case 'embedding':
      return f.dim!;
    case 'pixels':
      return f.width! * f.height! * (f.channels ?? 1);
    case 'numeric':
      return 1;
    case 'categorical':
      return f.categories!.length;
    case 'text':
      // Hashed TF-IDF of words and character n-grams (compute/text-features.ts).
      return TEXT_DIMS;
  }
}
