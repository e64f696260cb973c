import { mkdtemp, rename, rm, mkdir, writeFile, stat, chmod } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';

/**
 * Builds a directory in a temporary sibling and renames it into place only when `build`
 * succeeds, so a failed import leaves nothing behind. Refuses to overwrite unless `overwrite`.
 */
export async function writeDirAtomically<T>(
  outDir: string,
  build: (tmpDir: string) => Promise<T>,
  opts: { overwrite?: boolean } = {},
): Promise<T> {
  const target = resolve(outDir);
  const exists = await stat(target).then(() => true, () => false);
  if (exists && !opts.overwrite) {
    const { SieveError } = await import('./errors.ts');
    throw new SieveError(`output directory already exists: ${target}`, { where: '--out', exitCode: 2 });
  }
  await mkdir(dirname(target), { recursive: true });
  const tmp = await mkdtemp(join(dirname(target), `.${basename(target)}.tmp-`));
  try {
    const result = await build(tmp);
    // mkdtemp creates 0700; a finished pool or report should be readable like any other directory.
    await chmod(tmp, 0o755);
    if (exists) await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Writes a file through a temporary name and a rename, so readers never see half a file. */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
