/**
 * Starts the sandboxed child and watches it. Layers, outermost first:
 *   prlimit          RLIMIT_CPU (soft: SIGXCPU, hard one second later: SIGKILL) and RLIMIT_AS
 *                    (address space: bounds typed arrays and buffers, which the heap cap does
 *                    not cover);
 *   the OS layer     namespaces from layers.ts (network, PID, IPC, UTS), when there is one;
 *   /bin/sh          only inside a PID namespace: Node must not be its PID 1, which ignores
 *                    SIGXCPU; sh reports a signal death as 128 + signal;
 *   node             --experimental-permission with read access to the run's directory only
 *                    (no --allow-fs-write, --allow-child-process, --allow-worker), --no-addons,
 *                    --max-old-space-size (heap cap), an environment of TZ=UTC alone.
 * The parent adds a wall-clock limit and caps on what the child prints (stdout + stderr) and
 * returns (fd 3); crossing one kills the child's whole process group at once.
 */
import { StringDecoder } from 'node:string_decoder';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { SieveError } from '../../util/errors.ts';
import { trackTemp } from '../../util/temps.ts';
import type { ChildMessage } from './child.ts';
import { findProgram, type IsolationLayer } from './layers.ts';

export interface SandboxLimits {
  /** Wall-clock time before the child is killed. */
  wallMs: number;
  /** CPU seconds (all threads) before the kernel stops it. */
  cpuSeconds: number;
  /** V8 old-space cap. */
  heapMb: number;
  /** Address-space cap (RLIMIT_AS) for the whole process: heap, buffers, code, stacks. */
  addressSpaceMb: number;
  /** Most bytes the child may print (stdout and stderr together). */
  maxLogBytes: number;
  /** Most bytes of result the child may send. */
  maxResultBytes: number;
}

export type StopReason = 'wall' | 'log' | 'result';

export interface SandboxOutcome {
  message: ChildMessage | null;
  /** Exit code of the outermost process (128 + N for a signal death inside the PID namespace). */
  exitCode: number | null;
  /** The signal that ended the child, decoded from either form. */
  signal: NodeJS.Signals | null;
  /** Set when the parent stopped the child. */
  stopped: StopReason | null;
  /** Bytes printed in all. */
  logBytes: number;
  /** The last few KiB of stderr (for V8's fatal-error lines). */
  stderrTail: string;
  wallSeconds: number;
}

/** Bytes of the strategy's printing passed on to `onLog` before the rest is only counted. */
export const LOG_SHOWN_BYTES = 64 * 1024;

/** The first line of V8's fatal-error report (heap out of memory and the like), and the lines that follow it. */
const V8_CRASH_START = /^(<--- Last few GCs --->|FATAL ERROR: )/;
const V8_CRASH_LINE = /^(<--- (Last few GCs|JS stacktrace) --->|\s*\[\d+:0x[0-9a-f]+\]\s+\d+ ms: |FATAL ERROR: |----- Native stack trace -----|\s*\d+: 0x[0-9a-f]+ )/;

const SH_WRAPPER = '"$@"; s=$?; exit $s';

