/** `sieve baselines <challenge>`: score the challenge's built-in baselines as a leaderboard. */
import type { Command } from 'commander';
import type { BaselineResult } from '../evaluate/baselines.ts';
import type { Challenge } from '../challenge/schema.ts';
import { printJson, printTable, printWrapped, terminalWidth } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';

export function register(program: Command): void {
  program
    .command('baselines')
    .description("score a challenge's built-in baselines (random, class-balanced, full pool; random / self-confidence order for ranking) and the built-in strategies that apply (sieve strategy list)")
    .argument('<challenge>', 'challenge name or path')
    .option('--only <names>', 'comma-separated baseline and built-in strategy names (default: the challenge\'s baselines and every built-in strategy that applies)')
    .option('--show-private', 'show private-test scores even though the challenge is still open')
    .option('--no-variants', "skip re-running each baseline on the challenge's hidden variants (no generalisation column)")
    .option('--no-strategies', 'leave out the built-in strategies')
    .option('--allow-network-unsandboxed', 'built-in code strategies: run even where the network cannot be isolated')
    .option('--json', 'print the baseline results as JSON')
    .addHelpText('after', `
Built-in strategies run exactly as a copy of their file would (sieve strategy show NAME):
through the same sandbox, scored and re-run on the hidden variants like any strategy.

Examples:
  sieve baselines fashion-select
  sieve baselines fashion-select --only random,drop-label-issues --json
  sieve baselines credit-fair --no-strategies`)
    .action(async (challengeRef: string, opts: { only?: string; json?: boolean; showPrivate?: boolean; variants?: boolean; strategies?: boolean; allowNetworkUnsandboxed?: boolean }) => {
      const progress = progressBar({ enabled: !opts.json });
      const { loadEvalContext } = await import('../evaluate/context.ts');
      const { runBaselines } = await import('../evaluate/baselines.ts');
      const ctx = await loadEvalContext(challengeRef, { progress });
      const names = opts.only?.split(',').map((s) => s.trim()).filter(Boolean);
      const results = await runBaselines(ctx, { names, progress, variants: opts.variants, strategies: opts.strategies, allowUnisolated: opts.allowNetworkUnsandboxed });
      progress.stop();
      const { isClosed } = await import('../challenge/load.ts');
      const showPrivate = opts.showPrivate === true || isClosed(ctx.challenge);
      if (opts.json) {
        printJson({
          challenge: { name: ctx.challenge.name, version: ctx.challenge.version },
          pool: { name: ctx.pool.name, content_hash: ctx.pool.manifest.content_hash },
          // Leaderboard order; rank is null for over-budget reference rows.
          baselines: (await withRanks(results)).map(({ rank, r }) => ({ rank, ...r, ...(showPrivate ? {} : { private: r.private ? { hidden: true } : null }) })),
        });
        return;
      }
      await printLeaderboard(ctx.challenge, results, { showPrivate });
    });
}

