/**
 * `sieve demo`: offline, in under two minutes on two cores. Scores the baselines of the
 * fashion-select challenge on the built-in fashion-mnist pool, prints them as a leaderboard
 * with intervals, and says what to try next.
 */
import type { Command } from 'commander';
import { printJson, printWrapped } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';
import { printLeaderboard } from './baselines.ts';

export const DEMO_CHALLENGE = 'fashion-select';

export function register(program: Command): void {
  program
    .command('demo')
    .description('offline tour: score the fashion-select baselines and show what to try next')
    .option('--bootstrap <n>', 'bootstrap resamples (default: the challenge\'s)', (v) => Number.parseInt(v, 10))
    .option('--json', 'print the baseline results as JSON')
    .action(async (opts: { bootstrap?: number; json?: boolean }) => {
      const t0 = performance.now();
      const progress = progressBar({ enabled: !opts.json });
      if (!opts.json) console.log(`sieve demo: scoring the baselines of ${DEMO_CHALLENGE} (fixed model, every seed, bootstrap intervals)...`);
      const { loadEvalContext } = await import('../evaluate/context.ts');
      const { runBaselines } = await import('../evaluate/baselines.ts');
      const ctx = await loadEvalContext(DEMO_CHALLENGE, { progress });
      // The demo stays quick: hidden variants (a generalisation column) are `sieve baselines`' job.
      const results = await runBaselines(ctx, { progress, bootstrapSamples: opts.bootstrap, variants: false, strategies: false });
      progress.stop();
      const seconds = (performance.now() - t0) / 1000;
      if (opts.json) {
        printJson({ challenge: DEMO_CHALLENGE, seconds, baselines: results.map((r) => ({ ...r, private: r.private ? { hidden: true } : null })) });
        return;
      }
      console.log('');
      await printLeaderboard(ctx.challenge, results, { bootstrapSamples: opts.bootstrap });
      // What the columns mean, for a first-time reader.
      const c = ctx.challenge;
      const { primary, direction } = c.metrics;
      printWrapped(
        `\nColumns: "${primary} (${direction})" is the challenge's primary metric (${direction === 'max' ? 'higher' : 'lower'} is better), ` +
          `the mean ± std over the ${c.model.seeds.length} model seeds on the public test part; "95% CI" is its bootstrap interval ` +
          `(${opts.bootstrap ?? c.bootstrap.samples} resamples of the test rows); the other columns are means over the seeds ` +
          `(\`sieve baselines ${DEMO_CHALLENGE} --json\` has every figure).`,
      );
      // Identical per-seed scores (their std is rounding, ~1e-16), not the std itself, say the rows were fixed.
      if (results.some((r) => { const p = r.metrics[primary]?.per_seed; return !!p && p.length > 1 && p.every((x) => x === p[0]); })) {
        const { getModel } = await import('../../evaluator/models/registry.ts');
        printWrapped(
          `"± 0.0000": ${getModel(c.model.kind).seedless ? `${c.model.kind} uses no randomness, so` : 'here'} the same rows give the same model ` +
            'under every seed; a baseline whose rows do not change with the seed (full-pool) therefore scores the same each time, ' +
            'while random and class-balanced draw new rows per seed.',
        );
      }
      console.log(`\ndone in ${seconds.toFixed(1)} s. What to try next:`);
      // Run through npx (npm sets npm_command=exec), the commands need npx in front too.
      const sieve = process.env.npm_command === 'exec' ? 'npx sieve' : 'sieve';
      const next: [string, string][] = [
        [`sieve challenge info ${DEMO_CHALLENGE}`, 'the rules, the model and the submission format'],
        ['sieve pool head fashion-mnist --rows 5', 'look at the rows you choose from'],
        ['sieve audit fashion-mnist --html report.html', 'find label errors, duplicates and imbalance first'],
        [`sieve evaluate ${DEMO_CHALLENGE} my-ids.csv --out result.json`, 'score your subset (public test part, 95% intervals)'],
        ['sieve verify result.json', 're-run the record: are the metrics bit-identical?'],
        ['sieve challenge list', 'the other challenges: fashion-debug (ranking), credit-fair, synth-teach'],
      ];
      const width = Math.max(...next.map(([c]) => c.replace(/^sieve/, sieve).length)) + 3;
      for (const [c, what] of next) printWrapped(`  ${c.replace(/^sieve/, sieve).padEnd(width)}${what}`, 2 + width);
      console.log(
        `\nA submission for ${DEMO_CHALLENGE}: my-ids.csv with the header line "id" and then at most ${ctx.rules.budget} train ids,\n` +
          'one per line (as `sieve pool head` shows them); .txt (ids only), .json (["id", ...]), .parquet and .arrow work too.',
      );
    });
}
