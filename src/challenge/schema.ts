/**
 * The challenge.yaml schema. A challenge fixes everything but the data: the pool, the task,
 * the budget, the model with its hyperparameters and seeds, the metrics, the public/private
 * test partition and the submission limits. Validation errors name the field path.
 */
import { z } from 'zod';
import { TASK_NAMES, TASKS as TASK_DEFINITIONS, type TaskName } from '../tasks/index.ts';
import { MODEL_KINDS } from '../../evaluator/models/kinds.ts';
import { STRATEGY_KINDS } from '../strategy/types.ts';

/** Task names (each task is described in src/tasks/). */
export const TASKS = TASK_NAMES;
export type Task = TaskName;

/** The fixed models' kinds (evaluator/models/kinds.ts; each model's parameters are checked by its own declaration, model-check.ts). */
export { MODEL_KINDS };

/**
 * Metric families a challenge may name (the evaluator's names, evaluator/metrics.ts). A
 * metric is a family, or a family with an argument: `f1[Coat]`, `worst_group_accuracy[sex]`,
 * `group_accuracy[sex=female]`. Ranking challenges add the curve metrics.
 */
export const CLASSIFICATION_FAMILIES = [
  'accuracy',
  'balanced_accuracy',
  'macro_f1',
  'log_loss',
  'ece',
  'precision',
  'recall',
  'f1',
  'group_accuracy',
  'worst_group_accuracy',
  'demographic_parity_gap',
  'equalized_odds_difference',
] as const;
/**
 * Ranking (evaluator/protocols/ranking.ts): auc = area under accuracy / clean-pool accuracy
 * over the fraction of rows fixed; fraction_to_95 = fewest fixes (as a fraction of the pool)
 * reaching 95% of the clean-pool accuracy; accuracy of the noisy pool, after the whole
 * ranking, and of the clean pool.
 */
export const RANKING_FAMILIES = [
  'auc', 'fraction_to_95', 'noisy_accuracy', 'final_accuracy', 'clean_accuracy', 'dataperf_fraction_fixes',
] as const;

/**
 * Scoring rule sets (docs/challenges.md "Scoring rules"): `sieve`, the default, and `dataperf`,
 * DataPerf's official rules reproduced exactly (debugging: dataperf_fraction_fixes, needing a
 * refit after every fix; selection: the positive class's F1 on a two-class task).
 */
export const SCORING_RULES = ['sieve', 'dataperf'] as const;
export type ScoringRules = (typeof SCORING_RULES)[number];

/** Name of the class that stands for every other class in a one_vs_rest challenge. */
export const REST_CLASS = 'other';
export const METRIC_FAMILIES = [...CLASSIFICATION_FAMILIES, ...RANKING_FAMILIES] as const;
export type MetricFamilyName = (typeof METRIC_FAMILIES)[number];

/** Families that need the challenge's group columns. */
export const GROUP_FAMILIES: readonly string[] = [
  'group_accuracy',
  'worst_group_accuracy',
  'demographic_parity_gap',
  'equalized_odds_difference',
];
/** Families that need a positive class (one-vs-rest rates per group). */
export const POSITIVE_CLASS_FAMILIES: readonly string[] = ['demographic_parity_gap', 'equalized_odds_difference'];
/** Families with one value per class or group: a primary metric must pick one with [...]. */
export const PER_ITEM_FAMILIES: readonly string[] = ['precision', 'recall', 'f1', ...GROUP_FAMILIES];
/** Families where smaller is better; everything else is "higher is better". */
export const LOWER_IS_BETTER: readonly string[] = [
  'log_loss',
  'ece',
  'demographic_parity_gap',
  'equalized_odds_difference',
  'fraction_to_95',
  'dataperf_fraction_fixes',
];

/**
 * The values each metric family can take, [low, high] (high may be Infinity): rates, fractions
 * and gaps in [0, 1]; log loss in [0, ∞); the ranking curve's auc, the area under
 * accuracy / clean-pool accuracy, in [0, ∞) (a partly fixed pool can beat the clean one, so
 * it can pass 1). An interval over a metric's values (the generalisation score's) is clipped
 * to this range. A new family must say its range here (the type requires it).
 */
