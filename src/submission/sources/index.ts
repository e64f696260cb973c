/** Submission sources (a file, uploaded bytes, a strategy's output), one file each. */
import type { Progress } from '../../util/progress.ts';
import { isStrategyPath } from '../../strategy/runners.ts';
import { fileSource } from './file.ts';
import { strategySource } from './strategy.ts';
import type { SubmissionSource } from './types.ts';

export * from './types.ts';
export { fileSource } from './file.ts';
export { bytesSource } from './bytes.ts';
export { strategySource, outputAsRaw, type StrategyProvenance, type StrategyReadSubmission } from './strategy.ts';

/** The source a command-line path names: a strategy (.sql, .ts, .mjs, .js) or a submission file. */
export function sourceForPath(path: string, opts: { format?: string; allowUnisolated?: boolean; progress?: Progress } = {}): SubmissionSource {
  return isStrategyPath(path) && opts.format === undefined
    ? strategySource(path, { allowUnisolated: opts.allowUnisolated, progress: opts.progress })
    : fileSource(path, { format: opts.format });
}
