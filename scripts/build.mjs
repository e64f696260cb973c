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

/** The esbuild settings every output shares: Node 20 ESM, in memory, licences kept inline. */
const ESBUILD_COMMON = { format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent', legalComments: 'inline', charset: 'utf8' };

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
/** Folders compiled into dist/ (tests and benchmarks run from the sources, through vitest and tsx). */
export const SOURCE_DIRS = ['src', 'compute', 'evaluator', 'pools/recipes'];
const STAMP = join(DIST, '.build-stamp.json');
/**
 * Pure-JavaScript packages of many small modules, bundled once each into dist/vendor/NAME.js
 * (the same code, one file): loading apache-arrow's 500 modules, zod's 230 or yaml's 80 one by
 * one costs a command 0.1–0.3 s of CPU before it starts; one file of each, a fraction. Every
 * compiled module imports the one copy, so there is one instance of each (instanceof holds).
 * A subpath import (`zod/v4`) of one of them is a build error: it would load a second copy.
 */
export const VENDORED = ['apache-arrow', 'yaml', 'zod'];
const VENDOR_DIR = 'vendor';
const vendorFile = (name) => join(DIST, VENDOR_DIR, `${name}.js`);

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

/** The installed version of a package (some, like apache-arrow, do not export their package.json). */
function packageVersion(require, name) {
  for (let dir = ROOT; ; dir = dirname(dir)) {
    const file = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')).version;
    if (dirname(dir) === dir) return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  }
}

/** What the output depends on besides the sources: this script, esbuild's and the vendored packages' versions. */
function builderKey() {
  const require = createRequire(import.meta.url);
  const h = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url)));
  for (const name of ['esbuild', ...VENDORED]) h.update(`${name}@${packageVersion(require, name)}\n`);
  return h.digest('hex').slice(0, 16);
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return undefined;
  }
}

// .tsx: the server's pages (hono/jsx; tsconfig.json's jsx settings, which esbuild reads too).
const isCompiled = (path) => (path.endsWith('.ts') && !path.endsWith('.d.ts')) || path.endsWith('.tsx');
const outputOf = (path) => (isCompiled(path) ? path.replace(/\.tsx?$/, '.js') : path);

/**
 * True when dist/ was built from exactly these sources (same paths, sizes and mtimes) by this
 * builder. Costs one stat per source file (a few milliseconds), no compiler.
 */
export function isFresh() {
  const stamp = readStamp();
  if (!stamp || stamp.builder !== builderKey()) return false;
  const sources = listSources();
  if (sources.length !== Object.keys(stamp.sources).length || !VENDORED.every((n) => existsSync(vendorFile(n)))) return false;
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
        const pkg = VENDORED.find((n) => args.path === n || args.path.startsWith(`${n}/`));
        if (pkg) {
          if (args.path !== pkg) return { errors: [{ text: `import "${pkg}" itself, not "${args.path}": ${pkg} is bundled once into dist/ (scripts/build.mjs, VENDORED)` }] };
          const from = dirname(join(DIST, relative(ROOT, args.importer)));
          const to = relative(from, vendorFile(pkg)).split(sep).join('/');
          return { path: to.startsWith('.') ? to : `./${to}`, external: true };
        }
        if (!/^\.\.?\//.test(args.path)) return { path: args.path, external: true };
        const target = relative(ROOT, join(args.resolveDir, args.path)).split(sep).join('/');
        if (!sourceSet.has(target))
          return { errors: [{ text: `${args.path} is not a file of ${SOURCE_DIRS.join(', ')}: it would be missing from dist/` }] };
        return { path: outputOf(args.path), external: true };
      });
    },
  };
}

/** One vendored package as a single ESM file (its CommonJS parts get a real `require`). */
async function bundleVendored(esbuild, name) {
  const attempt = (contents) =>
    esbuild({
      absWorkingDir: ROOT,
      stdin: { contents, resolveDir: ROOT, sourcefile: `vendor-${name}.js` },
      bundle: true,
      ...ESBUILD_COMMON,
      banner: { js: "import { createRequire as __sieveCreateRequire } from 'node:module';\nconst require = __sieveCreateRequire(import.meta.url);" },
      outfile: vendorFile(name),
    });
  // Exactly the names Node sees when it imports the package (for a CommonJS package such as
  // yaml, what its export lexer finds), so `export *`'s blind spot for CommonJS does not matter.
  const ns = await import(name);
  const names = Object.keys(ns).filter((k) => k !== 'default' && k !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(k));
  const spec = JSON.stringify(name);
  const r = await attempt(`export { ${names.join(', ')} } from ${spec};\n${'default' in ns ? `export { default } from ${spec};\n` : ''}`);
  return { path: vendorFile(name), bytes: Buffer.from(r.outputFiles[0].contents) };
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
      ...ESBUILD_COMMON,
      // A .js.map beside each module, mappings only (the sources are the .ts files themselves):
      // a bug report's stack trace names the .ts line (src/util/source-stack.ts, read only then;
      // turning Node's source maps on at start-up cost `pool info` ~13% more CPU).
      sourcemap: 'linked',
      sourcesContent: false,
      // The pages' JSX (src/server/pages/*.tsx), as tsconfig.json says for the type check.
      jsx: 'automatic',
      jsxImportSource: 'hono/jsx',
      plugins: [externals(sourceSet)],
    });
  } catch (err) {
    const problems = (err.errors ?? []).map((e) => `${e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : ''}${e.text}`);
    throw new Error(`sieve build: ${problems.length || 'a'} source problem(s):\n  ${problems.join('\n  ') || String(err)}`);
  }
  let written = 0;
  for (const f of result.outputFiles) if (writeIfChanged(f.path, Buffer.from(f.contents))) written++;
  for (const f of await Promise.all(VENDORED.map((name) => bundleVendored(esbuild, name)))) if (writeIfChanged(f.path, f.bytes)) written++;
  for (const s of sources) if (!isCompiled(s.path) && writeIfChanged(join(DIST, s.path), readFileSync(join(ROOT, s.path)))) written++;

  // Outputs whose source is gone (a deleted or renamed module must not stay importable).
  const expected = new Set(sources.flatMap((s) => (isCompiled(s.path) ? [outputOf(s.path), `${outputOf(s.path)}.map`] : [s.path])));
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
  for (const e of readdirSync(join(DIST, VENDOR_DIR))) {
    if (!VENDORED.some((n) => e === `${n}.js`) && !/\.tmp-\d+-/.test(e)) rmSync(join(DIST, VENDOR_DIR, e), { recursive: true, force: true });
  }
  for (const e of existsSync(DIST) ? readdirSync(DIST) : []) {
    if (e !== '.build-stamp.json' && e !== VENDOR_DIR && !SOURCE_DIRS.some((d) => d.split('/')[0] === e)) rmSync(join(DIST, e), { recursive: true, force: true });
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