export const METRIC_RANGES: Record<MetricFamilyName, readonly [number, number]> = {
  accuracy: [0, 1],
  balanced_accuracy: [0, 1],
  macro_f1: [0, 1],
  log_loss: [0, Infinity],
  ece: [0, 1],
  precision: [0, 1],
  recall: [0, 1],
  f1: [0, 1],
  group_accuracy: [0, 1],
  worst_group_accuracy: [0, 1],
  demographic_parity_gap: [0, 1],
  equalized_odds_difference: [0, 1],
  auc: [0, Infinity],
  fraction_to_95: [0, 1],
  noisy_accuracy: [0, 1],
  final_accuracy: [0, 1],
  clean_accuracy: [0, 1],
  dataperf_fraction_fixes: [0, 1],
};

/** The range of a metric name ("f1[Coat]" → f1's); an unknown family is an error (the schema admits none). */
export function metricRange(name: string): readonly [number, number] {
  const { family } = splitMetricName(name);
  const r = (METRIC_RANGES as Record<string, readonly [number, number]>)[family];
  if (!r) throw new Error(`metricRange: no range for metric "${name}" (family "${family}" is not one of ${METRIC_FAMILIES.join(', ')})`);
  return r;
}

/** "f1[Coat]" → { family: "f1", arg: "Coat" }; "accuracy" → { family: "accuracy" }. */
export function splitMetricName(name: string): { family: string; arg?: string } {
  const m = /^([a-z0-9_]+)(?:\[(.+)\])?$/.exec(name);
  if (!m) return { family: name };
  return { family: m[1], arg: m[2] };
}

const metricName = z.string().refine((s) => {
  const { family, arg } = splitMetricName(s);
  return (METRIC_FAMILIES as readonly string[]).includes(family) && (arg === undefined || /^[^\[\]]+$/.test(arg));
}, { error: (iss) => `${JSON.stringify(iss.input)} is not a metric: expected a metric family (${METRIC_FAMILIES.join(', ')}), optionally with [class] or [group column]` });

/** Built-in baselines per task (listed by each task in src/tasks/, implemented by src/evaluate/baselines.ts). */
export const BASELINES: Record<Task, readonly string[]> = Object.fromEntries(
  TASK_NAMES.map((t) => [t, TASK_DEFINITIONS[t].baselines]),
) as Record<Task, readonly string[]>;

const nonEmptyName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');
const paramValue = z.union([z.number(), z.string(), z.boolean()]);
/** YYYY-MM-DD or a full ISO timestamp; YAML's core schema leaves both as strings. */
/**
 * A date and time without a zone ("2030-12-04T02:30:00"): Date.parse reads it in the machine's
 * zone, so one spec closed at different instants on machines in other zones. A date alone is
 * midnight UTC (as Date.parse reads it) and needs none.
 */
export const timeWithoutZone = (s: string): boolean => /^\d{4}-\d{2}-\d{2}[T ][\d:.]+$/.test(s);

const isoDate = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)), {
    message: 'an ISO date such as 2030-12-31',
  })
  .refine((s) => !timeWithoutZone(s), {
    message: 'a time needs its time zone, e.g. 2030-12-31T16:00:00Z (UTC) or 2030-12-31T17:00:00+01:00: without one it would depend on the machine\'s zone',
  });

