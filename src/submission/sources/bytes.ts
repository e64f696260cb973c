/**
 * A submission held in memory (a server's upload): the same formats as a file, named by the
 * upload's file name (its extension picks the format unless `format` is given). Parquet is
 * read by DuckDB from disk, so its bytes go to a private temporary file for the parse.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SieveError } from '../../util/errors.ts';
import { trackTemp } from '../../util/temps.ts';
import { formatFromPath, MAX_SUBMISSION_BYTES, parseSubmissionBytes, sha256Hex } from '../parse.ts';
import { SUBMISSION_FORMATS, type SubmissionFormat } from '../types.ts';
import type { SubmissionSource } from './types.ts';

export function bytesSource(bytes: Uint8Array, opts: { name: string; format?: string }): SubmissionSource {
  return {
    kind: 'bytes',
    name: opts.name,
    async read(target) {
      if (bytes.length > MAX_SUBMISSION_BYTES) {
        throw new SieveError(`submission is ${bytes.length} bytes; the limit is ${MAX_SUBMISSION_BYTES}`, { where: opts.name });
      }
      let format: SubmissionFormat;
      if (opts.format !== undefined) {
        if (!(SUBMISSION_FORMATS as readonly string[]).includes(opts.format)) {
          throw new SieveError(`unknown submission format "${opts.format}"`, { where: 'format', examples: [...SUBMISSION_FORMATS] });
        }
        format = opts.format as SubmissionFormat;
      } else format = formatFromPath(opts.name);
      let raw;
      if (format === 'parquet') {
        const dir = await mkdtemp(join(tmpdir(), 'sieve-upload-'));
        const untrack = trackTemp(dir);
        try {
          const file = join(dir, 'submission.parquet');
          await writeFile(file, bytes);
          raw = await parseSubmissionBytes(bytes, format, opts.name, { maxRows: target.rules.poolIds.length }, file);
        } finally {
          await rm(dir, { recursive: true, force: true });
          untrack();
        }
      } else raw = await parseSubmissionBytes(bytes, format, opts.name, { maxRows: target.rules.poolIds.length });
      return { raw, path: opts.name, sha256: sha256Hex(bytes), bytes: bytes.length };
    },
  };
}
