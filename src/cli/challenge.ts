/**
 * `sieve challenge list | info | check`: the built-in challenges, one challenge's rules, and
 * a dry run of submission validation (no training).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Challenge } from '../challenge/schema.ts';
import { taskOf } from '../tasks/index.ts';
import { printJson, printTable } from '../util/output.ts';

function budgetText(c: Challenge): string {
  return taskOf(c.task).budgetText(c.budget);
}

// The challenge loader (YAML, zod) is imported by each action, not for `sieve --help`.
const loader = () => import('../challenge/load.ts');

function summary(c: Challenge, isClosed: (c: Challenge) => boolean) {
  return {
    name: c.name,
    version: c.version,
    title: c.title,
    task: c.task,
    pool: c.pool,
    budget: budgetText(c),
    model: `${c.model.kind}${c.model.preprocess.pca ? ` (PCA-${c.model.preprocess.pca})` : ''}`,
    seeds: c.model.seeds.length,
    primary: `${c.metrics.primary} (${c.metrics.direction})`,
    status: c.closes ? (isClosed(c) ? `closed ${c.closes}` : `open until ${c.closes}`) : 'open',
  };
}

export function register(program: Command): void {
  const cmd = program.command('challenge').description('list challenges, show their rules, check a submission without scoring it');

  cmd
    .command('list')
    .description('list the built-in challenges')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { isClosed, listChallenges } = await loader();
      const all = (await listChallenges()).map((c) => summary(c, isClosed));
      if (opts.json) return printJson(all);
      printTable(
        ['name', 'task', 'pool', 'budget', 'model', 'seeds', 'primary', 'status'],
        all.map((c) => [c.name, c.task, c.pool, c.budget, c.model, c.seeds, c.primary, c.status]),
      );
    });

  cmd
    .command('info')
    .description("show a challenge's spec and its README")
    .argument('<challenge>', 'challenge name or path')
    .option('--json', 'print the parsed spec as JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const { isClosed, loadChallenge } = await loader();
      const c = await loadChallenge(ref);
      if (opts.json) return printJson(c);
      const s = summary(c, isClosed);
      printTable(
        ['field', 'value'],
        [
          ['name', `${c.name} v${c.version}`],
          ['title', c.title],
          ['task', c.task],
          ['pool', c.one_vs_rest ? `${c.poolRef}, as ${c.one_vs_rest} (positive) vs other` : c.poolRef],
          ['budget', s.budget],
          ['model', `${c.model.kind} ${JSON.stringify(c.model.params)} preprocess ${JSON.stringify(c.model.preprocess)}`],
          ['seeds', c.model.seeds.join(', ')],
          ['primary metric', s.primary],
          ['scoring rules', c.metrics.rules === 'dataperf' ? "dataperf (DataPerf's official rules; docs/challenges.md)" : 'sieve'],
          ['reported', c.metrics.report.join(', ') || '-'],
          ['groups', c.groups.join(', ') || '-'],
          ['test', `public fraction ${c.test.public_fraction}, partition seed ${c.test.seed}`],
          ['bootstrap', `${c.bootstrap.samples} resamples, seed ${c.bootstrap.seed}`],
          ['limits', c.limits.submissions_per_day ? `${c.limits.submissions_per_day} submissions per day` : '-'],
          ['baselines', c.baselines.join(', ') || '-'],
          ['status', s.status],
          ['spec', c.specPath],
        ],
      );
      const readme = await readFile(join(c.dir, 'README.md'), 'utf8').catch(() => null);
      if (readme) console.log('\n' + readme.trimEnd());
    });

  cmd
    .command('check')
    .description('validate a submission against a challenge without training anything')
    .argument('<challenge>', 'challenge name or path')
    .argument('<submission>', 'submission file')
    .option('--format <format>', 'submission format, overriding the extension')
    .option('--json', 'print the outcome as JSON')
    .action(async (ref: string, path: string, opts: { format?: string; json?: boolean }) => {
      const { checkSubmissionFile } = await import('../evaluate/runner.ts');
      const { challenge: c, submission, sha256 } = await checkSubmissionFile(ref, path, { format: opts.format });
      const out = { ok: true, challenge: c.name, format: submission.format, rows: submission.rows, sha256 };
      if (opts.json) return printJson(out);
      console.log(`ok: ${submission.rows} ${taskOf(c.task).columns.includes('label') ? 'corrections' : 'ids'} (${submission.format}) pass every rule of ${c.name}; budget ${budgetText(c)}`);
    });
}
