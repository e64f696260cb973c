/**
 * Shapes of a submission on its way in: as read from the file (`RawSubmission`, nothing
 * checked against the pool yet) and once validated (`ValidSubmission`, indices into the pool).
 */
import type { TaskName } from '../tasks/types.ts';
import { SieveError } from '../util/errors.ts';

export const SUBMISSION_FORMATS = ['csv', 'txt', 'json', 'parquet', 'arrow'] as const;
export type SubmissionFormat = (typeof SUBMISSION_FORMATS)[number];

/** What went wrong, as a stable code (for tests, the server and --json output). */
export type SubmissionProblem =
  | 'empty'
  | 'encoding'
  | 'wrong-format'
  | 'syntax'
  | 'missing-columns'
  | 'extra-columns'
  | 'missing-ids'
  | 'unknown-ids'
  | 'duplicate-ids'
  | 'missing-labels'
  | 'bad-labels'
  | 'over-budget';

/** A rejected submission. `problem` says which rule failed; examples hold the first offenders. */
export class SubmissionError extends SieveError {
  readonly problem: SubmissionProblem;
  constructor(
    problem: SubmissionProblem,
    message: string,
    opts: { where?: string; examples?: (string | number)[]; count?: number } = {},
  ) {
    super(message, { ...opts, exitCode: 2 });
    this.problem = problem;
  }
  override toJSON() {
    return { ...super.toJSON(), problem: this.problem };
  }
}

/**
 * A submission as read from its file: one entry per row/line/item, in file order.
 * Values are strings as written (JSON integers keep their digits); TXT ids and CSV fields lose
 * surrounding whitespace (outside quotes), nothing else is changed or dropped.
 */
export interface RawSubmission {
  format: SubmissionFormat;
  /** Column (or JSON key) names found, in order. TXT and JSON id arrays report ["id"]. */
  columns: string[];
  /** The id column; null where the value is missing (NULL, JSON null, absent key). */
  ids: (string | null)[];
  /** The label column when there is one. */
  labels: (string | null)[] | null;
  /** Where entry i came from, for messages: 1-based line numbers (text) or row/item numbers. */
  origins: Int32Array;
  /** What `origins` count: text lines, table rows (1-based) or JSON array items (0-based). */
  originKind: 'line' | 'row' | 'item';
}

/** A submission that passed every rule, resolved to row indices of the pool's train split. */
export interface ValidSubmission {
  task: TaskName;
  format: SubmissionFormat;
  /** sha256 of the submitted file's bytes. */
  sha256: string;
  /** Train-row indices, in submission order. */
  indices: Int32Array;
  /** relabel: the new class index for each entry of `indices`. */
  labels?: Int32Array;
  rows: number;
}

/** "line 4" / "row 4" / "item [3]" for entry i. */
export function originOf(raw: Pick<RawSubmission, 'origins' | 'originKind'>, i: number): string {
  const o = raw.origins[i];
  return raw.originKind === 'item' ? `item [${o}]` : `${raw.originKind} ${o}`;
}
