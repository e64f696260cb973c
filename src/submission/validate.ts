/**
 * Strict validation of a parsed submission against a pool and a challenge's rules, before any
 * training. Each broken rule is its own SubmissionError with a count and the first offenders
 * (with their line/row/item); nothing is ever dropped or repaired silently.
 */
import { taskOf, type TaskName } from '../tasks/index.ts';
import { originOf, SubmissionError, type RawSubmission, type ValidSubmission } from './types.ts';
import { otherDelimiter } from './text.ts';

export interface SubmissionRules {
  task: TaskName;
  /** The pool's train ids, in pool order (indices in the result refer to this order). */
  poolIds: readonly string[];
  /** The pool's class names (relabel labels must be one of them). */
  classNames: readonly string[];
  /** Most entries allowed: budget.rows / budget.corrections / budget.max_length. */
  budget?: number;
  /** Name of the budget for messages, e.g. "budget.rows". */
  budgetName?: string;
}

const SHOW = 5;

function quote(s: string | null): string {
  return s === null ? 'null' : JSON.stringify(s.length > 60 ? s.slice(0, 57) + '...' : s);
}

/** The columns a task needs, in order. */
export function expectedColumns(task: TaskName): string[] {
  return [...taskOf(task).columns];
}

/** Builds the id → train-row index map once per pool (callers may cache it). */
export function indexIds(poolIds: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < poolIds.length; i++) m.set(poolIds[i], i);
  return m;
}

