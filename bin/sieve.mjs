#!/usr/bin/env node
// Launcher: runs the compiled JavaScript in dist/ (built by `npm ci` through the `prepare`
// script, or `npm run build`); nothing is compiled at run time. In a clone (the TypeScript
// sources lie beside dist/) it first checks that dist/ was built from the sources as they are
// now, one stat per source file, and rebuilds what changed, so an edited source never runs
// stale. An installed package ships dist/ without the sources and skips the check.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
if (existsSync(new URL('src/cli/main.ts', root)) && existsSync(new URL('scripts/build.mjs', root))) {
  const { ensureBuilt } = await import('../scripts/build.mjs');
  try {
    const r = await ensureBuilt();
    if (!r.fresh && process.stderr.isTTY) process.stderr.write(`sieve: sources changed, rebuilt dist/ (${r.written} file(s))\n`);
  } catch (err) {
    process.stderr.write(`sieve: dist/ is out of date with the sources and could not be rebuilt (run \`npm ci\` or \`npm run build\`):\n${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(70);
  }
}
await import('../dist/src/cli/main.js');
