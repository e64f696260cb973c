import type { Command } from 'commander';
import type { NoiseType, SynthOptions } from '../pool/synth.ts';
import { SieveError } from '../util/errors.ts';
import { printJson, printTable, printWrapped } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';

function int(s: string, option: string, min = 0): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < min)
    throw new SieveError(`${option} needs a whole number ≥ ${min}, not "${s}"`, { where: option });
  return n;
}

function num(s: string, option: string): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) throw new SieveError(`${option} needs a number, not "${s}"`, { where: option });
  return n;
}

interface SynthCliOptions {
  rows: string; testRows?: string; testFraction?: string; dim: string; classes: string; separation?: string;
  noise?: string; noiseType?: string; exactDups?: string; nearDups?: string; nearSigma?: string; crossSplitFraction?: string;
  imbalance?: string; groupFraction?: string; groupNoiseFactor?: string; groupPriorShift?: string; outliers?: string; outlierScale?: string; seed?: string;
  name?: string; out: string; overwrite?: boolean; compressionLevel?: string; json?: boolean;
}

/** Turns CLI strings into generator options; the generator validates ranges with option names. */
export function synthOptionsFromCli(o: SynthCliOptions): SynthOptions {
  const opt = <T>(v: string | undefined, f: (s: string) => T): T | undefined => (v === undefined ? undefined : f(v));
  return {
    rows: int(o.rows, '--rows', 2),
    testRows: opt(o.testRows, (s) => int(s, '--test-rows')),
    testFraction: opt(o.testFraction, (s) => num(s, '--test-fraction')),
    dim: int(o.dim, '--dim', 1),
    classes: int(o.classes, '--classes', 2),
    separation: opt(o.separation, (s) => num(s, '--separation')),
    noise: opt(o.noise, (s) => num(s, '--noise')),
    noiseType: o.noiseType as NoiseType | undefined,
    exactDups: opt(o.exactDups, (s) => int(s, '--exact-dups')),
    nearDups: opt(o.nearDups, (s) => int(s, '--near-dups')),
    nearSigma: opt(o.nearSigma, (s) => num(s, '--near-sigma')),
    crossSplitFraction: opt(o.crossSplitFraction, (s) => num(s, '--cross-split-fraction')),
    imbalance: opt(o.imbalance, (s) => num(s, '--imbalance')),
    groupFraction: opt(o.groupFraction, (s) => num(s, '--group-fraction')),
    groupNoiseFactor: opt(o.groupNoiseFactor, (s) => num(s, '--group-noise-factor')),
    groupPriorShift: opt(o.groupPriorShift, (s) => num(s, '--group-prior-shift')),
    outliers: opt(o.outliers, (s) => int(s, '--outliers')),
    outlierScale: opt(o.outlierScale, (s) => num(s, '--outlier-scale')),
    seed: opt(o.seed, (s) => int(s, '--seed')),
    name: o.name,
  };
}

