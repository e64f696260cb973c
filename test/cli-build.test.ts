/**
 * The command runs compiled JavaScript (dist/, scripts/build.mjs) and loads only what the
 * command needs: `sieve --help` loads no heavy package and no TypeScript; the launcher in a
 * clone rebuilds dist/ when a source changed, so stale output can never run (and pass tests)
 * silently.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './pool-helpers.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'sieve.mjs');
// Everything but commander: the CLI files load their libraries inside their actions (cli-table3
// and cli-progress on first use).
const HEAVY = ['zod', 'yaml', 'apache-arrow', '@duckdb/node-api', '@duckdb/node-bindings', 'vega', 'vega-lite', 'ml-matrix', 'hono', 'esbuild', 'tsx', 'typescript', 'cli-table3', 'cli-progress', 'sharp', '@huggingface/transformers', 'onnxruntime-node'];

/** Runs the launcher with a module-resolution hook that prints every module URL it loads. */
function loadedModules(args: string[], cwd: string, env: Record<string, string> = {}): { status: number | null; urls: string[]; stderr: string; stdout: string } {
  const dir = tempDir('sieve-trace-');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, "export async function resolve(s, c, next) { const r = await next(s, c); process._rawDebug('LOADED ' + r.url); return r; }\n");
  const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify('file://' + hooks)});`;
  const r = spawnSync(process.execPath, ['--import', register, BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, SIEVE_WORKSPACE: join(dir, 'ws'), ...env } });
  const urls = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
  return { status: r.status, urls, stderr: r.stderr, stdout: r.stdout };
}

const packagesOf = (urls: string[]) =>
  [...new Set(urls.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => !!p))].sort();

describe('the sieve command', () => {
  it('`sieve --help` runs compiled JavaScript and loads no heavy package', () => {
    const r = loadedModules(['--help'], tempDir('sieve-cwd-'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.urls.some((u) => u.endsWith('/dist/src/cli/main.js'))).toBe(true);
    expect(r.urls.filter((u) => /\.[cm]?tsx?$/.test(u))).toEqual([]);
    expect(packagesOf(r.urls).filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(r.urls.filter((u) => u.includes('/dist/vendor/'))).toEqual([]); // bundled arrow, zod, yaml
  });

  it('`sieve pool info` reads a manifest without loading DuckDB or Arrow, with the one bundled zod', () => {
    const r = loadedModules(['pool', 'info', 'german-credit', '--json'], tempDir('sieve-cwd-'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.urls.some((u) => u.endsWith('/dist/vendor/zod.js'))).toBe(true);
    const loaded = packagesOf(r.urls);
    expect(loaded.filter((p) => ['apache-arrow', '@duckdb/node-api', 'vega', 'yaml', 'zod', 'tsx'].includes(p))).toEqual([]);
  });

  it('`sieve evaluate` on a warm evaluation cache loads neither DuckDB nor Arrow, with the same scores', () => {
    const dir = tempDir('sieve-cwd-');
    const env = { SIEVE_CACHE: join(dir, 'cache') };
    const ids = loadedModules(['sql', 'german-credit', 'SELECT id FROM train ORDER BY id LIMIT 300', '--csv'], dir);
    expect(ids.status, ids.stderr).toBe(0);
    writeFileSync(join(dir, 'ids.csv'), ids.stdout);
    const cold = loadedModules(['evaluate', 'credit-fair', 'ids.csv', '--json'], dir, env);
    expect(cold.status, cold.stderr).toBe(0);
    expect(packagesOf(cold.urls)).toContain('@duckdb/node-api'); // the first run decodes the Parquet files
    const warm = loadedModules(['evaluate', 'credit-fair', 'ids.csv', '--json'], dir, env);
    expect(warm.status, warm.stderr).toBe(0);
    expect(packagesOf(warm.urls).filter((p) => ['@duckdb/node-api', '@duckdb/node-bindings', 'apache-arrow'].includes(p))).toEqual([]);
    // Nor the audit a strategy's findings would need, nor the pool writer a variant build would.
    expect(warm.urls.filter((u) => /\/dist\/(src\/(analysers\/audit|strategy\/findings|pool\/write|pool\/duckdb)|vendor\/apache-arrow)\.js$/.test(u))).toEqual([]);
    const metrics = (out: string) => JSON.stringify(JSON.parse(out).metrics);
    expect(metrics(warm.stdout)).toBe(metrics(cold.stdout));
  });

  it('a command that reads YAML and Arrow uses the bundled copies, never a second one from node_modules', () => {
    const dir = tempDir('sieve-cwd-');
    const out = join(dir, 'train.arrow');
    const exported = loadedModules(['pool', 'export', 'german-credit', '--format', 'arrow', '--out', out], dir);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.urls.some((u) => u.endsWith('/dist/vendor/apache-arrow.js'))).toBe(true);
    const challenge = loadedModules(['challenge', 'info', 'credit-fair', '--json'], dir);
    expect(challenge.status, challenge.stderr).toBe(0);
    expect(challenge.urls.some((u) => u.endsWith('/dist/vendor/yaml.js'))).toBe(true);
    for (const r of [exported, challenge]) expect(packagesOf(r.urls).filter((p) => ['apache-arrow', 'yaml', 'zod'].includes(p))).toEqual([]);
  });
});

describe('scripts/build.mjs and the launcher in a clone', () => {
  /** A miniature clone: the real launcher and build script, a two-module CLI, an asset. */
  function miniClone() {
    const dir = tempDir('sieve-mini-');
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'scripts'));
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    mkdirSync(join(dir, 'compute'));
    cpSync(BIN, join(dir, 'bin', 'sieve.mjs'));
    cpSync(join(ROOT, 'scripts', 'build.mjs'), join(dir, 'scripts', 'build.mjs'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{ "name": "mini", "type": "module" }\n');
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "import { word } from './word.ts';\nimport { asset } from '../../compute/asset.ts';\nconst n: number = 1;\nconsole.log(word, n, asset());\n");
    writeFileSync(join(dir, 'src', 'cli', 'word.ts'), "export const word: string = 'first';\n");
    writeFileSync(join(dir, 'compute', 'asset.ts'), "import { readFileSync } from 'node:fs';\nexport const asset = (): string => readFileSync(new URL('./data.txt', import.meta.url), 'utf8').trim();\n");
    writeFileSync(join(dir, 'compute', 'data.txt'), 'asset-1\n');
    return dir;
  }
  const run = (dir: string) => spawnSync(process.execPath, [join(dir, 'bin', 'sieve.mjs')], { cwd: dir, encoding: 'utf8' });
  /** Rewrites a source with a later mtime (two edits within one clock tick must still count). */
  const edit = (file: string, text: string) => {
    writeFileSync(file, text);
    const t = new Date(Date.now() + 5000);
    utimesSync(file, t, t);
  };

  it('builds dist/ on first use, then rebuilds what changed and deletes what was removed', () => {
    const dir = miniClone();
    let r = run(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('first 1 asset-1');
    expect(readFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), 'utf8')).toContain('"./word.js"');
    expect(existsSync(join(dir, 'dist', 'compute', 'data.txt'))).toBe(true);

    edit(join(dir, 'src', 'cli', 'word.ts'), "export const word: string = 'second';\n");
    edit(join(dir, 'compute', 'data.txt'), 'asset-2\n');
    r = run(dir);
    expect(r.stdout.trim()).toBe('second 1 asset-2');

    writeFileSync(join(dir, 'src', 'cli', 'gone.ts'), 'export {};\n');
    expect(run(dir).status).toBe(0);
    expect(existsSync(join(dir, 'dist', 'src', 'cli', 'gone.js'))).toBe(true);
    spawnSync('rm', [join(dir, 'src', 'cli', 'gone.ts')]);
    expect(run(dir).status).toBe(0);
    expect(existsSync(join(dir, 'dist', 'src', 'cli', 'gone.js'))).toBe(false);
  });

  it('refuses a source that does not parse, or that imports a file dist/ would not hold, and runs nothing stale', () => {
    const dir = miniClone();
    expect(run(dir).status).toBe(0);
    edit(join(dir, 'src', 'cli', 'word.ts'), "export const word: string = 'third'\nexport const = ;\n");
    let r = run(dir);
    expect(r.status).toBe(70);
    expect(r.stderr).toContain('src/cli/word.ts:2');
    expect(r.stdout).toBe('');

    mkdirSync(join(dir, 'test'));
    writeFileSync(join(dir, 'test', 'helper.ts'), 'export const h = 1;\n');
    edit(join(dir, 'src', 'cli', 'word.ts'), "import { h } from '../../test/helper.ts';\nexport const word = `w${h}`;\n");
    r = run(dir);
    expect(r.status).toBe(70);
    expect(r.stderr).toContain('../../test/helper.ts is not a file of src, compute, evaluator, pools/recipes');
  });
});
