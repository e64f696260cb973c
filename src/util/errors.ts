import { sourceMappedStack } from './source-stack.ts';

/**
 * The one error type users see. `what` says what is wrong, `where` names the file/column/
 * option, `examples` lists the first offending rows or values (never all of them).
 * The CLI prints these without a stack trace and exits with `exitCode`.
 */
export class SieveError extends Error {
  readonly where?: string;
  readonly examples: string[];
  readonly count?: number;
  readonly exitCode: number;
  constructor(
    message: string,
    opts: { where?: string; examples?: (string | number)[]; count?: number; exitCode?: number } = {},
  ) {
    super(message);
    this.name = 'SieveError';
    this.where = opts.where;
    this.examples = (opts.examples ?? []).slice(0, 10).map(String);
    this.count = opts.count;
    this.exitCode = opts.exitCode ?? 2;
  }
  /** Human form: message, location, count and first examples. */
  describe(): string {
    const lines = [`error: ${this.message}`];
    if (this.where) lines.push(`  where: ${this.where}`);
    if (this.count !== undefined) lines.push(`  count: ${this.count}`);
    if (this.examples.length) lines.push(`  first: ${this.examples.join(', ')}`);
    return lines.join('\n');
  }
  toJSON() {
    return { error: this.message, where: this.where, count: this.count, examples: this.examples };
  }
}

/** Formats up to `max` offending items as "row 3: x" strings for SieveError.examples. */
export function firstOffenders<T>(items: T[], fmt: (t: T) => string, max = 5): string[] {
  return items.slice(0, max).map(fmt);
}

/** What each file-system error code means to a user, and what to do about it. */
const FS_CODES: Record<string, [string, string]> = {
  ENOENT: ['no such file or directory', 'check the path'],
  EACCES: ['permission denied', 'choose a place you may write to, or fix the permissions'],
  EPERM: ['operation not permitted', 'choose a place you may write to, or fix the permissions'],
  ENOTDIR: ['a part of the path is a file, not a directory', 'check the path'],
  EISDIR: ['is a directory, expected a file', 'give a file name'],
  ENAMETOOLONG: ['the name is too long for the file system', 'use a shorter name'],
  EROFS: ['the file system is read-only', 'write somewhere else'],
  ENOSPC: ['no space left on the device', 'free some space or write somewhere else'],
  EDQUOT: ['disk quota exceeded', 'free some space or write somewhere else'],
  EEXIST: ['already exists', 'remove it or choose another name'],
  ELOOP: ['too many levels of symbolic links', 'check the path'],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n)'],
  EBUSY: ['the file or device is busy', 'try again when it is free'],
  EXDEV: ['cannot move across file systems', 'write to the same file system'],
  EINVAL: ['invalid argument for this file system', 'write to an ordinary directory'],
  ENXIO: ['no such device', 'give a regular file'],
  ENODEV: ['no such device', 'give a regular file'],
  ETXTBSY: ['the file is busy', 'try again when it is free'],
};

/**
 * A Node file-system error (one with a `code` and usually a `path`) as a SieveError saying
 * what failed, where and what to do; null for anything else. `action` says what sieve was
 * doing ("create the output directory", "read the submission").
 */
export function fsError(err: unknown, action?: string, where?: string): SieveError | null {
  if (err instanceof SieveError) return err;
  const e = err as NodeJS.ErrnoException | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !(e.code in FS_CODES)) return null;
  const [what, todo] = FS_CODES[e.code];
  const path = e.path ?? where;
  return new SieveError(`${action ? `cannot ${action}: ` : ''}${what} (${e.code})`, {
    where: path ?? where,
    examples: [todo],
  });
}

/** Runs `fn`, turning a file-system error into a SieveError (see fsError). */
export async function withFsErrors<T>(action: string, where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsError(err, action, where) ?? err;
  }
}

/**
 * What the CLI prints for an error that reached it: a SieveError (or a file-system error,
 * which is the user's path, not a bug) as its description; anything else is a bug of ours,
 * shown with its stack and a line asking for a report.
 */
export function describeFailure(err: unknown, version: string): { text: string; exitCode: number; json?: object } {
  const user = err instanceof SieveError ? err : fsError(err);
  if (user) return { text: user.describe(), exitCode: user.exitCode, json: user.toJSON() };
  return {
    text:
      `internal error: ${(err as Error)?.stack ? sourceMappedStack((err as Error).stack!) : String(err)}\n` +
      `This is a bug in sieve ${version}, not a mistake of yours. Please report it on the sieve issue tracker ` +
      `with the command you ran and the lines above.`,
    exitCode: 1,
  };
}