/** The argv that runs `entry` (with `dir` as its argument) inside every layer. */
export function sandboxArgv(dir: string, entry: string, limits: SandboxLimits, layer: IsolationLayer | null): string[] {
  const prlimit = findProgram('prlimit');
  if (!prlimit)
    throw new SieveError('cannot limit the strategy\'s CPU time and memory: util-linux `prlimit` is not installed', {
      where: 'strategy sandbox',
      examples: ['install util-linux (apt-get install util-linux)'],
    });
  const cpu = Math.max(1, Math.ceil(limits.cpuSeconds));
  const node = [
    process.execPath,
    '--experimental-permission',
    `--allow-fs-read=${dir.endsWith('/') ? dir : dir + '/'}`,
    '--no-addons',
    `--max-old-space-size=${Math.max(16, Math.floor(limits.heapMb))}`,
    '--enable-source-maps',
    '--disable-warning=ExperimentalWarning',
    entry,
    dir,
  ];
  const argv = [prlimit, `--cpu=${cpu}:${cpu + 1}`, `--as=${Math.floor(limits.addressSpaceMb) * 1024 * 1024}`, '--'];
  if (!layer) return [...argv, ...node];
  const sh = findProgram('sh');
  if (!sh) throw new SieveError('cannot start the strategy sandbox: no /bin/sh', { where: 'strategy sandbox' });
  return [...argv, ...layer.prefix, sh, '-c', SH_WRAPPER, 'sh', ...node];
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves once no process of group `pgid` exists (killing stragglers), or after about 5 s. */
async function groupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 250 && groupExists(pgid); i++) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function signalOf(exitCode: number | null, signal: NodeJS.Signals | null, layered: boolean): NodeJS.Signals | null {
  if (signal) return signal;
  if (!layered || exitCode === null || exitCode <= 128) return null;
  const n = exitCode - 128;
  return (Object.entries(constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined) ?? null;
}

/** Runs the child to its end (or until a limit stops it) and reports what happened. */
export function runSandboxed(opts: {
  dir: string;
  entry: string;
  limits: SandboxLimits;
  layer: IsolationLayer | null;
  onLog?: (text: string) => void;
  /** Called with the child's pid (its process group id) once it runs. */
  onStart?: (pid: number) => void;
}): Promise<SandboxOutcome> {
  const { dir, entry, limits, layer } = opts;
  const argv = sandboxArgv(dir, entry, limits, layer);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: dir,
      env: { TZ: 'UTC' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) opts.onStart?.(child.pid);
    let stopped: StopReason | null = null;
    let logBytes = 0;
    let shown = 0;
    let stderrTail = '';
    const result: Buffer[] = [];
    let resultBytes = 0;
    // The JSON envelope around the ids may add a little to the cap the child checks.
    const resultCap = limits.maxResultBytes + 64 * 1024;

    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const untrack = trackTemp(`${dir}#child-process`, killGroup);
    const stop = (why: StopReason) => {
      if (stopped) return;
      stopped = why;
      killGroup();
    };
    const timer = setTimeout(() => stop('wall'), limits.wallMs);

    const show = (text: string) => {
      if (shown >= LOG_SHOWN_BYTES || !opts.onLog || !text) return;
      const part = Buffer.from(text, 'utf8').subarray(0, LOG_SHOWN_BYTES - shown);
      shown += part.length;
      opts.onLog(part.toString('utf8'));
    };
    // stderr is shown line by line without V8's crash report (its GC log, "FATAL ERROR" and
    // native stack, about 1.7 kB before the clear "ran out of memory" message); the tail
    // kept for the diagnosis still holds it.
    let errLine = '';
    let inCrash = false;
    const errText = new StringDecoder('utf8');
    const outText = new StringDecoder('utf8');
    const showErr = (text: string, end = false) => {
      errLine += text;
      const lines = errLine.split('\n');
      errLine = end ? '' : lines.pop()!;
      const kept: string[] = [];
      for (const [i, l] of lines.entries()) {
        if (V8_CRASH_START.test(l)) inCrash = true;
        else if (inCrash && !(V8_CRASH_LINE.test(l) || l.trim() === '')) inCrash = false;
        if (!inCrash && !(end && i === lines.length - 1 && l === '')) kept.push(`${l}${end && i === lines.length - 1 ? '' : '\n'}`);
      }
      show(kept.join(''));
    };
    const onOutput = (stream: 'out' | 'err') => (chunk: Buffer) => {
      logBytes += chunk.length;
      if (stream === 'err') {
        const text = errText.write(chunk);
        stderrTail = (stderrTail + text).slice(-8192);
        showErr(text);
      } else show(outText.write(chunk));
      if (logBytes > limits.maxLogBytes) stop('log');
    };
    child.stdout!.on('data', onOutput('out'));
    child.stderr!.on('data', onOutput('err'));
    child.stderr!.on('end', () => showErr(errText.end(), true));
    const resultStream = child.stdio[3] as NodeJS.ReadableStream;
    resultStream.on('data', (chunk: Buffer) => {
      if (stopped) return;
      resultBytes += chunk.length;
      if (resultBytes > resultCap) {
        result.length = 0;
        stop('result');
        return;
      }
      result.push(chunk);
    });
    resultStream.on('error', () => undefined);

    child.on('error', (err) => {
      clearTimeout(timer);
      untrack();
      reject(new SieveError(`cannot start the strategy sandbox: ${err.message}`, { where: argv[0] }));
    });
    child.on('close', async (code, sig) => {
      clearTimeout(timer);
      if (stopped) killGroup();
      // Killed members of the group linger as zombies for a moment: wait until none is left.
      if (child.pid !== undefined) await groupGone(child.pid);
      untrack();
      let message: ChildMessage | null = null;
      if (!stopped && result.length) {
        try {
          message = JSON.parse(Buffer.concat(result).toString('utf8')) as ChildMessage;
        } catch {
          message = null;
        }
      }
      resolve({
        message,
        exitCode: code,
        signal: signalOf(code, sig, layer !== null),
        stopped,
        logBytes,
        stderrTail,
        wallSeconds: (performance.now() - t0) / 1000,
      });
    });
  });
}
