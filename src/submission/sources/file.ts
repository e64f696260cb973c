/** A submission file on disk (CSV, TXT, JSON, Parquet, Arrow). */
import { readSubmission } from '../parse.ts';
import type { SubmissionSource } from './types.ts';

export function fileSource(path: string, opts: { format?: string } = {}): SubmissionSource {
  return { kind: 'file', name: path, read: (target) => readSubmission(path, { format: opts.format, maxRows: target.rules.poolIds.length }) };
}
