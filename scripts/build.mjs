#!/usr/bin/env node
// Compiles the TypeScript sources to plain JavaScript in dist/, so that no command compiles
// TypeScript at run time. Plain JavaScript on purpose: `npm ci` runs it (the `prepare` script)
// before anything else is built, and bin/sieve.mjs imports it in a clone to keep dist/ fresh.
//
// Each source becomes one module (esbuild, which the code-strategy sandbox also uses: no type
// check, which is `npm run typecheck`'s job; tsconfig has isolatedModules, so per-file output is
// exact), with relative `.ts` import specifiers rewritten to `.js`. dist/ mirrors the repository
// layout (dist/src/…, dist/compute/…, dist/evaluator/…, dist/pools/recipes/…); every other file
// in those folders (compute/worker.mjs, and any .sql, .py, template or wasm asset added later) is
// copied beside the compiled modules, so `new URL('./asset', import.meta.url)` finds it from
// dist/ as from the sources. A relative import of a file outside those folders is an error.
//
// Safe to run concurrently: dist/.build-stamp.json records each source's size and mtime (the
// freshness check is one stat per source); an output is rewritten only when its bytes change
// (temporary file + rename, so a running sieve never reads half a file), and outputs whose
// source is gone are deleted.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
/** Folders compiled into dist/ (tests and benchmarks run from the sources, through vitest and tsx). */
export const SOURCE_DIRS = ['src', 'compute', 'evaluator', 'pools/recipes'];
const STAMP = join(DIST, '.build-stamp.json');

/** Source files (relative, '/'-separated) with size and mtime, in a fixed order. */
function listSources() {
  const out = [];
  const walk = (rel) => {
    for (const e of readdirSync(join(ROOT, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        const st = statSync(join(ROOT, r));
        out.push({ path: r, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(ROOT, d))) walk(d);
  return out;
}

/** What the output depends on besides the sources: this script and esbuild's version. */
function builderKey() {
  const require = createRequire(import.meta.url);
  const esbuildVersion = JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')).version;
  return createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).update(esbuildVersion).digest('hex').slice(0, 16);
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return undefined;
  }
}

const isCompiled = (path) => path.endsWith('.ts') && !path.endsWith('.d.ts');
const outputOf = (path) => (isCompiled(path) ? path.slice(0, -3) + '.js' : path);

/**
 * True when dist/ was built from exactly these sources (same paths, sizes and mtimes) by this
 * builder. Costs one stat per source file (a few milliseconds), no compiler.
 */
export function isFresh() {
  const stamp = readStamp();
  if (!stamp || stamp.builder !== builderKey()) return false;
  const sources = listSources();
  if (sources.length !== Object.keys(stamp.sources).length) return false;
  return sources.every((s) => {
    const old = stamp.sources[s.path];
    return old && old.size === s.size && old.mtimeMs === s.mtimeMs && existsSync(join(DIST, outputOf(s.path)));
  });
}

function writeIfChanged(file, bytes) {
  try {
    if (readFileSync(file).equals(bytes)) return false;
  } catch {
    // absent: written below
  }
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return true;
}

/** Relative `.ts` specifiers become `.js`; every import stays an import (one output per source). */
function externals(sourceSet) {
  return {
    name: 'sieve-one-module-per-file',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        if (!/^\.\.?\//.test(args.path)) return { path: args.path, external: true };
        const target = relative(ROOT, join(args.resolveDir, args.path)).split(sep).join('/');
        if (!sourceSet.has(target))
          return { errors: [{ text: `${args.path} is not a file of ${SOURCE_DIRS.join(', ')}: it would be missing from dist/` }] };
        return { path: outputOf(args.path), external: true };
      });
    },
  };
}

/**
 * Brings dist/ up to date with the sources. Returns how many outputs were written and
 * removed; throws (listing every problem) when a source does not compile.
 */
export async function build({ quiet = true } = {}) {
  const key = builderKey();
  const sources = listSources();
  const sourceSet = new Set(sources.map((s) => s.path));
  const compiled = sources.filter((s) => isCompiled(s.path));
  const { build: esbuild } = await import('esbuild');
  let result;
  try {
    result = await esbuild({
      absWorkingDir: ROOT,
      entryPoints: compiled.map((s) => s.path),
      outdir: DIST,
      outbase: '.',
      bundle: true, // only so that the plugin sees (and rewrites) every import; each stays external
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      legalComments: 'inline',
      charset: 'utf8',
      plugins: [externals(sourceSet)],
    });
  } catch (err) {
    const problems = (err.errors ?? []).map((e) => `${e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : ''}${e.text}`);
    throw new Error(`sieve build: ${problems.length || 'a'} source problem(s):\n  ${problems.join('\n  ') || String(err)}`);
  }
  let written = 0;
  for (const f of result.outputFiles) if (writeIfChanged(f.path, Buffer.from(f.contents))) written++;
  for (const s of sources) if (!isCompiled(s.path) && writeIfChanged(join(DIST, s.path), readFileSync(join(ROOT, s.path)))) written++;

  // Outputs whose source is gone (a deleted or renamed module must not stay importable).
  const expected = new Set(sources.map((s) => outputOf(s.path)));
  let removed = 0;
  const prune = (rel) => {
    const abs = join(DIST, rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        prune(r);
        if (readdirSync(join(DIST, r)).length === 0) rmSync(join(DIST, r), { recursive: true });
      } else if (!(r === '.build-stamp.json' || expected.has(r) || /\.tmp-\d+-/.test(e.name))) {
        rmSync(join(DIST, r), { force: true });
        removed++;
      }
    }
  };
  for (const d of SOURCE_DIRS) prune(d);
  for (const e of existsSync(DIST) ? readdirSync(DIST) : []) {
    if (e !== '.build-stamp.json' && !SOURCE_DIRS.some((d) => d.split('/')[0] === e)) rmSync(join(DIST, e), { recursive: true, force: true });
  }

  const entries = Object.fromEntries(sources.map((s) => [s.path, { size: s.size, mtimeMs: s.mtimeMs }]));
  writeIfChanged(STAMP, Buffer.from(JSON.stringify({ builder: key, sources: entries }) + '\n'));
  if (!quiet) process.stderr.write(`sieve build: ${sources.length} sources, ${written} written, ${removed} removed → ${relative(process.cwd(), DIST) || '.'}${sep}\n`);
  return { sources: sources.length, written, removed };
}

/** Rebuilds dist/ when it is not fresh (used by bin/sieve.mjs in a clone and by the test setup). */
export async function ensureBuilt() {
  if (isFresh()) return { sources: 0, written: 0, removed: 0, fresh: true };
  return { ...(await build()), fresh: false };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await build({ quiet: false });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
