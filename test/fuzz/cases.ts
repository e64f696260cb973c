/**
 * What a fuzz case is: files to put in a fresh directory, the call to make on them, the
 * mutations that made them, and what the outcome must be. Cases are plain data built from a
 * seed, so the child process that runs them can rebuild any one from its seed alone.
 */
import type { ImportFormat } from '../../src/pool/import/index.ts';
import type { Task } from '../../src/challenge/schema.ts';

export type Family = 'import' | 'submission' | 'challenge';

export interface ImportCall {
  kind: 'import';
  input: string;
  format?: ImportFormat;
  labels?: string;
  testFile?: string;
  testLabels?: string;
  testFraction?: number;
  idColumn?: string;
  labelColumn?: string;
  groupColumns?: string[];
  classes?: string[];
  delimiter?: string;
}

export interface SubmissionCall {
  kind: 'submission';
  file: string;
  format?: string;
  task: Task;
  poolIds: string[];
  classNames: string[];
  budget: number;
}

export interface ChallengeCall {
  kind: 'challenge';
  file: string;
  /** parseChallengeText on the decoded text, or loadChallenge on the file. */
  via: 'text' | 'load';
}

export type Call = ImportCall | SubmissionCall | ChallengeCall;

export interface FuzzCase {
  family: Family;
  format: string;
  seed: number;
  /** Names of the mutations applied, in order ("valid" when none). */
  mutations: string[];
  files: { name: string; bytes: Uint8Array }[];
  call: Call;
  /**
   * 'reject' with a reason when accepting would be wrong (invalid UTF-8, a NaN in a numeric
   * column, duplicate ids, …); 'accept' for files that are valid; 'either' otherwise.
   */
  expect: { outcome: 'accept' | 'reject' | 'either'; why?: string };
}

export type OutcomeKind =
  | 'accepted'
  | 'rejected'
  /** A known failure, skipped (listed in known-failures.ts). */
  | 'known'
  // failures:
  | 'crash' // an exception that is not a SieveError
  | 'internal' // a SieveError that says "internal"
  | 'wrong-accept'
  | 'wrong-reject'
  | 'leftover'
  | 'timeout'
  | 'memory'
  | 'died'; // segfault, abort, out of heap

export const FAILURES: OutcomeKind[] = ['crash', 'internal', 'wrong-accept', 'wrong-reject', 'leftover', 'timeout', 'memory', 'died'];

export interface CaseResult {
  seed: number;
  format: string;
  mutations: string[];
  outcome: OutcomeKind;
  /** Error message, stack head, leftover names, … */
  detail?: string;
  ms?: number;
}
