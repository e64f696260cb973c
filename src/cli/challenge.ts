/**
 * `sieve challenge list | info | variants | check`: the built-in challenges, one challenge's
 * rules, its hidden variant pools (built on demand), and a dry run of submission validation.
 * `sieve challenge create | open | close --server URL --token ORG`: an organiser's changes on a
 * challenge server (docs/server.md "Organisers").
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Challenge } from '../challenge/schema.ts';
import { taskOf } from '../tasks/index.ts';
import { printJson, printTable } from '../util/output.ts';
import { remote, remoteOptions, type Remote } from './submit.ts';

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
          ['limits', [
            c.limits.submissions_per_day ? `${c.limits.submissions_per_day} submission${c.limits.submissions_per_day === 1 ? '' : 's'} per day` : '',
            c.limits.submissions_total ? `${c.limits.submissions_total} in all` : '',
          ].filter(Boolean).join(', ') + (c.limits.submissions_per_day || c.limits.submissions_total ? ' per participant (enforced by sieve serve)' : '') || '-'],
          ['baselines', c.baselines.join(', ') || '-'],
          ['variants', c.variants ? `${c.variants.pools.length} hidden (recipe ${c.variants.recipe}, seeds ${c.variants.pools.map((v) => v.seed).join(', ')}): strategies are re-run on each` : '-'],
          ['status', s.status],
          ['spec', c.specPath],
        ],
      );
      // A test split anyone with the pool folder may read (an import without --hidden-test):
      // the server never serves it, but a pool shared as files gives the hidden scores away.
      const { openChallengePool } = await loader();
      const pool = await openChallengePool(c).catch(() => null);
      const test = pool?.manifest.files.find((f) => f.role === 'test');
      if (test?.visibility === 'participant')
        console.log(`\nnote: the pool's test split is participant-visible (${pool!.manifest.name} was imported without --hidden-test): \`sieve pool head --split test\` shows it to anyone with the pool folder, so share that folder with no one who competes (or re-import with --hidden-test)`);
      const readme = await readFile(join(c.dir, 'README.md'), 'utf8').catch(() => null);
      if (readme) console.log('\n' + readme.trimEnd());
    });

  cmd
    .command('variants')
    .description("build (or find in the cache) a challenge's hidden variant pools and show their content hashes")
    .argument('<challenge>', 'challenge name or path')
    .option('--json', 'print as JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const { progressBar } = await import('../util/progress.ts');
      const { ensureVariants } = await import('../evaluate/variants.ts');
      const c = await (await loader()).loadChallenge(ref);
      if (!c.variants) {
        if (opts.json) return printJson({ challenge: c.name, variants: [] });
        return console.log(`${c.name} declares no hidden variants`);
      }
      const progress = progressBar({ enabled: !opts.json });
      // The hashes built here, also where the spec pins others: this is the command that says so.
      const variants = await ensureVariants(c, { progress, checkPins: false });
      progress.stop();
      const rows = variants.map((v) => {
        const pin = c.variants!.pools.find((p) => p.seed === v.seed)?.content_hash;
        return {
          seed: v.seed,
          train_rows: v.pool.manifest.splits.train.rows,
          test_rows: v.pool.manifest.splits.test?.rows ?? 0,
          content_hash: v.contentHash,
          pinned: pin !== undefined,
          pinned_hash: pin ?? null,
          pin_matches: pin === undefined ? null : pin === v.contentHash,
          built: v.built,
          dir: v.pool.dir,
        };
      });
      const differ = rows.filter((r) => r.pin_matches === false);
      if (differ.length) process.exitCode = 1;
      if (opts.json) return printJson({ challenge: c.name, recipe: c.variants.recipe, variants: rows });
      console.log(`${c.name}: ${rows.length} hidden variant(s), recipe ${c.variants.recipe}; evaluator-only, never shown to strategies' authors`);
      printTable(
        ['seed', 'train', 'test', 'content hash', 'pinned', 'cache'],
        rows.map((r) => [r.seed, r.train_rows, r.test_rows, r.content_hash, r.pin_matches === null ? 'no' : r.pin_matches ? 'yes' : 'DIFFERS', `${r.built ? 'built' : 'found'} ${r.dir}`]),
      );
      // The pins in full (a narrow terminal cuts the table's cells), ready to paste.
      console.log(`\nvariants.pools as built here, to pin in ${c.specPath}:`);
      for (const r of rows) console.log(`    - { seed: ${r.seed}, content_hash: ${r.content_hash} }`);
      if (differ.length)
        console.log(`\n${differ.length} pinned hash(es) differ from the build here (seed ${differ.map((r) => `${r.seed} pins ${r.pinned_hash}`).join('; ')}): strategies cannot be scored until the pins are the hashes above, or the recipe builds what they pin.`);
    });

  cmd
    .command('check')
    .description('validate a submission against a challenge without training anything')
    .argument('<challenge>', 'challenge name or path')
    .argument('<submission>', 'submission file')
    .option('--format <format>', 'submission format, overriding the extension')
    .option('--allow-network-unsandboxed', 'code strategies: run even where the network cannot be isolated')
    .option('--json', 'print the outcome as JSON')
    .action(async (ref: string, path: string, opts: { format?: string; json?: boolean; allowNetworkUnsandboxed?: boolean }) => {
      const { checkSubmissionFile } = await import('../evaluate/runner.ts');
      const { challenge: c, submission, sha256, read } = await checkSubmissionFile(ref, path, { format: opts.format, allowUnisolated: opts.allowNetworkUnsandboxed });
      // A strategy's output is held as CSV internally; the user wrote code, so name that instead.
      const source = read.strategy ? `from the ${read.strategy.kind} strategy` : submission.format;
      const out = { ok: true, challenge: c.name, format: submission.format, rows: submission.rows, sha256, ...(read.strategy ? { strategy: read.strategy } : {}) };
      if (opts.json) return printJson(out);
      console.log(`ok: ${submission.rows} ${taskOf(c.task).columns.includes('label') ? 'corrections' : 'ids'} (${source}) pass every rule of ${c.name}; budget ${budgetText(c)}`);
    });

  for (const to of ['open', 'close'] as const) {
    remoteOptions(cmd
      .command(to)
      .description(`organisers: ${to} a challenge on a challenge server (${to === 'close' ? 'its private leaderboard is shown from then on' : 'submissions are taken from then on'}; logged with who and when)`)
      .argument('<challenge>', 'challenge name on the server'))
      .action(async (name: string, opts: Remote) => {
        const { setChallengeState } = await import('../server/client.ts');
        const out = await setChallengeState(remote(opts), name, to);
        if (opts.json) return printJson(out);
        console.log(`${out.name}: ${out.state}`);
        if (out.state === 'closed') console.log(`its leaderboard now shows the private test rows, final ranks and moves: sieve leaderboard ${out.name}`);
      });
  }

  remoteOptions(cmd
    .command('create')
    .description('organisers: create a challenge on a challenge server from a challenge.yaml (its pool: must name a pool the server has)')
    .argument('<challenge.yaml>', 'the spec file'))
    .option('--open', 'open it at once (default: a draft until `sieve challenge open`)')
    .action(async (path: string, opts: Remote & { open?: boolean }) => {
      const { createChallenge } = await import('../server/client.ts');
      const { fsError } = await import('../util/errors.ts');
      const yaml = await readFile(path, 'utf8').catch((err) => { throw fsError(err, 'read the challenge spec', path) ?? err; });
      const out = await createChallenge(remote(opts), yaml, opts.open === true);
      if (opts.json) return printJson(out);
      console.log(`${out.name}: created (${out.state})`);
    });
}
