/** `--threads N` of the commands that compute (evaluate, verify): caps every pool of threads. */
import { SieveError } from '../util/errors.ts';

/**
 * SIEVE_THREADS as the user set it in the environment, checked before any command runs: a value
 * that is not a whole number ≥ 1 is refused (compute/pool.ts would otherwise ignore it and use
 * every core, which is not what a user keeping sieve to part of a machine asked for).
 */
export function checkThreadsEnv(): void {
  const value = process.env.SIEVE_THREADS;
  if (value === undefined || value === '') return;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SieveError(`SIEVE_THREADS must be an integer ≥ 1, got "${value}"`, { where: 'SIEVE_THREADS (environment)' });
}

/** Sets SIEVE_THREADS for this process (compute/pool.ts machineThreads reads it) when given. */
export function applyThreads(value: string | undefined): void {
  if (value === undefined) return;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SieveError(`--threads must be an integer ≥ 1, got "${value}"`, { where: '--threads' });
  process.env.SIEVE_THREADS = String(n);
}
