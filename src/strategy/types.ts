/**
 * Strategies: code or SQL a participant submits instead of a fixed subset. A strategy is run
 * on a pool (the challenge's, later its hidden variants) and returns what a submission file
 * would hold; that output is then validated and scored exactly like a submission
 * (src/submission/sources/strategy.ts turns it into the same RawSubmission a file gives).
 *
 * Kinds and who runs them:
 *   sql   one DuckDB SELECT over the views `pool` and `findings` (src/strategy/sql.ts)
 *   code  a TypeScript / JavaScript module exporting select | relabel | rank, in a sandboxed
 *         child process (its runner registers itself in src/strategy/runners.ts)
 *
 * Everything a runner may see is participant data: the pool's train split (read through
 * src/pool/read.ts) and the audit findings computed from it (src/strategy/findings.ts).
 * Never the test split, the truth file or a variant's files.
 */
import type { Pool } from '../pool/read.ts';
import type { TaskName } from '../tasks/types.ts';
import type { PoolFindings } from './findings.ts';

/** Every strategy kind (a challenge.yaml's `strategies` lists those it accepts). */
export const STRATEGY_KINDS = ['sql', 'code'] as const;
export type StrategyKind = (typeof STRATEGY_KINDS)[number];

/**
 * What a strategy returns: ids in order (for ranking tasks the order is the ranking), and for
 * relabel tasks one class name per id. Nothing is checked here: validation is the
 * submission's (unknown, duplicate, over-budget ids and bad labels are the same errors).
 */
export interface StrategyOutput {
  /** null where the strategy gave no id (validation reports it as a missing id). */
  ids: (string | null)[];
  labels?: (string | null)[];
}

/** A strategy file as read once: its bytes and their sha256 are what a record names. */
export interface StrategySource {
  /** Absolute path. */
  path: string;
  kind: StrategyKind;
  bytes: Uint8Array;
  /** The file's text (strict UTF-8). */
  text: string;
  sha256: string;
}

/** Limits a runner enforces; defaults in src/strategy/limits.ts. */
export interface StrategyLimits {
  /** Wall-clock time before the run is stopped. */
  timeoutMs: number;
  /** Memory the run may use (DuckDB memory_limit; the code sandbox's heap cap). */
  memoryMb: number;
  /** Most rows (ids) the output may hold. */
  maxRows: number;
  /** Most bytes the output may take (ids and labels as UTF-8, plus separators). */
  maxOutputBytes: number;
}

/**
 * Everything a run gets. `pool` is a participant-side reference: runners read it only through
 * src/pool/read.ts (which refuses evaluator-only files). `findings` is computed on first call
 * and cached by the pool's content hash, so SQL and code strategies on one pool share it.
 */
export interface StrategyInput {
  task: TaskName;
  /** Most entries the output may hold (the challenge's budget; every train row for ranking). */
  budget: number;
  /** The seed of the run (the challenge's first model seed); same seed, same output. */
  seed: number;
  pool: Pool;
  /** The pool's class names: relabel labels must be one of them. */
  classNames: readonly string[];
  findings: () => Promise<PoolFindings>;
  limits: StrategyLimits;
  /** Code strategies: run even where no network isolation is available (explicit user flag). */
  allowUnisolated?: boolean;
}

/** One strategy kind's runner. */
export interface StrategyRunner {
  kind: StrategyKind;
  run(source: StrategySource, input: StrategyInput): Promise<StrategyOutput>;
}

/** A finished run: the output and the hashes a result record stores. */
export interface StrategyRun {
  kind: StrategyKind;
  path: string;
  /** sha256 of the strategy file's bytes. */
  strategySha256: string;
  output: StrategyOutput;
  /** sha256 of the output as the submission CSV `sieve strategy run --out` writes (outputCsv). */
  outputSha256: string;
  seconds: number;
}
