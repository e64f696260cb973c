import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';

// cli-progress is loaded only when a bar is about to be drawn (a terminal, a slow command),
// so `sieve --help` and quick commands never load it.
const require = createRequire(import.meta.url);

export interface Progress {
  /**
   * Sets the total units of work (may be called again when it becomes known). A new `label`
   * starts a new step: its count starts from zero. `unit: 'bytes'` shows sizes in MB.
   */
  start(total: number, label?: string, unit?: 'bytes'): void;
  tick(units?: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** false: nothing at all (--json). */
  enabled?: boolean;
  /** The bar appears only if a step is still running after this long (default 2 s). */
  delayMs?: number;
  /** Off a terminal: a plain line every this often (default 10 s; under CI 60 s). */
  intervalMs?: number;
  /** Where lines and the bar go (default stderr; never stdout, which --json output owns). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The clock (tests pass their own). */
  now?: () => number;
}

const fmtCount = (n: number, unit?: 'bytes') => (unit === 'bytes' ? `${(n / 1e6).toFixed(1)} MB` : Math.round(n).toLocaleString('en'));

/**
 * "label: 1,234 / 10,000 (12%), 150/s, about 59 s left": the line printed off a terminal. A rate
 * under one unit a second reads as the time per unit ("12 s each"), not "0/s".
 */
export function progressLine(label: string, value: number, total: number, seconds: number, unit?: 'bytes'): string {
  if (value === 0) return `${label || 'working'}: running for ${Math.round(seconds)} s${total > 0 ? ` (${fmtCount(total, unit)} to do)` : ''}`;
  const rate = seconds > 0 ? value / seconds : 0;
  const share = total > 0 ? ` (${Math.min(100, Math.floor((100 * value) / total))}%)` : '';
  const left = rate > 0 && total > value ? `, about ${Math.ceil((total - value) / rate)} s left` : '';
  const speed = unit !== 'bytes' && rate > 0 && rate < 1 ? `${Math.round(1 / rate)} s each` : `${fmtCount(rate, unit)}/s`;
  return `${label || 'working'}: ${fmtCount(value, unit)}${total > 0 ? ` / ${fmtCount(total, unit)}` : ''}${share}, ${speed}${left}`;
}

/**
 * Progress on stderr. On a terminal: a bar that appears only if the step is still running
 * after `delayMs`. Elsewhere (a log file, a pipe, CI): a plain line with the count, total and
 * rate every `intervalMs` while a step runs, so a short step prints nothing and a long one
 * shows it is alive; under CI the interval is a minute, so logs stay short. Nothing at all
 * when disabled (--json).
 */
export function progressBar(opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const enabled = opts.enabled ?? true;
  const ci = !!process.env.CI;
  const tty = stream.isTTY === true && !ci;
  const delay = opts.delayMs ?? 2000;
  const interval = opts.intervalMs ?? (ci ? 60_000 : 10_000);
  const now = opts.now ?? Date.now;
  let bar: cliProgress.SingleBar | null = null;
  let total = 0;
  let value = 0;
  let label = '';
  let unit: 'bytes' | undefined;
  let t0 = 0;
  let started = false;
  let lastLine = 0;
  let timer: NodeJS.Timeout | undefined;
  // Off a terminal, a line also when the step ticks rarely (a long DuckDB statement). A step
  // whose count reached its total says so once: repeating "1 / 1 (100%)" every interval while
  // other work runs read as a hang.
  let doneShown = false;
  const line = () => {
    const t = now();
    if (t - lastLine < interval) return;
    const done = total > 0 && value >= total;
    if (done && doneShown) return;
    doneShown = done;
    lastLine = t;
    stream.write(progressLine(label, value, total, (t - t0) / 1000, unit) + '\n');
  };
  const stopBar = () => {
    if (bar) {
      bar.update(total);
      bar.stop();
      bar = null;
    }
  };
  return {
    start(n, l = '', u) {
      if (l !== label || !started) {
        stopBar();
        value = 0;
        t0 = lastLine = now();
        started = true;
        doneShown = false;
      }
      total = n;
      label = l;
      unit = u;
      if (bar) bar.setTotal(n);
      if (enabled && !tty && !timer) {
        timer = setInterval(line, Math.min(interval, 1000));
        timer.unref(); // never what keeps the process alive
      }
    },
    tick(units = 1) {
      value += units;
      if (!enabled) return;
      if (!started) {
        t0 = lastLine = now();
        started = true;
      }
      if (!tty) return line();
      const t = now();
      if (!bar && t - t0 >= delay) {
        const bars = require('cli-progress') as typeof cliProgress;
        bar = new bars.SingleBar(
          { stream: stream as NodeJS.WriteStream, format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta}s`, hideCursor: true },
          bars.Presets.shades_classic,
        );
        bar.start(total, value);
      } else if (bar) bar.update(value);
    },
    stop() {
      stopBar();
      clearInterval(timer);
      timer = undefined;
      started = false; // the next start counts from zero, even under the same label (a variant's run)
    },
  };
}