export function validateSubmission(
  raw: RawSubmission,
  rules: SubmissionRules,
  meta: { where: string; sha256: string; idIndex?: Map<string, number> },
): ValidSubmission {
  const { where } = meta;
  const n = raw.origins.length;
  if (n === 0) throw new SubmissionError('empty', 'the submission holds no rows', { where });

  // Columns: exactly the ones the task needs.
  const expected = expectedColumns(rules.task);
  const missing = expected.filter((c) => !raw.columns.includes(c));
  if (missing.length) {
    const found = raw.columns.length ? raw.columns.join(', ') : '(none)';
    const caseHint = missing
      .map((m) => raw.columns.find((c) => c.trim().toLowerCase() === m && c !== m))
      .filter((c): c is string => c !== undefined)
      .map((c) => `"${c}" must be spelled exactly "${c.trim().toLowerCase()}"`);
    const txtHint = raw.format === 'txt' && expected.includes('label') ? [`TXT holds only ids; ${rules.task} needs CSV id,label or JSON/Parquet/Arrow`] : [];
    // A first line that is data (an id, or one field holding another delimiter) rather than a header.
    const other = otherDelimiter(raw.columns);
    // With some of the task's columns named, the first line is a header that lacks the rest.
    const someNamed = expected.some((c) => raw.columns.includes(c));
    const headerHint = raw.format === 'csv' && !caseHint.length
      ? other
        ? [`the header looks separated by ${other}: a CSV submission is comma-separated`]
        : someNamed
        ? [`the header names ${expected.filter((c) => raw.columns.includes(c)).join(', ')} but not ${missing.join(', ')}: task ${rules.task} takes the columns ${expected.join(',')}`]
        : [`no header line? the first line must name the columns: ${expected.join(',')}`]
      : [];
    throw new SubmissionError('missing-columns', `missing column(s) ${missing.join(', ')}: task ${rules.task} needs ${expected.join(', ')}`, {
      where,
      count: missing.length,
      examples: [`columns found: ${found}`, ...caseHint, ...txtHint, ...headerHint],
    });
  }
  const extra = raw.columns.filter((c) => !expected.includes(c));
  if (extra.length) {
    throw new SubmissionError('extra-columns', `unexpected column(s) ${extra.join(', ')}: task ${rules.task} takes only ${expected.join(', ')}`, {
      where,
      count: extra.length,
      examples: extra.slice(0, SHOW),
    });
  }

  // Missing ids (null, empty or blank lines).
  const blank: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = raw.ids[i];
    if (id === null || id === '') blank.push(i);
  }
  if (blank.length) {
    throw new SubmissionError('missing-ids', `${blank.length} row(s) have an empty or missing id`, {
      where,
      count: blank.length,
      examples: blank.slice(0, SHOW).map((i) => originOf(raw, i)),
    });
  }
  const ids = raw.ids as string[];

  // Unknown ids.
  const index = meta.idIndex ?? indexIds(rules.poolIds);
  const unknown: number[] = [];
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = index.get(ids[i]);
    if (j === undefined) unknown.push(i);
    else indices[i] = j;
  }
  if (unknown.length) {
    const hints: string[] = [];
    if (unknown.some((i) => ids[i] !== ids[i].trim() && index.has(ids[i].trim()))) hints.push('some ids have surrounding spaces');
    if (raw.format === 'txt' && unknown[0] === 0 && ids[0] === 'id') hints.push('TXT files have no header line');
    const sample = rules.poolIds.slice(0, 2).map((s) => quote(s)).join(', ');
    throw new SubmissionError('unknown-ids', `${unknown.length} id(s) are not in the pool's train split${hints.length ? ` (${hints.join('; ')})` : ''}`, {
      where,
      count: unknown.length,
      examples: [...unknown.slice(0, SHOW).map((i) => `${originOf(raw, i)}: ${quote(ids[i])}`), `pool ids look like ${sample}`],
    });
  }

  // Duplicate ids: report each repeat with where it first appeared.
  const firstAt = new Map<number, number>();
  const dups: string[] = [];
  let dupCount = 0;
  for (let i = 0; i < n; i++) {
    const prev = firstAt.get(indices[i]);
    if (prev === undefined) { firstAt.set(indices[i], i); continue; }
    dupCount++;
    if (dups.length < SHOW) dups.push(`${quote(ids[i])} at ${originOf(raw, prev)} and ${originOf(raw, i)}`);
  }
  if (dupCount) {
    throw new SubmissionError('duplicate-ids', `${dupCount} repeated id(s): each id may appear once`, { where, count: dupCount, examples: dups });
  }

  // Labels (tasks whose submissions carry them: relabel).
  let labels: Int32Array | undefined;
  if (expected.includes('label')) {
    const given = raw.labels ?? [];
    const classIndex = new Map(rules.classNames.map((c, i) => [c, i]));
    const noLabel: number[] = [];
    const badLabel: number[] = [];
    labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const l = given[i];
      if (l === null || l === undefined || l === '') { noLabel.push(i); continue; }
      const k = classIndex.get(l);
      if (k === undefined) badLabel.push(i);
      else labels[i] = k;
    }
    if (noLabel.length) {
      throw new SubmissionError('missing-labels', `${noLabel.length} correction(s) have an empty or missing label`, {
        where,
        count: noLabel.length,
        examples: noLabel.slice(0, SHOW).map((i) => `${originOf(raw, i)}: id ${quote(ids[i])}`),
      });
    }
    if (badLabel.length) {
      const classes = rules.classNames.map((c) => quote(c)).join(', ');
      throw new SubmissionError('bad-labels', `${badLabel.length} label(s) are not classes of the pool`, {
        where,
        count: badLabel.length,
        examples: [...badLabel.slice(0, SHOW).map((i) => `${originOf(raw, i)}: ${quote(given[i])}`), `classes: ${classes}`],
      });
    }
  }

  // Budget.
  if (rules.budget !== undefined && n > rules.budget) {
    const unit = taskOf(rules.task).entries;
    throw new SubmissionError('over-budget', `${n} ${unit} submitted; the budget is ${rules.budget} (${n - rules.budget} too many)`, {
      where,
      count: n,
      examples: [`${rules.budgetName ?? 'budget'}: ${rules.budget}`, `first entry over budget: ${originOf(raw, rules.budget)}`],
    });
  }

  return { task: rules.task, format: raw.format, sha256: meta.sha256, indices, labels, rows: n };
}