export const challengeSchema = z
  .object({
    name: nonEmptyName,
    version: z.number().int().positive(),
    title: z.string().min(1),
    description: z.string().optional(),
    /** When the challenge closes; afterwards private scores are shown. Absent: never closes. */
    closes: isoDate.optional(),
    /** A built-in pool name, or a path to a pool directory relative to the challenge.yaml. */
    pool: z.string().min(1),
    task: z.enum(TASKS),
    budget: z
      .object({
        /** selection: most ids a subset may hold. */
        rows: z.number().int().positive().optional(),
        /** relabel: most (id, label) corrections. */
        corrections: z.number().int().positive().optional(),
        /** ranking: most ids a ranking may list (default: every train row). */
        max_length: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    model: z
      .object({
        kind: z.enum(MODEL_KINDS),
        params: z.record(z.string(), paramValue).default({}),
        preprocess: z
          .object({
            scale: z.number().positive().optional(),
            pca: z.number().int().positive().optional(),
            standardize: z.boolean().optional(),
          })
          .strict()
          .default({}),
        seeds: z.array(z.number().int().nonnegative()).min(1),
      })
      .strict(),
    /**
     * Score the pool as a two-class task: this class (positive) against every other one,
     * which are merged into a class named `other`. Submissions still name the pool's rows.
     */
    one_vs_rest: z.string().min(1).optional(),
    metrics: z
      .object({
        /** Which reference rules the primary metric follows (sieve's own, or DataPerf's). */
        rules: z.enum(SCORING_RULES).default('sieve'),
        /** The one number the leaderboard ranks on, e.g. accuracy or worst_group_accuracy[sex]. */
        primary: metricName,
        direction: z.enum(['max', 'min']),
        /** Further metrics shown next to it (families expand to every class / group column). */
        report: z.array(metricName).default([]),
        /** Class counted as "positive" by demographic_parity_gap and equalized_odds_difference. */
        positive_class: z.string().min(1).optional(),
      })
      .strict(),
    /** Group columns of the pool on which group metrics are reported. */
    groups: z.array(z.string().min(1)).default([]),
    test: z
      .object({
        /** Share of the hidden test rows whose scores are shown while the challenge is open. */
        public_fraction: z.number().gt(0).lte(1),
        /** Seed of the stratified public/private partition. */
        seed: z.number().int().nonnegative().default(0),
      })
      .strict(),
    limits: z
      .object({
        /** Per participant per UTC day; enforced by `sieve serve` (failed and cancelled jobs do not count). */
        submissions_per_day: z.number().int().positive().optional(),
        /** Per participant over the whole challenge; enforced by `sieve serve`. */
        submissions_total: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    baselines: z.array(z.string().min(1)).default([]),
    /**
     * Strategy kinds an entrant may submit instead of a file (docs/strategies.md): `sql`, `code`
     * (TypeScript / JavaScript). Default both; `[]` takes files only.
     */
    strategies: z.array(z.enum(STRATEGY_KINDS)).default([...STRATEGY_KINDS]),
    bootstrap: z
      .object({
        samples: z.number().int().positive().max(100_000).default(1000),
        seed: z.number().int().nonnegative().default(0),
      })
      .strict()
      .default({ samples: 1000, seed: 0 }),
    /**
     * Hidden variant pools (docs/challenges.md "Variants"): the pool's recipe rebuilt with other
     * seeds, evaluator-only. Strategies are re-run on each one for a generalisation score.
     */
    variants: z
      .object({
        /** A variant recipe of pools/recipes/variants.ts (named after the pool recipe it repeats). */
        recipe: nonEmptyName,
        pools: z
          .array(
            z
              .object({
                seed: z.number().int().nonnegative(),
                /** The variant's pool content hash, pinned: a build that differs is refused. */
                content_hash: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits').optional(),
              })
              .strict(),
          )
          .min(1),
      })
      .strict()
      .optional(),
    ranking: z
      .object({
        /** Retrain after every `step` fixes (1 = every step). */
        step: z.number().int().positive().default(1),
        /** Independent warm-start chains of the curve (part of the result's definition). */
        segments: z.number().int().positive().max(64).default(2),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const need = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const task = TASK_DEFINITIONS[c.task];
    // Each budget key belongs to one task: required there when the task says so, refused elsewhere.
    if (task.budgetRequired && c.budget[task.budgetKey] === undefined) need(['budget', task.budgetKey], `${task.name} needs budget.${task.budgetKey}`);
    for (const def of Object.values(TASK_DEFINITIONS)) {
      if (def !== task && c.budget[def.budgetKey] !== undefined) need(['budget', def.budgetKey], `only for task ${def.name}, not ${c.task}`);
    }
    if (task.result !== 'curve' && c.ranking !== undefined) need(['ranking'], `only for task ranking, not ${c.task}`);
    const seen = new Set<number>();
    c.model.seeds.forEach((s, i) => {
      if (seen.has(s)) need(['model', 'seeds', i], `duplicate seed ${s}`);
      seen.add(s);
    });
    const all: [string, (string | number)[]][] = [
      [c.metrics.primary, ['metrics', 'primary']],
      ...c.metrics.report.map((m, i): [string, (string | number)[]] => [m, ['metrics', 'report', i]]),
    ];
    for (const [m, path] of all) {
      const { family, arg } = splitMetricName(m);
      if (GROUP_FAMILIES.includes(family) && c.groups.length === 0) need(path, `${m} needs at least one column in groups`);
      if (GROUP_FAMILIES.includes(family) && arg !== undefined) {
        const col = family === 'group_accuracy' ? arg.split('=')[0] : arg;
        if (!c.groups.includes(col)) need(path, `${m}: "${col}" is not listed in groups (${c.groups.join(', ') || 'none'})`);
      }
      if (POSITIVE_CLASS_FAMILIES.includes(family) && c.metrics.positive_class === undefined)
        need(path, `${m} needs metrics.positive_class`);
      const isRanking = (RANKING_FAMILIES as readonly string[]).includes(family);
      if (isRanking && task.metrics !== 'ranking') need(path, `${m} is a ranking metric; task is ${c.task}`);
      if (!isRanking && task.metrics === 'ranking')
        need(path, `${m} is not computed for ranking challenges; use ${RANKING_FAMILIES.join(', ')}`);
    }
    const primary = splitMetricName(c.metrics.primary);
    if (PER_ITEM_FAMILIES.includes(primary.family) && primary.arg === undefined)
      need(['metrics', 'primary'], `${c.metrics.primary} has one value per class or group; name one, e.g. ${primary.family}[...]`);
    const natural = LOWER_IS_BETTER.includes(primary.family) ? 'min' : 'max';
    if (c.metrics.direction !== natural)
      need(['metrics', 'direction'], `${c.metrics.primary} is better when ${natural === 'max' ? 'higher' : 'lower'}; use ${natural}`);
    c.baselines.forEach((b, i) => {
      if (!BASELINES[c.task].includes(b)) need(['baselines', i], `unknown ${c.task} baseline "${b}"; known: ${BASELINES[c.task].join(', ')}`);
    });
    const step = c.ranking?.step ?? 1;
    for (const [m, path] of all) {
      if (splitMetricName(m).family === 'dataperf_fraction_fixes' && step !== 1)
        need(path, `${m} follows DataPerf's refit after every fix; it needs ranking.step 1, not ${step}`);
    }
    if (c.one_vs_rest !== undefined && !task.oneVsRest)
      need(['one_vs_rest'], "relabel corrections name the pool's classes; one_vs_rest is for selection and ranking");
    if (c.one_vs_rest !== undefined && c.one_vs_rest === REST_CLASS)
      need(['one_vs_rest'], `"${REST_CLASS}" names the merged rest; pick a class of the pool`);
    if (c.metrics.rules === 'dataperf') {
      if (c.task === 'relabel') need(['metrics', 'rules'], 'DataPerf has no relabel rules; use rules: sieve');
      if (c.task === 'ranking' && c.metrics.primary !== 'dataperf_fraction_fixes')
        need(['metrics', 'primary'], `DataPerf's debugging rules rank by dataperf_fraction_fixes (direction min), not ${c.metrics.primary}`);
      if (c.task === 'selection') {
        const pos = c.metrics.positive_class;
        if (pos === undefined) need(['metrics', 'positive_class'], "DataPerf's selection rules score the positive class's F1: name it");
        else if (c.metrics.primary !== `f1[${pos}]`)
          need(['metrics', 'primary'], `DataPerf's selection rules rank by the positive class's F1, f1[${pos}], not ${c.metrics.primary}`);
        if (c.one_vs_rest === undefined) need(['one_vs_rest'], "DataPerf's selection task is binary: name the concept class in one_vs_rest");
        else if (pos !== undefined && pos !== c.one_vs_rest)
          need(['metrics', 'positive_class'], `the positive class of a one_vs_rest challenge is ${c.one_vs_rest}, not ${pos}`);
      }
    }
    if (c.variants) {
      const seeds = new Set<number>();
      c.variants.pools.forEach((v, i) => {
        if (seeds.has(v.seed)) need(['variants', 'pools', i, 'seed'], `duplicate variant seed ${v.seed}`);
        seeds.add(v.seed);
      });
    }
    c.strategies.forEach((k, i) => {
      if (c.strategies.indexOf(k) !== i) need(['strategies', i], `duplicate strategy kind ${k}`);
    });
    const dupGroups = c.groups.filter((g, i) => c.groups.indexOf(g) !== i);
    if (dupGroups.length) need(['groups'], `duplicate group column ${dupGroups[0]}`);
  });

/** A challenge as written in challenge.yaml, with defaults filled in. */
export type ChallengeSpec = z.output<typeof challengeSchema>;

/** A loaded challenge: the spec plus where it came from and how to find its pool. */
export interface Challenge extends ChallengeSpec {
  /** Absolute path of challenge.yaml. */
  specPath: string;
  /** Absolute directory of the challenge (README.md lives here). */
  dir: string;
  /** sha256 of the challenge.yaml bytes, recorded in every result. */
  specSha256: string;
  /** What to hand to openPool: the built-in name, or an absolute path. */
  poolRef: string;
  /** True when this is one of the challenges shipped in challenges/. */
  builtin: boolean;
}
