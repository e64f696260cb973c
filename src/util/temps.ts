/**
 * Temporary files and folders that sieve creates next to an output while writing it, and the
 * locks that keep two writers off one output. Every such path is tracked here so that the
 * CLI's SIGINT/SIGTERM handler can remove them before exiting, and every name carries the
 * writer's pid and a host tag so that the next write to the same place can recognise and
 * remove what a SIGKILL (or a power cut) left behind.
 *
 * Names: `.<output name>.tmp-<pid>-<host>-<random>` (the folder or file being built) and
 * `.<output name>.old-<pid>-<host>-<random>` (the previous output while it is being
 * replaced); the lock is `.<output name>.lock`, holding "<pid> <host> <hostname>".
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { open, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SieveError } from './errors.ts';

/** What the signal handler does with a tracked path: remove it, or run a restore step. */
type Cleanup = () => void;

const tracked = new Map<string, Cleanup>();

/** Eight hex digits naming this machine (hostnames may hold "-" and "."; a hash does not). */
export function hostTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/** A fresh sibling name of `target` for a temporary (`tmp`) or a set-aside previous output (`old`). */
export function siblingTempPath(target: string, kind: 'tmp' | 'old'): string {
  return join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-${hostTag()}-${randomBytes(4).toString('hex')}`);
}

export function lockPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.lock`);
}

/** Longest output name sieve accepts: room for the temporary-name suffix within 255 bytes. */
export const MAX_OUTPUT_NAME_BYTES = 255 - 40;

function removeSync(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  } catch {
    // Best effort: the process is exiting; a leftover is recognised by the next write.
  }
}

/** Tracks `path` for removal on SIGINT/SIGTERM (or runs `cleanup` instead); returns the untrack function. */
export function trackTemp(path: string, cleanup?: Cleanup): () => void {
  tracked.set(path, cleanup ?? (() => removeSync(path)));
  return () => {
    tracked.delete(path);
  };
}

/** Runs every tracked cleanup, newest first (the signal handler calls this, synchronously). */
let interruptNote: string | null = null;

/** What the interrupted message adds (for example how to resume); null for nothing. */
export function setInterruptNote(note: string | null): void {
  interruptNote = note;
}

export function getInterruptNote(): string | null {
  return interruptNote;
}

export function cleanupTrackedSync(): void {
  for (const [path, cleanup] of [...tracked].reverse()) {
    try {
      cleanup();
    } catch {
      // Keep going: remove as much as possible.
    }
    tracked.delete(path);
  }
}

/** Paths currently tracked (for tests). */
export function trackedTemps(): string[] {
  return [...tracked.keys()];
}

/** False only when `pid` certainly runs no longer on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const TEMP_NAME = /^\.(.+)\.(tmp|old)-(\d+)-([0-9a-f]{8})-[0-9a-f]+$/;

/**
 * Removes temporaries of `target` left by sieve processes on this host that no longer run
 * (killed with SIGKILL, or the machine lost power). Leftovers of a previous output set aside
 * while it was being replaced are put back when the output itself is missing.
 * Returns the names removed.
 */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const dir = dirname(target);
  const base = basename(target);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of entries) {
    const m = TEMP_NAME.exec(name);
    if (!m || m[1] !== base || m[4] !== hostTag() || processAlive(Number(m[3]))) continue;
    const path = join(dir, name);
    if (m[2] === 'old' && !existsSync(target)) {
      try {
        renameSync(path, target);
        removed.push(name);
        continue;
      } catch {
        // fall through to removal
      }
    }
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Takes the lock of `target` (a file beside it, created exclusively) so that a second writer
 * gets a clear "in use" error instead of racing the first. A lock left by a process that no
 * longer runs on this host is taken over. Returns the release function.
 */
export async function acquireLock(target: string, where = '--out'): Promise<() => Promise<void>> {
  const path = lockPath(target);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${process.pid} ${hostTag()} ${hostname()}\n`);
      } finally {
        await fh.close();
      }
      const untrack = trackTemp(path, () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      });
      return async () => {
        untrack();
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await readFile(path, 'utf8').catch(() => '');
      const [pidText, host, name] = owner.trim().split(/\s+/);
      const pid = Number(pidText);
      if (attempt === 0 && (owner.trim() === '' ? false : host === hostTag() && !processAlive(pid))) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      throw new SieveError(`${target} is in use: another sieve process is writing it`, {
        where,
        examples: [
          pid ? `lock held by pid ${pid} on ${name ?? 'another host'}` : `lock file ${path}`,
          `wait for that process to finish; if none is running, remove ${path}`,
        ],
        exitCode: 2,
      });
    }
  }
  throw new SieveError(`could not take the lock of ${target}`, { where, examples: [lockPath(target)] });
}

/** The pid recorded in a lock file, or null (for tests and messages). */
export function lockOwner(target: string): number | null {
  try {
    const pid = Number(readFileSync(lockPath(target), 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** DuckDB's spill folders: `sieve-duckdb-<pid>-<host>` (and the older `sieve-duckdb-<pid>`). */
const SPILL_NAME = /^sieve-duckdb-(\d+)(?:-([0-9a-f]{8}))?$/;
let spillSwept = false;

/**
 * This process's DuckDB spill folder in the OS temp folder, tracked for the signal handler.
 * The first call also removes the spill folders of sieve processes on this host that no
 * longer run (a SIGKILL leaves them, and nothing else would ever write there again).
 */
export function duckdbSpillDir(base = tmpdir()): string {
  if (!spillSwept) {
    spillSwept = true;
    removeStaleSpillDirs(base);
  }
  const path = join(base, `sieve-duckdb-${process.pid}-${hostTag()}`);
  trackTemp(path);
  return path;
}

/** Removes spill folders in `base` whose process is gone; returns their names. */
export function removeStaleSpillDirs(base = tmpdir()): string[] {
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of entries) {
    const m = SPILL_NAME.exec(name);
    if (!m || (m[2] !== undefined && m[2] !== hostTag()) || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    removeSync(join(base, name));
    removed.push(name);
  }
  return removed;
}