/** A leaderboard-style table of baseline results with intervals. */
export async function printLeaderboard(
  challenge: Challenge,
  results: BaselineResult[],
  opts: { showPrivate?: boolean; bootstrapSamples?: number } = {},
): Promise<void> {
  const { ci, leaderboardColumns, meanOnly, meanStd } = await import('../evaluate/format.ts');
  const primary = challenge.metrics.primary;
  const available = Object.keys(results[0]?.metrics ?? {});
  const extra = leaderboardColumns(primary, challenge.metrics.report, available);
  const withVariants = results.some((r) => r.generalisation);
  const head = ['#', 'baseline', 'rows', `${primary} (${challenge.metrics.direction}) mean ± std`, '95% CI', ...extra];
  if (withVariants) head.push(`generalisation (${results.find((r) => r.generalisation)!.generalisation!.n} variants) [95% t CI]`, 'gap');
  if (opts.showPrivate) head.push(`private ${primary}`);
  // On a narrow terminal a long strategy file name breaks after its hyphens instead of being cut.
  const narrow = terminalWidth() < 140;
  const rows = (await withRanks(results)).map(({ rank, r }) => {
    const row = [
      rank === null ? '-' : String(rank),
      r.over_budget ? `${r.name} (over budget)` : r.strategy ? hyphenLines(r.strategy.file, narrow) : r.error ? `${r.name} (failed)` : r.name,
      r.rows,
      meanStd(r.metrics[primary]),
      ci(r.metrics[primary]),
      ...extra.map((m) => meanOnly(r.metrics[m])),
    ];
    if (withVariants) row.push(...generalisationCells(r.generalisation));
    if (opts.showPrivate) row.push(meanStd(r.private?.metrics[primary]));
    return row;
  });
  printWrapped(`${challenge.name} v${challenge.version}: ${challenge.title} (public test part, ${challenge.model.seeds.length} model seed(s), ${opts.bootstrapSamples ?? challenge.bootstrap.samples} bootstrap resamples)`);
  printTable(head, rows);
  if (withVariants) {
    const g = results.find((r) => r.generalisation)!.generalisation!;
    printWrapped(`  generalisation: each baseline re-run on ${g.variants.length} hidden variant pool(s) of recipe ${g.recipe} (seeds ${g.variants.map((v) => v.seed).join(', ')}), ${primary} on each variant's public test part; mean with a Student t 95% interval over variants (3–5 values are too few for a bootstrap); gap = public − generalisation`, 2);
  }
  const { combinedConvergenceNote } = await import('../evaluate/convergence.ts');
  const convergence = combinedConvergenceNote(results);
  if (convergence) printWrapped(`  convergence: ${convergence}`, 2);
  for (const r of results) {
    const fewer = r.seeds.length !== challenge.model.seeds.length ? `; scored with seed ${r.seeds.join(', ')} only` : '';
    const label = r.strategy ? `${r.strategy.file} (built-in ${r.strategy.kind} strategy)` : r.name;
    printWrapped(`  ${label}: ${r.description} (${r.seconds.toFixed(1)} s${fewer})`, 2);
    if (r.error) printWrapped(`    failed: ${r.error}`, 4);
  }
  if (results.some((r) => r.strategy)) printWrapped('  built-in strategies: `sieve strategy show NAME` prints one; a copy scores the same with `sieve evaluate`');
}

/** `name` broken into lines after hyphens (each line as long as fits in 11 characters), when `narrow`. */
function hyphenLines(name: string, narrow: boolean): string {
  if (!narrow || name.length <= 11) return name;
  const lines: string[] = [];
  let line = '';
  for (const part of name.split(/(?<=-)/)) {
    if (line && line.length + part.length > 11) {
      lines.push(line);
      line = part;
    } else line += part;
  }
  lines.push(line);
  return lines.join('\n');
}

/** "0.8123 [0.80, 0.82]" and the gap, or why there is none. */
export function generalisationCells(g: BaselineResult['generalisation']): string[] {
  if (!g) return ['-', '-'];
  if (g.mean === null) return [g.note ?? 'failed', '-'];
  const ci = g.ci95 ? ` [${g.ci95[0].toFixed(4)}, ${g.ci95[1].toFixed(4)}]` : ' (no interval)';
  return [`${g.mean.toFixed(4)}${ci}`, g.gap === null ? '-' : `${g.gap >= 0 ? '+' : ''}${g.gap.toFixed(4)}`];
}

/** Baselines in leaderboard order with their rank (null for over-budget reference rows). */
async function withRanks(results: BaselineResult[]): Promise<{ rank: number | null; r: BaselineResult }[]> {
  const { leaderboardOrder } = await import('../evaluate/format.ts');
  let rank = 0;
  return leaderboardOrder(results).map((r) => ({ rank: r.over_budget || r.error ? null : ++rank, r }));
}
