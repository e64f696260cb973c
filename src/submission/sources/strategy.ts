/**
 * A strategy's output as a submission: the strategy runs on the challenge's pool (participant
 * data only) under the challenge's task and budget, and its output becomes the rows a CSV
 * file would hold (format `csv`; sha256 and size of that CSV, src/strategy/output.ts), each
 * entry named by its output row in messages. Validation then treats it like any file.
 */
import { readStrategy, runStrategy } from '../../strategy/runners.ts';
import { strategyLimits } from '../../strategy/limits.ts';
import { outputCsv } from '../../strategy/output.ts';
import type { StrategyKind, StrategyLimits, StrategyRun, StrategySource } from '../../strategy/types.ts';
import type { Challenge } from '../../challenge/schema.ts';
import { SieveError } from '../../util/errors.ts';
import type { Progress } from '../../util/progress.ts';
import type { ReadSubmission } from '../parse.ts';
import type { RawSubmission } from '../types.ts';
import type { SubmissionSource } from './types.ts';

/** What a result record keeps of the strategy behind a submission. */
export interface StrategyProvenance {
  kind: StrategyRun['kind'];
  /** Absolute path of the strategy file (an upload to a server: its file name). */
  path: string;
  /** sha256 of the strategy file's bytes. */
  sha256: string;
  /** sha256 of its output as a submission CSV (equal to the submission's sha256). */
  output_sha256: string;
  /** The seed the strategy ran with. */
  seed: number;
}

export interface StrategyReadSubmission extends ReadSubmission {
  strategy: StrategyProvenance;
  run: StrategyRun;
}

/** The output rows as a RawSubmission: columns the task's, origins the output rows (1-based). */
export function outputAsRaw(run: StrategyRun): RawSubmission {
  const { ids, labels } = run.output;
  return {
    format: 'csv',
    columns: labels !== undefined ? ['id', 'label'] : ['id'],
    ids: [...ids],
    labels: labels !== undefined ? [...labels] : null,
    origins: Int32Array.from({ length: ids.length }, (_, i) => i + 1),
    originKind: 'row',
  };
}

const KIND_TEXT: Record<StrategyKind, string> = { sql: 'SQL (.sql)', code: 'code (.ts, .mts, .mjs, .js)' };

/** Refuses a strategy kind the challenge does not take (challenge.yaml `strategies`). */
export function checkStrategyAccepted(challenge: Pick<Challenge, 'name' | 'strategies'>, kind: StrategyKind, where: string): void {
  if (challenge.strategies.includes(kind)) return;
  const accepted = challenge.strategies.map((k) => KIND_TEXT[k]);
  throw new SieveError(
    accepted.length
      ? `challenge ${challenge.name} does not accept ${KIND_TEXT[kind]} strategies; it accepts ${accepted.join(' and ')} strategies and submission files`
      : `challenge ${challenge.name} takes submission files only, not strategies`,
    { where, examples: [`its challenge.yaml: strategies: [${challenge.strategies.join(', ')}]`, 'run the strategy locally (sieve strategy run) and submit its output file instead'] },
  );
}

export function strategySource(
  strategy: string | StrategySource,
  opts: { limits?: Partial<StrategyLimits>; allowUnisolated?: boolean; progress?: Progress } = {},
): SubmissionSource & {
  read(target: Parameters<SubmissionSource['read']>[0]): Promise<StrategyReadSubmission>;
} {
  return {
    kind: 'strategy',
    name: typeof strategy === 'string' ? strategy : strategy.path,
    async read({ challenge, pool, rules }) {
      const source = typeof strategy === 'string' ? await readStrategy(strategy) : strategy;
      checkStrategyAccepted(challenge, source.kind, source.path);
      const seed = challenge.model.seeds[0];
      const run = await runStrategy(source, {
        task: challenge.task,
        budget: rules.budget ?? rules.poolIds.length,
        seed,
        pool,
        classNames: pool.manifest.classes,
        // The audit behind the findings (every analyser) loads only when a strategy asks for them.
        findings: async () => (await import('../../strategy/findings.ts')).poolFindings(pool, { progress: opts.progress }),
        limits: strategyLimits(opts.limits),
        allowUnisolated: opts.allowUnisolated,
      });
      const csvBytes = Buffer.byteLength(outputCsv(run.output), 'utf8');
      return {
        raw: outputAsRaw(run),
        path: source.path,
        sha256: run.outputSha256,
        bytes: csvBytes,
        strategy: { kind: run.kind, path: source.path, sha256: run.strategySha256, output_sha256: run.outputSha256, seed },
        run,
      };
    },
  };
}
