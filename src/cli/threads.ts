/** `--threads N` of the commands that compute (evaluate, verify): caps every pool of threads. */
import { SieveError } from '../util/errors.ts';

/** Sets SIEVE_THREADS for this process (compute/pool.ts machineThreads reads it) when given. */
export function applyThreads(value: string | undefined): void {
  if (value === undefined) return;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SieveError(`--threads must be an integer ≥ 1, got "${value}"`, { where: '--threads' });
  process.env.SIEVE_THREADS = String(n);
}
