/**
 * Reads a submission file: picks the format from the extension (or an explicit format),
 * hashes the bytes, and parses into a RawSubmission. Nothing is checked against a pool here.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { SieveError, fsError } from '../util/errors.ts';
import { parseJson } from './json.ts';
import { parseCsv, parseTxt } from './text.ts';
import { SUBMISSION_FORMATS, type RawSubmission, type SubmissionFormat } from './types.ts';

/** Extension → submission format. */
export const SUBMISSION_EXTENSIONS: Readonly<Record<string, SubmissionFormat>> = {
  '.csv': 'csv',
  '.txt': 'txt',
  '.ids': 'txt',
  '.json': 'json',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
  '.arrows': 'arrow',
};

/** Largest submission accepted; a pool's ids fit many times over. */
export const MAX_SUBMISSION_BYTES = 256 * 1024 * 1024;

/** The format a file name implies, or a SieveError listing the known extensions. */
export function formatFromPath(path: string): SubmissionFormat {
  const ext = extname(path).toLowerCase();
  const f = SUBMISSION_EXTENSIONS[ext];
  if (f) return f;
  throw new SieveError(`cannot tell the submission format from the extension "${ext || '(none)'}"`, {
    where: path,
    examples: [`known: ${Object.keys(SUBMISSION_EXTENSIONS).join(' ')}`, 'or pass --format csv|txt|json|parquet|arrow'],
  });
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ReadSubmission {
  raw: RawSubmission;
  /** Absolute path of the file read. */
  path: string;
  sha256: string;
  bytes: number;
}

/** Reads and parses a submission file. `format` overrides the extension. */
export async function readSubmission(path: string, opts: { format?: string } & ParseLimits = {}): Promise<ReadSubmission> {
  const abs = resolve(path);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new SieveError(`submission file not found: ${path}`, { where: 'submission' });
  if (!st.isFile()) throw new SieveError(`submission is not a file: ${path}`, { where: 'submission' });
  if (st.size > MAX_SUBMISSION_BYTES) {
    throw new SieveError(`submission file is ${st.size} bytes; the limit is ${MAX_SUBMISSION_BYTES}`, { where: path });
  }
  let format: SubmissionFormat;
  if (opts.format !== undefined) {
    if (!(SUBMISSION_FORMATS as readonly string[]).includes(opts.format)) {
      throw new SieveError(`unknown submission format "${opts.format}"`, { where: '--format', examples: [...SUBMISSION_FORMATS] });
    }
    format = opts.format as SubmissionFormat;
  } else {
    format = formatFromPath(abs);
  }
  const bytes = new Uint8Array(
    await readFile(abs).catch((err) => {
      throw fsError(err, 'read the submission', abs) ?? err;
    }),
  );
  const raw = await parseSubmissionBytes(bytes, format, abs, { maxRows: opts.maxRows });
  return { raw, path: abs, sha256: sha256Hex(bytes), bytes: bytes.length };
}

/**
 * What a parse may refuse before reading the rows. `maxRows`: the pool's train rows (a valid
 * submission names each at most once, so a file with more rows cannot be valid).
 */
export interface ParseLimits {
  maxRows?: number;
}

/**
 * Parses bytes already in memory; `path` names the file in messages. Parquet is read by DuckDB
 * from disk: from `file` when the bytes were copied there (an upload's private temporary
 * file, never named in messages), else from `path`.
 */
export async function parseSubmissionBytes(bytes: Uint8Array, format: SubmissionFormat, path: string, limits: ParseLimits = {}, file = path): Promise<RawSubmission> {
  switch (format) {
    case 'csv': return parseCsv(bytes, path, limits);
    case 'txt': return parseTxt(bytes, path, limits);
    case 'json': return parseJson(bytes, path, limits);
    // Parquet and Arrow need DuckDB and apache-arrow: loaded only for those formats.
    case 'parquet': return (await import('./binary.ts')).parseParquet(bytes, file, path, limits);
    case 'arrow': return (await import('./binary.ts')).parseArrow(bytes, path, limits);
  }
}
