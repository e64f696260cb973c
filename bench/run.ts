/**
 * Runs every benchmark in bench/ (or those named on the command line) one after another,
 * each in its own Node process so that one's memory and JIT state don't colour the next.
 *   npm run bench                 all benchmarks
 *   npm run bench -- synth        only bench/synth.ts
 *   npm run bench -- audit-million --rows 200000 --no-reference
 *                                 options after the names go to each benchmark named
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
const chosen = wanted.length ? wanted : all;
let failed = 0;
for (const name of chosen) {
  console.log(`\n=== bench/${name} ===`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`), ...options], { stdio: 'inherit' });
  console.log(`=== bench/${name}: exit ${r.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s ===`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
