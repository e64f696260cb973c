/**
 * Atomic writers. An output is built under a temporary sibling name and renamed into place
 * only when complete, so a failed or interrupted write leaves the previous state. Every write
 * first passes checkOutputPath (src/util/outpath.ts); temporaries are tracked for the CLI's
 * signal handler and named so that leftovers of a killed process are removed by the next
 * write to the same place (src/util/temps.ts). Every writer, of a directory or of a single
 * file, holds a lock beside the output for the whole write.
 */
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsError } from './errors.ts';
import { checkOutputPath, type OutputCheck } from './outpath.ts';
import { acquireLock, removeStaleTemps, siblingTempPath, trackTemp } from './temps.ts';

export interface DirWriteOptions extends Omit<OutputCheck, 'kind'> {}
export interface FileWriteOptions extends Omit<OutputCheck, 'kind' | 'overwrite' | 'replaceable'> {
  /** Files the writer creates next to the temporary (DuckDB's ".wal"): removed with it. */
  companions?: string[];
}

async function makeParent(target: string, option: string): Promise<void> {
  try {
    await mkdir(dirname(target), { recursive: true });
  } catch (err) {
    throw fsError(err, `create the folder for ${option}`, dirname(target)) ?? err;
  }
}

/**
 * Builds a directory in a temporary sibling and renames it into place only when `build`
 * succeeds. An existing directory is replaced only with `overwrite` and only if the checks
 * (and `replaceable`) allow; it is set aside, not deleted, until the new one is in place.
 */
export async function writeDirAtomically<T>(outDir: string, build: (tmpDir: string) => Promise<T>, opts: DirWriteOptions = {}): Promise<T> {
  const option = opts.option ?? '--out';
  const { target } = await checkOutputPath(outDir, { ...opts, kind: 'dir' });
  await makeParent(target, option);
  const release = await acquireLock(target, option);
  try {
    await removeStaleTemps(target);
    // Checked again under the lock: another writer may have finished in between.
    const { exists } = await checkOutputPath(outDir, { ...opts, kind: 'dir' });
    const tmp = siblingTempPath(target, 'tmp');
    await mkdir(tmp, { mode: 0o700 }).catch((err) => {
      throw fsError(err, `create a temporary folder for ${option}`, tmp) ?? err;
    });
    const untrackTmp = trackTemp(tmp);
    let old: string | null = null;
    let untrackOld = () => {};
    try {
      const result = await build(tmp);
      // The temporary folder is owner-only; a finished pool or report is ordinary shared data.
      await chmod(tmp, 0o777 & ~process.umask());
      if (exists) {
        old = siblingTempPath(target, 'old');
        const aside = old;
        // Interrupted between the two renames: put the previous output back.
        untrackOld = trackTemp(aside, () => {
          try {
            renameSync(aside, target);
          } catch {
            // target already in place
          }
        });
        await rename(target, aside);
      }
      await rename(tmp, target);
      untrackTmp();
      if (old) {
        untrackOld();
        await rm(old, { recursive: true, force: true });
      }
      return result;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      untrackTmp();
      if (old) {
        await rename(old, target).catch(() => undefined);
        untrackOld();
      }
      throw fsError(err, `write ${target}`, target) ?? err;
    }
  } finally {
    await release();
  }
}

/**
 * Writes a file through `fill(tmpPath)` and a rename, so readers never see half a file and a
 * failure leaves the previous file. The path passes checkOutputPath first.
 */
export async function withFileAtomically<T>(path: string, fill: (tmpPath: string) => Promise<T>, opts: FileWriteOptions = {}): Promise<T> {
  const option = opts.option ?? '--out';
  const { target } = await checkOutputPath(path, { ...opts, kind: 'file' });
  await makeParent(target, option);
  // The same lock as a directory writer: a second writer of this file gets "in use".
  const release = await acquireLock(target, option);
  try {
    await removeStaleTemps(target);
    const tmp = siblingTempPath(target, 'tmp');
    const extras = (opts.companions ?? []).map((suffix) => `${tmp}${suffix}`);
    const untrack = [tmp, ...extras].map((p) => trackTemp(p));
    try {
      const result = await fill(tmp);
      await rename(tmp, target);
      return result;
    } catch (err) {
      await rm(tmp, { force: true, recursive: true });
      throw fsError(err, `write ${target}`, target) ?? err;
    } finally {
      for (const p of extras) await rm(p, { force: true });
      for (const u of untrack) u();
    }
  } finally {
    await release();
  }
}

/** Writes a file through a temporary name and a rename (see withFileAtomically). */
export async function writeFileAtomically(path: string, data: string | Uint8Array, opts: FileWriteOptions = {}): Promise<void> {
  await withFileAtomically(path, (tmp) => writeFile(tmp, data), opts);
}
