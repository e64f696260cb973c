/**
 * `sieve audit … --keep FILE`: from an audit straight to a submission file, by one rule.
 *
 * Selection (a pool, or a selection challenge):
 *  1. drop every row flagged by the `drop` analysers (default: label-errors, and for
 *     duplicates the copies beyond the first row of each cluster, `duplicate_of` set;
 *     label-errors-knn and outliers on request);
 *  2. through a challenge, fill its budget from what is left, classes as equal as the rows
 *     allow (each class gets an equal share, a class with fewer rows gives all it has, the
 *     remainder goes to the classes in class order), and within a class the rows whose given
 *     label the out-of-sample model trusts most first (lowest label-errors score; ties in
 *     pool order). Without a challenge every row left is kept. Written in pool order.
 * Ranking challenge: every train row (up to its max_length), most likely label error first
 * (label-errors order: flagged first, then by score; ties in pool order).
 * Relabel challenge: the flagged label errors, most likely first, each with its suggested
 * label, up to the correction budget.
 *
 * Deterministic: the same audit gives the same file. Nothing here reads the test split.
 */
import { extname } from 'node:path';
import type { AuditReport } from '../analysers/audit.ts';
import type { Finding } from '../analysers/types.ts';
import type { Challenge } from '../challenge/schema.ts';
import type { PoolSplit } from '../pool/types.ts';
import { topFindings } from '../report/findings.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';

export const KEEP_DROPPABLE = ['label-errors', 'duplicates', 'label-errors-knn', 'outliers'] as const;
export const KEEP_DEFAULT_DROP = ['label-errors', 'duplicates'];

export interface KeepResult {
  task: 'selection' | 'ranking' | 'relabel';
  /** Train-row indices, in the order written. */
  rows: number[];
  /** Relabel: the suggested label of each row. */
  labels?: string[];
  /** Rows dropped per analyser (a row flagged by two counts under the first). */
  dropped: Record<string, number>;
  /** The budget filled, when there was one. */
  budget?: number;
  /** One line saying what was done. */
  rule: string;
}

function resultOf(report: AuditReport, name: string): { findings: Finding[] } {
  const r = report.results.find((x) => x.name === name);
  if (!r)
    throw new SieveError(`--keep needs the ${name} analyser, which did not run`, {
      where: '--keep',
      examples: [report.skipped.find((s) => s.name === name)?.reason ?? 'add it to --only, or leave --only out'],
    });
  return r;
}

/** Index of every finding's row in `train` (findings name rows by id). */
function rowIndex(train: PoolSplit): Map<string, number> {
  return new Map(train.ids.map((id, i) => [id, i]));
}

/** Per-class quotas summing to min(budget, rows): equal shares, capped by class size, remainder in class order. */
export function balancedQuotas(sizes: number[], budget: number): number[] {
  const take = sizes.map(() => 0);
  let left = Math.min(budget, sizes.reduce((a, b) => a + b, 0));
  while (left > 0) {
    const open = sizes.map((s, c) => c).filter((c) => take[c] < sizes[c]);
    const share = Math.floor(left / open.length);
    if (share === 0) {
      for (const c of open.slice(0, left)) take[c]++;
      break;
    }
    for (const c of open) {
      const add = Math.min(share, sizes[c] - take[c]);
      take[c] += add;
      left -= add;
    }
  }
  return take;
}

