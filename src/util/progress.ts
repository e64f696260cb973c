import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';

// cli-progress is loaded only when a bar is about to be drawn (a terminal, a slow command).
const require = createRequire(import.meta.url);

export interface Progress {
  /** Sets the total units of work (may be called again when it becomes known). */
  start(total: number, label?: string): void;
  tick(units?: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr that appears only if the work is still running after `delayMs`
 * (about two seconds) and only on a terminal; quiet under --json, in CI and in tests.
 */
export function progressBar(opts: { enabled?: boolean; delayMs?: number } = {}): Progress {
  const enabled = (opts.enabled ?? true) && process.stderr.isTTY === true && !process.env.CI;
  const delay = opts.delayMs ?? 2000;
  let bar: cliProgress.SingleBar | null = null;
  let total = 0;
  let value = 0;
  let label = '';
  let t0 = 0;
  return {
    start(n, l = '') {
      total = n; label = l; if (!t0) t0 = Date.now();
      if (bar) bar.setTotal(n);
    },
    tick(units = 1) {
      value += units;
      if (!enabled) return;
      if (!bar && Date.now() - t0 >= delay) {
        const bars = require('cli-progress') as typeof cliProgress;
        bar = new bars.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta}s`, hideCursor: true },
          bars.Presets.shades_classic,
        );
        bar.start(total, value);
      } else if (bar) bar.update(value);
    },
    stop() { if (bar) { bar.update(total); bar.stop(); bar = null; } },
  };
}
