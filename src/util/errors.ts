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
