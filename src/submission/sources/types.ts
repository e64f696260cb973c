/**
 * Where a submission comes from. Every source — a file on disk, bytes uploaded to a server, a
 * strategy's output — gives the same `ReadSubmission` (the parsed rows, a sha256, a size), so
 * one validation and one scoring path serve them all. Adding a source is one file here.
 */
import type { Challenge } from '../../challenge/schema.ts';
import type { Pool } from '../../pool/read.ts';
import type { ReadSubmission } from '../parse.ts';
import type { SubmissionRules } from '../validate.ts';

/** What a source may need to produce its rows: a strategy runs on the challenge's pool under its rules. */
export interface SourceTarget {
  challenge: Challenge;
  pool: Pool;
  rules: SubmissionRules;
}

export interface SubmissionSource {
  kind: 'file' | 'bytes' | 'strategy';
  /** For messages: the path, or the upload's name. */
  name: string;
  /** Reads (or produces) the submission once. */
  read(target: SourceTarget): Promise<ReadSubmission>;
}
