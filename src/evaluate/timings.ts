/**
 * Where the wall time of one evaluation goes (`sieve evaluate --timings`). A diagnostic only:
 * it is printed, and shown under `timings` in `--json`, but never written into a result record,
 * so nothing hashed or compared by `sieve verify` depends on it. Imports nothing (the CLI
 * creates one before loading any service).
 */

/** The phases, in the order an evaluation runs them. */
export const TIMING_PHASES = [
  'startup', 'modules', 'challenge', 'pool read', 'submission', 'preprocessing',
  'fits', 'prediction', 'metrics', 'bootstrap', 'variants', 'record', 'output',
] as const;
export type TimingPhase = (typeof TIMING_PHASES)[number];

export const PHASE_NOTES: Record<TimingPhase, string> = {
  startup: 'process start until the command runs (node, launcher, CLI parsing)',
  modules: "loading the evaluator's modules",
  challenge: 'reading challenge.yaml',
  'pool read': 'opening the pool, checking its files, reading the train and test splits',
  submission: 'reading and validating the submission (a strategy: running it)',
  preprocessing: 'the fixed preprocessing (fitted on the pool) or its cached result',
  fits: 'fitting the model, once per seed (once for a seedless model)',
  prediction: 'predicting the test rows',
  metrics: 'per-row scores, metrics per seed and part, counts, replays',
  bootstrap: 'bootstrap resamples of the test rows (per part)',
  variants: "a strategy's re-runs on the hidden variants",
  record: 'assembling the result record (and writing --out)',
  output: 'printing',
};

export class Timings {
  readonly seconds = new Map<TimingPhase, number>();

  /** `startupAt`: performance.now() when the command started (Node's clock starts with the process): the start-up phase. */
  constructor(startupAt?: number) {
    if (startupAt !== undefined) this.add('startup', startupAt / 1000);
  }

  add(phase: TimingPhase, seconds: number): void {
    this.seconds.set(phase, (this.seconds.get(phase) ?? 0) + seconds);
  }

  /** Runs `fn`, adding its wall time to `phase`. */
  async time<T>(phase: TimingPhase, fn: () => T | Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(phase, (performance.now() - t0) / 1000);
    }
  }

  /** Seconds since the process started (the end-to-end time so far). */
  elapsed(): number {
    return performance.now() / 1000;
  }

  /**
   * Phase → seconds in phase order (rounded to the millisecond), `other` for what no phase
   * covers, and the total since the process started.
   */
  toJSON(): { phases: Record<string, number>; other: number; total: number } {
    const phases: Record<string, number> = {};
    let sum = 0;
    for (const p of TIMING_PHASES) {
      const s = this.seconds.get(p);
      if (s === undefined) continue;
      phases[p] = round3(s);
      sum += s;
    }
    const total = this.elapsed();
    return { phases, other: round3(Math.max(0, total - sum)), total: round3(total) };
  }

  /** Lines for the terminal: phase, seconds, share of the total, what it covers. */
  lines(): string[] {
    const { phases, other, total } = this.toJSON();
    const rows: [string, number, string][] = Object.entries(phases).map(([p, s]) => [p, s, PHASE_NOTES[p as TimingPhase]]);
    rows.push(['other', other, 'everything between the phases above'], ['total', total, 'process start to now']);
    const width = Math.max(...rows.map(([p]) => p.length));
    return rows.map(([p, s, note]) => `${p.padEnd(width)}  ${s.toFixed(3).padStart(7)} s  ${total > 0 ? `${((100 * s) / total).toFixed(0).padStart(3)}%` : '   -'}  ${note}`);
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