export function registerPoolSynth(pool: Command): void {
  pool
    .command('synth')
    .description('generate a synthetic pool with known ground truth (label noise, duplicates, imbalance, group effects)')
    .requiredOption('--out <dir>', 'directory to write the pool to')
    .option('--rows <n>', 'total rows, train + test', '10000')
    .option('--test-rows <n>', 'rows in the test split (default: --test-fraction of --rows)')
    .option('--test-fraction <f>', 'share of rows in the test split', '0.2')
    .option('--dim <d>', 'embedding dimensions', '64')
    .option('--classes <k>', 'number of classes', '10')
    .option('--separation <s>', 'distance of class centroids from the origin (within-class std is 1)', '2.5')
    .option('--noise <rate>', 'share of train labels flipped', '0')
    .option('--noise-type <type>', 'symmetric (to any other class), asymmetric (i → i+1 mod k) or mixed', 'symmetric')
    .option('--exact-dups <n>', 'exact duplicate pairs to plant', '0')
    .option('--near-dups <n>', 'near duplicate pairs (copy + Gaussian jitter) to plant', '0')
    .option('--near-sigma <s>', 'jitter std of near duplicates (default: 0.05 from 16 dims on; below, small enough for the duplicates audit to detect every pair)')
    .option('--cross-split-fraction <f>', 'share of duplicate pairs whose copy lands in test (leakage)', '0.2')
    .option('--imbalance <r>', 'largest / smallest class size (geometric sizes in between)', '1')
    .option('--group-fraction <f>', "share of rows in group 'b'", '0.3')
    .option('--group-noise-factor <f>', "label noise rate of group 'b' over that of group 'a'", '1')
    .option('--group-prior-shift <s>', "tilt of group 'b' towards low-numbered classes (0 = same class prior)", '0')
    .option('--outliers <n>', 'train rows replaced by outliers (features outlier-scale × N(0, I) around the origin)', '0')
    .option('--outlier-scale <s>', 'spread of the outlier rows', '6')
    .option('--seed <n>', 'random seed', '0')
    .option('--name <name>', 'pool name in the manifest', 'synth')
    .option('--compression-level <n>', 'zstd level of the Parquet files (1-22)', '3')
    .option('--overwrite', 'replace --out if it exists')
    .option('--json', 'machine-readable summary')
    .action(async (o: SynthCliOptions) => {
      const opts = synthOptionsFromCli(o);
      const level = int(o.compressionLevel ?? '3', '--compression-level', 1);
      if (level > 22) throw new SieveError(`--compression-level must be 1-22, not ${level}`, { where: '--compression-level' });
      // Imported here: the writer loads DuckDB, which `sieve --help` should not pay for.
      const { generateSynthPool, synthDraft } = await import('../pool/synth.ts');
      const { writePool } = await import('../pool/write.ts');
      const bar = !o.json;
      const t0 = performance.now();
      const p = generateSynthPool(opts, { progress: progressBar({ enabled: bar }) });
      const t1 = performance.now();
      const manifest = await writePool(o.out, synthDraft(p), {
        overwrite: o.overwrite,
        progress: progressBar({ enabled: bar }),
        compressionLevel: level,
      });
      const t2 = performance.now();
      const summary = {
        out: o.out,
        name: manifest.name,
        rows: { train: p.stats.trainRows, test: p.stats.testRows },
        dim: p.options.dim,
        classes: manifest.classes,
        // The given labels' counts per split (what `sieve audit` counts), and the clean labels' (the sizes drawn).
        class_counts: manifest.splits,
        clean_class_counts: {
          train: Object.fromEntries(manifest.classes.map((c, i) => [c, p.stats.classCounts.train[i]])),
          test: Object.fromEntries(manifest.classes.map((c, i) => [c, p.stats.classCounts.test[i]])),
        },
        noisy_rows: p.stats.noisyRows,
        noisy_by_group: p.stats.noisyByGroup,
        duplicate_pairs: { exact: p.stats.exactPairs, near: p.stats.nearPairs, cross_split: p.stats.crossSplitPairs },
        options: p.options,
        content_hash: manifest.content_hash,
        files: manifest.files,
        seconds: { generate: (t1 - t0) / 1000, write: (t2 - t1) / 1000 },
      };
      if (o.json) return printJson(summary);
      console.log(`wrote ${manifest.name} to ${o.out} in ${((t2 - t0) / 1000).toFixed(1)} s (generate ${summary.seconds.generate.toFixed(1)} s, write ${summary.seconds.write.toFixed(1)} s)`);
      printTable(
        ['what', 'value'],
        [
          ['rows (train / test)', `${p.stats.trainRows} / ${p.stats.testRows}`],
          ['dimensions × classes', `${p.options.dim} × ${p.options.classes}`],
          ['label noise', `${p.stats.noisyRows} rows (${p.options.noiseType}); group a ${p.stats.noisyByGroup.a.noisy}/${p.stats.noisyByGroup.a.rows}, group b ${p.stats.noisyByGroup.b.noisy}/${p.stats.noisyByGroup.b.rows}`],
          ...(p.stats.outlierRows ? [['outliers', `${p.stats.outlierRows} rows`]] : []),
          ['duplicate pairs', `${p.stats.exactPairs} exact, ${p.stats.nearPairs} near, ${p.stats.crossSplitPairs} across train/test`],
          [p.stats.noisyRows ? 'class sizes (train, clean labels)' : 'class sizes (train)', p.stats.classCounts.train.join(' ')],
          ...(p.stats.noisyRows ? [['class sizes (train, given labels)', manifest.classes.map((c) => manifest.splits.train.class_counts[c] ?? 0).join(' ')]] : []),
          ['content hash', manifest.content_hash],
        ],
      );
      printTable(
        ['file', 'visibility', 'rows', 'bytes'],
        manifest.files.map((f) => [f.path, f.visibility, f.rows, f.bytes]),
      );
      // Too few rows for the asked imbalance: the smallest classes round to a few rows (at least
      // one), so the ratio comes out off, larger or smaller (200 rows, 10 classes, 50: 57).
      const sizes = p.stats.classCounts.train, got = Math.max(...sizes) / Math.max(1, Math.min(...sizes));
      if (p.options.imbalance > 1 && Math.abs(got / p.options.imbalance - 1) > 0.1)
        printWrapped(`note: --imbalance ${p.options.imbalance} cannot be met with ${p.stats.trainRows} train rows in ${p.options.classes} classes: the clean train class sizes are ${sizes.join(' ')} (ratio ${got.toFixed(1)}, not ${p.options.imbalance}: the smallest class has ${Math.min(...sizes)} row${Math.min(...sizes) === 1 ? '' : 's'})`);
      if (p.options.dim === 1 && p.options.nearDups > 0)
        printWrapped(`note: at 1 dimension no near copy is detectable (the duplicates audit's radius is below the values' float32 resolution): \`sieve audit\` will not find the ${p.options.nearDups} near pairs; the exact ones it finds`);
      if (p.stats.noisyRows) printWrapped('note: class sizes are of the clean labels; label noise moves rows between classes, so the given labels (what `sieve audit` counts) differ');
    });
}