export function keepRows(report: AuditReport, train: PoolSplit, opts: { challenge?: Challenge; drop?: string[] }): KeepResult {
  const task = (opts.challenge?.task ?? 'selection') as KeepResult['task'];
  const index = rowIndex(train);
  const labelErrors = resultOf(report, 'label-errors').findings;
  const at = (f: Finding) => {
    const i = index.get(f.id);
    if (i === undefined) throw new Error(`finding for unknown id ${f.id}`);
    return i;
  };
  const limit = opts.challenge ? taskOf(task).budget(opts.challenge.budget, train.n).limit : undefined;

  if (task === 'ranking') {
    const rows = topFindings(labelErrors, limit ?? train.n).map(at);
    return { task, rows, dropped: {}, ...(limit !== undefined ? { budget: limit } : {}), rule: `every train row, most likely label error first (label-errors order)${limit !== undefined && limit < train.n ? `, the first ${limit}` : ''}` };
  }
  if (task === 'relabel') {
    const flagged = topFindings(labelErrors.filter((f) => f.flagged && f.detail.suggested_label != null), limit ?? Infinity);
    return {
      task,
      rows: flagged.map(at),
      labels: flagged.map((f) => String(f.detail.suggested_label)),
      dropped: {},
      ...(limit !== undefined ? { budget: limit } : {}),
      rule: `the flagged label errors, most likely first, each with its suggested label${limit !== undefined ? `, at most ${limit}` : ''}`,
    };
  }

  const drop = opts.drop ?? KEEP_DEFAULT_DROP;
  const unknown = drop.filter((d) => !(KEEP_DROPPABLE as readonly string[]).includes(d));
  if (unknown.length)
    throw new SieveError(`--keep-drop: unknown analyser ${unknown.join(', ')}`, { where: '--keep-drop', examples: [`choices: ${KEEP_DROPPABLE.join(', ')}`] });
  const droppedBy = new Int16Array(train.n).fill(-1);
  const dropped: Record<string, number> = {};
  drop.forEach((name, a) => {
    dropped[name] = 0;
    for (const f of resultOf(report, name).findings) {
      const hit = name === 'duplicates' ? f.detail.duplicate_of != null : f.flagged;
      const i = at(f);
      if (hit && droppedBy[i] < 0) { droppedBy[i] = a; dropped[name]++; }
    }
  });
  // Label quality: the label-errors score (higher = more likely wrong); rows without one last.
  const score = new Float64Array(train.n).fill(Infinity);
  for (const f of labelErrors) score[at(f)] = Number.isFinite(f.score) ? f.score : Infinity;
  const k = train.classNames.length;
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < train.n; i++) if (droppedBy[i] < 0) byClass[train.labels[i]].push(i);
  const left = byClass.reduce((s, c) => s + c.length, 0);
  const drops = Object.entries(dropped).map(([n, c]) => `${c} ${n === 'duplicates' ? 'duplicate copies' : `flagged by ${n}`}`).join(', ');
  if (limit === undefined || left <= limit) {
    const rows = byClass.flat().sort((a, b) => a - b);
    const short = limit !== undefined ? `; ${left} rows are left, fewer than the budget of ${limit}, so all are kept` : '';
    return { task, rows, dropped, ...(limit !== undefined ? { budget: limit } : {}), rule: `every row not dropped (${drops})${short}` };
  }
  for (const c of byClass) c.sort((a, b) => score[a] - score[b] || a - b);
  const quotas = balancedQuotas(byClass.map((c) => c.length), limit);
  const rows = byClass.flatMap((c, j) => c.slice(0, quotas[j])).sort((a, b) => a - b);
  return {
    task,
    rows,
    dropped,
    budget: limit,
    rule: `dropped ${drops}; then the budget of ${limit} filled class-balanced (${quotas.join(' / ')} per class), most trusted labels first`,
  };
}

/** The file text for `path`'s extension: .csv (header id[,label]), .txt (one id per line), .json. */
export function keepFileText(path: string, keep: KeepResult, train: PoolSplit): string {
  const ext = extname(path).toLowerCase();
  const ids = keep.rows.map((i) => train.ids[i]);
  const csvCell = (s: string) => (/[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s);
  if (ext === '.csv') {
    if (keep.labels) return ['id,label', ...ids.map((id, j) => `${csvCell(id)},${csvCell(keep.labels![j])}`)].join('\n') + '\n';
    return ['id', ...ids.map(csvCell)].join('\n') + '\n';
  }
  if (ext === '.json') {
    return JSON.stringify(keep.labels ? ids.map((id, j) => ({ id, label: keep.labels![j] })) : ids) + '\n';
  }
  if (ext === '.txt' && !keep.labels) return ids.join('\n') + '\n';
  throw new SieveError(`--keep cannot write a ${keep.task} submission as "${ext || '(no extension)'}"`, {
    where: '--keep',
    examples: [keep.labels ? 'use .csv (id,label) or .json' : 'use .csv (header "id"), .txt (one id per line) or .json'],
  });
}
