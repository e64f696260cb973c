/**
 * Shared pieces of the built-in pool recipes: seeded stratified sampling, the recipe
 * command line (`--from`, `--out`), and "run main() when executed as a script".
 */
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Rng } from '../../compute/rng.ts';
import { SieveError } from '../../src/util/errors.ts';
import { PACKAGE_ROOT } from '../../src/util/package-root.ts';
import type { PoolManifest } from '../../src/pool/manifest.ts';
import { writePool, type PoolDraft } from '../../src/pool/write.ts';
import type { Progress } from '../../src/util/progress.ts';

/** The repository's pools/ directory (where built-in pools are committed). */
export const POOLS_DIR = join(PACKAGE_ROOT, 'pools');

/**
 * Where the maintainers keep copies of the source data (Debian packages dataset-fashion-mnist
 * and weka): `$SIEVE_DATA`, else `shared/data` beside the repository. Only a convenience
 * default for recipe and benchmark runs: pass --from on any other machine. Nothing at run
 * time or in tests depends on it.
 */
export const DEV_DATA = process.env.SIEVE_DATA ?? resolve(POOLS_DIR, '..', '..', 'shared', 'data');

/**
 * Per-class quotas summing to `size`, proportional to the class counts (largest remainder,
 * ties to the lower class), never more than a class holds.
 */
export function stratifiedQuotas(counts: number[], size: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (size > n) throw new SieveError(`cannot draw ${size} rows from ${n}`, { where: 'stratified sample' });
  const exact = counts.map((c) => (c * size) / n);
  const quotas = exact.map(Math.floor);
  const order = exact.map((x, c) => ({ c, f: x - quotas[c] })).sort((p, q) => q.f - p.f || p.c - q.c);
  let left = size - quotas.reduce((a, b) => a + b, 0);
  for (let i = 0; left > 0; i = (i + 1) % order.length) {
    const c = order[i].c;
    if (quotas[c] < counts[c]) { quotas[c]++; left--; }
  }
  return quotas;
}

/**
 * A seeded stratified sample of `size` row indices out of `labels` (class indices in [0, k)),
 * returned in ascending order so files keep the source's row order.
 */
export function stratifiedSample(labels: ArrayLike<number>, k: number, size: number, rng: Rng): Int32Array {
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const quotas = stratifiedQuotas(byClass.map((l) => l.length), size);
  const out: number[] = [];
  for (let c = 0; c < k; c++) {
    const rows = Int32Array.from(byClass[c]);
    // Partial Fisher–Yates: the first quota[c] entries of a random order.
    for (let i = 0; i < quotas[c]; i++) {
      const j = i + rng.int(rows.length - i);
      const t = rows[i]; rows[i] = rows[j]; rows[j] = t;
      out.push(rows[i]);
    }
  }
  return Int32Array.from(out).sort();
}

/** Splits row indices 0..n−1 into a stratified seeded test part and the rest (both ascending). */
export function stratifiedSplit(labels: ArrayLike<number>, k: number, testRows: number, rng: Rng): { train: Int32Array; test: Int32Array } {
  const test = stratifiedSample(labels, k, testRows, rng);
  const inTest = new Uint8Array(labels.length);
  for (const i of test) inTest[i] = 1;
  const train = new Int32Array(labels.length - test.length);
  for (let i = 0, t = 0; i < labels.length; i++) if (!inTest[i]) train[t++] = i;
  return { train, test };
}

/** Values of `values` at `rows`, in order. */
export function pick<T>(values: ArrayLike<T>, rows: Int32Array): T[] {
  return Array.from(rows, (i) => values[i]);
}

/** Zero-padded id, e.g. padId('train', 42, 5) = "train-00042". */
export function padId(prefix: string, i: number, width: number): string {
  return `${prefix}-${String(i).padStart(width, '0')}`;
}

export interface RecipeArgs {
  from?: string;
  out?: string;
}

/** `--from PATH` and `--out DIR`, nothing else; unknown arguments are an error. */
export function parseRecipeArgs(argv: string[]): RecipeArgs {
  const args: RecipeArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag !== '--from' && flag !== '--out')
      throw new SieveError(`unknown argument "${a}" (recipes take --from PATH and --out DIR)`, { where: 'recipe arguments' });
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new SieveError(`${flag} needs a value`, { where: flag });
    args[flag === '--from' ? 'from' : 'out'] = value;
  }
  return args;
}

/** True when the module at `metaUrl` is the script Node was started with. */
export function isMain(metaUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === pathToFileURL(realpathSync(fileURLToPath(metaUrl))).href;
  } catch {
    return false;
  }
}

/** Runs a recipe's main, printing SieveErrors the way the CLI does. */
export async function runRecipe(main: (args: RecipeArgs) => Promise<void>): Promise<void> {
  try {
    await main(parseRecipeArgs(process.argv.slice(2)));
  } catch (err) {
    if (err instanceof SieveError) {
      process.stderr.write(err.describe() + '\n');
      process.exit(err.exitCode);
    }
    throw err;
  }
}

/**
 * pools/<name>, the default output of a recipe: the one place a writer may write inside the
 * package's pools/ (writePool's `intoBuiltinPools`, passed only for this default).
 */
export function builtinOut(name: string): string {
  return join(POOLS_DIR, name);
}

/** What every built-in recipe's build function takes (the recipe command line fills from/out). */
export interface BuiltinOptions {
  from?: string;
  out?: string;
  overwrite?: boolean;
  progress?: Progress;
}

/**
 * Writes a recipe's draft as every built-in pool is written: to pools/<name> by default (the one
 * write allowed inside pools/), else to --out; zstd level 19 unless the recipe needs another.
 */
export function writeBuiltin(draft: PoolDraft, opts: BuiltinOptions, compressionLevel = 19): Promise<PoolManifest> {
  return writePool(opts.out ?? builtinOut(draft.manifest.name), draft, {
    overwrite: opts.overwrite,
    progress: opts.progress,
    compressionLevel,
    intoBuiltinPools: opts.out === undefined,
  });
}

/** `node pools/recipes/NAME.ts [--from] [--out]`: builds the pool when run as a script and prints its counts. */
export async function recipeMain(metaUrl: string, build: (opts: BuiltinOptions) => Promise<PoolManifest>, progress?: () => Progress): Promise<void> {
  if (!isMain(metaUrl)) return;
  await runRecipe(async (args) => {
    const m = await build({ from: args.from, out: args.out, overwrite: true, progress: progress?.() });
    console.log(`${m.name}: ${m.splits.train.rows} train / ${m.splits.test?.rows} test rows, content hash ${m.content_hash}`);
  });
}
