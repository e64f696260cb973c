/**
 * Submissions in one call: read the file, then validate it against a challenge's task and
 * budget and the pool's ids and classes.
 */
import type { ChallengeSpec } from '../challenge/schema.ts';
import { taskOf } from '../tasks/index.ts';
import { readSubmission, type ReadSubmission } from './parse.ts';
import type { ValidSubmission } from './types.ts';
import { validateSubmission, type SubmissionRules } from './validate.ts';

export * from './types.ts';
export { readSubmission, parseSubmissionBytes, formatFromPath, sha256Hex } from './parse.ts';
export { validateSubmission, expectedColumns, indexIds, type SubmissionRules } from './validate.ts';

/** The rules a challenge imposes on submissions against a pool with these train ids/classes. */
export function rulesFor(
  challenge: Pick<ChallengeSpec, 'task' | 'budget'>,
  pool: { ids: readonly string[]; classNames: readonly string[] },
): SubmissionRules {
  const { limit, name } = taskOf(challenge.task).budget(challenge.budget, pool.ids.length);
  return { task: challenge.task, poolIds: pool.ids, classNames: pool.classNames, budget: limit, budgetName: name };
}

/** Reads and validates a submission file; throws a SubmissionError on the first broken rule. */
export async function loadSubmission(
  path: string,
  rules: SubmissionRules,
  opts: { format?: string; idIndex?: Map<string, number> } = {},
): Promise<{ file: ReadSubmission; submission: ValidSubmission }> {
  const file = await readSubmission(path, { format: opts.format, maxRows: rules.poolIds.length });
  const submission = validateSubmission(file.raw, rules, { where: file.path, sha256: file.sha256, idIndex: opts.idIndex });
  return { file, submission };
}
