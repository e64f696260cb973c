/**
 * The starting files `sieve strategy new NAME --kind sql|ts --task ...` writes: a header that
 * says what the file may use and how to try it, and a body that runs as it is (a plain
 * baseline to improve on). Import-free: the CLI renders them without loading any service.
 */
export type TemplateKind = 'sql' | 'ts';
export type TemplateTask = 'selection' | 'relabel' | 'ranking';

export const TEMPLATE_KINDS: readonly TemplateKind[] = ['sql', 'ts'];
export const TEMPLATE_TASKS: readonly TemplateTask[] = ['selection', 'relabel', 'ranking'];

const RETURNS: Record<TemplateTask, { sql: string; ts: string }> = {
  selection: { sql: 'the column id: at most `budget` distinct train ids', ts: 'at most ctx.budget row indices (or ids)' },
  relabel: { sql: 'the columns id, label: at most `budget` corrections (a class name each)', ts: 'at most ctx.budget corrections: { indices, labels }, labels as class indices (or names)' },
  ranking: { sql: 'the column id: train ids in the order to inspect them (end with an ORDER BY that breaks ties)', ts: 'every row index (or id) in the order to inspect them' },
};

const SQL_BODY: Record<TemplateTask, string> = {
  selection: `-- Starting point: a random sample of the budget, seeded by the run's seed (one draw of
-- the random baseline). Try, for instance, skipping suspected label errors:
--   FROM findings f WHERE NOT f.label_issue
SELECT p.id
FROM pool p
ORDER BY md5(p.id || ':' || (SELECT seed FROM params)), p.id
LIMIT (SELECT budget FROM params)
`,
  relabel: `-- Starting point: the rows whose given label the out-of-sample model finds least probable,
-- set to the class it finds most probable. Try, for instance, only the rows confident
-- learning flags: AND f.label_issue
SELECT f.id, f.oos_label AS label
FROM findings f
WHERE f.oos_label <> f.label
ORDER BY f.self_confidence, f.id
LIMIT (SELECT budget FROM params)
`,
  ranking: `-- Starting point: ascending out-of-sample probability of the given label (the
-- self-confidence baseline). Try, for instance, the kNN agreement as a tie-breaker:
--   ORDER BY f.self_confidence, f.knn_agreement, f.id
SELECT f.id
FROM findings f
ORDER BY f.self_confidence, f.id
`,
};

const TS_BODY: Record<TemplateTask, string> = {
  selection: `export function select(ctx: StrategyContext): Int32Array {
  // Starting point: an equal number of random rows per class. Try, for instance, skipping
  // suspected label errors (a stratum of -1 is never drawn):
  //   const strata = Int32Array.from(ctx.labels, (c, i) => (ctx.findings.labelIssue[i] ? -1 : c));
  const strata = ctx.labels;
  return ctx.helpers.stratifiedSample(strata, ctx.budget, ctx.random);
}
`,
  relabel: `export function relabel(ctx: StrategyContext): { indices: number[]; labels: number[] } {
  // Starting point: the rows whose given label the out-of-sample model finds least probable,
  // set to the class it finds most probable. Try, for instance, only rows confident learning
  // flags (ctx.findings.labelIssue[i]), or its ctx.findings.suggestedLabel.
  const k = ctx.classNames.length;
  const p = ctx.oosProbabilities;
  const predicted = ctx.helpers.argmaxRows(p, k);
  const own = Float64Array.from(ctx.labels, (c, i) => p[i * k + c]);
  const indices: number[] = [];
  const labels: number[] = [];
  for (const i of ctx.helpers.argsort(own)) {
    if (indices.length >= ctx.budget) break;
    if (predicted[i] !== ctx.labels[i]) {
      indices.push(i);
      labels.push(predicted[i]);
    }
  }
  return { indices, labels };
}
`,
  ranking: `export function rank(ctx: StrategyContext): Int32Array {
  // Starting point: ascending out-of-sample probability of the given label (the
  // self-confidence baseline). Try, for instance, ctx.findings.labelScore (descending), or
  // mixing in the kNN agreement (ctx.findings.knnAgreement).
  const k = ctx.classNames.length;
  const own = Float64Array.from(ctx.labels, (c, i) => ctx.oosProbabilities[i * k + c]);
  return ctx.helpers.argsort(own);
}
`,
};

/**
 * The text of a new strategy file. `contextImport` is the module specifier of
 * src/strategy/context.ts as seen from the new file (types only: erased before it runs), or
 * null when the package's sources are not at hand.
 */
export function strategyTemplate(name: string, kind: TemplateKind, task: TemplateTask, contextImport: string | null): string {
  const returns = RETURNS[task][kind];
  if (kind === 'sql') {
    return `-- ${name}: <what this strategy does, in one line>
--
-- A ${task} strategy for sieve (docs/strategies.md): one DuckDB SELECT over the tables
--   pool      the train split's participant columns: id, label, features, groups
--   findings  the audit's per-row findings: label_issue, label_score, suggested_label,
--             self_confidence, oos_label, oos_proba, knn_agreement, duplicate_redundant, ...
--             (computed only when the query names the table: an audit of the pool)
--   params    one row: task, budget, seed
-- returning ${returns}.
-- Check it:  sieve challenge check CHALLENGE ${name}.sql
-- Score it:  sieve evaluate CHALLENGE ${name}.sql
-- Tasks: ${task}.
${SQL_BODY[task]}`;
  }
  const typeImport = contextImport
    ? `import type { StrategyContext } from '${contextImport}'; // types only: erased before it runs\n`
    : `// The context's fields and types: docs/strategies.md, "The context".\ntype StrategyContext = any;\n`;
  return `/**
 * ${name}: <what this strategy does, in one line>
 *
 * A ${task} strategy for sieve (docs/strategies.md, "Code strategies"): \`${task === 'selection' ? 'select' : task === 'relabel' ? 'relabel' : 'rank'}(ctx)\` gets the
 * pool's train split (ctx.ids, ctx.labels, ctx.classNames, ctx.columns, ctx.groups), ctx.budget,
 * a seeded random source (ctx.random) and helpers (ctx.helpers), and returns
 * ${returns}.
 * ctx.findings (the audit's per-row findings) and ctx.oosProbabilities are computed on first read.
 * One file: Node built-ins only, no other imports; it runs in a sandbox.
 * Check it:  sieve challenge check CHALLENGE ${name}.ts
 * Score it:  sieve evaluate CHALLENGE ${name}.ts
 * Tasks: ${task}.
 */
${typeImport}
${TS_BODY[task]}`;
}
