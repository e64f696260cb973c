/**
 * Every problem an import finds, collected so that one run reports all of them (up to
 * MAX_EXAMPLES rows each) instead of stopping at the first.
 */
import { SieveError } from '../../util/errors.ts';
import { MAX_EXAMPLES } from './text-scan.ts';

export interface Problem {
  message: string;
  where: string;
  count?: number;
  examples: string[];
}

/** An import that found problems: one SieveError carrying each of them. */
export class ImportProblems extends SieveError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    const [p] = problems;
    const one = problems.length === 1;
    super(one ? p.message : `${problems.length} problems found: ${problems.map((x) => x.message).join('; ')}`, {
      where: one ? p.where : p.where.split(':')[0],
      count: one ? p.count : undefined,
    });
    this.problems = problems;
    // The first problem's rows (the base class would keep 10; an import names up to MAX_EXAMPLES).
    (this as { examples: string[] }).examples = p.examples.slice(0, MAX_EXAMPLES);
  }
  describe(): string {
    if (this.problems.length === 1) return super.describe();
    const lines = [`error: ${this.problems.length} problems found (nothing was written)`];
    for (const p of this.problems) {
      lines.push(`- ${p.message}`, `    where: ${p.where}`);
      if (p.count !== undefined) lines.push(`    count: ${p.count}`);
      if (p.examples.length) lines.push(`    first: ${p.examples.join(', ')}`);
    }
    return lines.join('\n');
  }
  toJSON() {
    return { ...super.toJSON(), problems: this.problems };
  }
}

export class ProblemList {
  readonly list: Problem[] = [];
  add(p: Problem): void {
    this.list.push({ ...p, examples: p.examples.slice(0, MAX_EXAMPLES) });
  }
  get any(): boolean {
    return this.list.length > 0;
  }
  /** Throws every problem collected so far as one error. */
  throwIfAny(): void {
    if (this.list.length) throw new ImportProblems(this.list);
  }
}
