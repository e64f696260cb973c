/**
 * bench/interval-coverage: how often 95% intervals cover the truth on skewed small groups,
 * for the statistics the fairness figures report. Each case draws `--reps` data sets of 0/1
 * outcomes (e.g. "prediction correct") in groups of the given sizes and true rates, and builds
 * for each the Wilson interval (single rates), the bootstrap percentile interval, the
 * bias-corrected percentile interval ('bc': BCa with acceleration 0) and the BCa interval
 * (acceleration from the exact jackknife) with `--resamples` resamples, all through
 * compute/stats.ts. It prints the coverage of the true value, the share of intervals that held
 * their estimate before the extension to it, and the mean width. The reference is the nominal
 * 0.95, and the methods are measured on the same data in the same run.
 *   node --import tsx bench/interval-coverage.ts [--reps 400] [--resamples 400]
 */
import { allRows, forEachResample } from '../compute/bootstrap.ts';
import { bootstrapInterval, wilsonInterval } from '../compute/stats.ts';
import { createRng } from '../compute/rng.ts';

const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const REPS = arg('--reps', 400);
const B = arg('--resamples', 400);

type Stat = (ones: number[], rows: number[]) => number;
interface Tally { cover: number; held: number; width: number }

function run(name: string, sizes: number[], rates: number[], stat: Stat, truth: number, wilson: boolean): void {
  const rng = createRng(42);
  const methods: Record<string, Tally> = { percentile: { cover: 0, held: 0, width: 0 }, bc: { cover: 0, held: 0, width: 0 }, bca: { cover: 0, held: 0, width: 0 } };
  if (wilson) methods.wilson = { cover: 0, held: 0, width: 0 };
  let n = 0;
  for (let r = 0; r < REPS; r++) {
    const group: number[] = [], value: number[] = [];
    sizes.forEach((m, g) => { for (let i = 0; i < m; i++) { group.push(g); value.push(rng.uniform() < rates[g] ? 1 : 0); } });
    const N = group.length;
    const ones = sizes.map(() => 0), rows = sizes.map(() => 0);
    for (let i = 0; i < N; i++) { rows[group[i]]++; ones[group[i]] += value[i]; }
    const est = stat(ones, rows);
    if (!Number.isFinite(est)) continue;
    n++;
    const boot: number[] = [];
    forEachResample(allRows(N), N, B, rng, (_b, w) => {
      const o = sizes.map(() => 0), m = sizes.map(() => 0);
      for (let i = 0; i < N; i++) if (w[i]) { m[group[i]] += w[i]; o[group[i]] += w[i] * value[i]; }
      boot.push(stat(o, m));
    });
    const values: number[] = [], counts: number[] = [];
    sizes.forEach((_, g) => {
      for (const v of [0, 1]) {
        const c = v ? ones[g] : rows[g] - ones[g];
        if (!c) continue;
        const o = ones.slice(), m = rows.slice();
        m[g]--; o[g] -= v;
        values.push(stat(o, m)); counts.push(c);
      }
    });
    const add = (t: Tally, low: number, high: number, held: boolean) => {
      if (low <= truth && truth <= high) t.cover++;
      if (held) t.held++;
      t.width += high - low;
    };
    const p = bootstrapInterval(boot, est, { method: 'percentile' });
    add(methods.percentile, p.low, p.high, !p.extended);
    const c = bootstrapInterval(boot, est, { method: 'bca' });
    add(methods.bc, c.low, c.high, !c.extended);
    const b = bootstrapInterval(boot, est, { method: 'bca', jackknife: { values, counts } });
    add(methods.bca, b.low, b.high, !b.extended);
    if (wilson) { const [lo, hi] = wilsonInterval(ones[0], rows[0]); add(methods.wilson, lo, hi, true); }
  }
  console.log(`\n${name} (${n} data sets, ${B} resamples; nominal coverage 0.95)`);
  console.log('  method      coverage  held estimate  mean width');
  for (const [m, t] of Object.entries(methods)) {
    console.log(`  ${m.padEnd(10)}  ${(t.cover / n).toFixed(3).padStart(8)}  ${(t.held / n).toFixed(3).padStart(13)}  ${(t.width / n).toFixed(3).padStart(10)}`);
  }
}

const rate: Stat = (o, m) => (m[0] ? o[0] / m[0] : NaN);
const worst: Stat = (o, m) => Math.min(...o.map((x, i) => (m[i] ? x / m[i] : Infinity)));
const gap: Stat = (o, m) => { const r = o.map((x, i) => x / m[i]); return Math.max(...r) - Math.min(...r); };

run('rate of a 30-row group, p = 0.9', [30], [0.9], rate, 0.9, true);
run('rate of a 40-row group, p = 0.95', [40], [0.95], rate, 0.95, true);
run('worst-group rate, groups 30 / 40 / 300 at 0.90 / 0.92 / 0.95', [30, 40, 300], [0.9, 0.92, 0.95], worst, 0.9, false);
run('max − min gap, groups 30 / 300 at 0.7 / 0.8 (true gap 0.1)', [30, 300], [0.7, 0.8], gap, 0.1, false);
run('max − min gap, groups 30 / 300 at 0.75 / 0.8 (true gap 0.05)', [30, 300], [0.75, 0.8], gap, 0.05, false);
run('max − min gap, groups 40 / 60 / 300 all at 0.8 (true gap 0)', [40, 60, 300], [0.8, 0.8, 0.8], gap, 0, false);
