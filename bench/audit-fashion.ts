/**
 * bench/audit-fashion: `sieve audit fashion-mnist` (20,000 images × 784 pixels, every analyser
 * that applies: no groups, no test split for leakage) as a user runs it, a fresh process each
 * round: wall time, seconds per analyser (label-errors pays for the shared cross-validation,
 * PCA and kNN graph) and peak RSS. Target: ≤ 10 s.
 *
 * Reference in the same run, ABAB (`--rounds`, default 3): cleanlab 2.9.0's Datalab pieces with
 * scikit-learn on the same 20,000 rows (bench/_audit_reference.py: standardise, PCA to 64,
 * normalise, 5-fold logistic regression, find_label_issues, a brute-force cosine kNN graph,
 * OutOfDistribution, Datalab's near-duplicate rule), skipped cleanly without /usr/bin/python3,
 * scikit-learn or cleanlab; the median of the per-round time ratios.
 *
 *   npm run bench -- audit-fashion            (node --import tsx bench/audit-fashion.ts [--rounds 3] [--html] [--no-python])
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { ensureBuilt } from '../scripts/build.mjs';
import { openPool, readSplit } from '../src/pool/read.ts';
import { analyserSeconds, arg, flag, load, median, pythonReason, runReference, runSieveAudit, table, writeRawSplit } from './_audit-common.ts';

const ROUNDS = Number(arg('rounds', '3'));
const TARGET = 10;
try { setPriority(10); } catch { /* not allowed: run as is */ }
await ensureBuilt();
const dir = mkdtempSync(join(tmpdir(), 'sieve-bench-audit-fashion-'));
console.log(`load average before: ${load()}`);
const reason = pythonReason();
if (reason) console.log(`reference ${reason}`);
const split = await readSplit(await openPool('fashion-mnist'), 'train');
const raw = reason ? null : writeRawSplit(split, dir);

const rows: (string | number)[][] = [];
const walls: number[] = [], ratios: number[] = [];
let last: ReturnType<typeof runSieveAudit> | null = null;
for (let r = 0; r < ROUNDS; r++) {
  const a = runSieveAudit('fashion-mnist', [], join(dir, 'out'), { html: flag('html') });
  const b = raw ? runReference(raw, split.n, split.d, split.classNames.length) : null;
  walls.push(a.wall);
  if (b) ratios.push(a.wall / b.wall);
  last = a;
  rows.push([r + 1, a.wall.toFixed(2), (a.rssMiB / 1024).toFixed(2), b ? b.wall.toFixed(2) : '–', b ? (a.wall / b.wall).toFixed(2) : '–', load()]);
  if (b && r === 0) console.log(`reference pieces (s): ${Object.entries(b.json.seconds).map(([k, v]) => `${k} ${(v as number).toFixed(2)}`).join(', ')}; label issues ${b.json.label_issues}, oos accuracy ${b.json.oos_accuracy.toFixed(3)}`);
}
console.log(`\nsieve audit fashion-mnist${flag('html') ? ' --html' : ''} vs the reference, ABAB × ${ROUNDS}:`);
table(['round', 'sieve s', 'sieve GiB', 'reference s', 'ratio', 'load'], rows);
console.log(`\nseconds per analyser (last round; label-errors includes the shared cross-validation, PCA and kNN graph):`);
table(['analyser', 'seconds', 'severity'], analyserSeconds(last!.json).map((s) => [s.name, s.seconds.toFixed(2), s.severity]));
const m = median(walls);
console.log(`\nmedian wall ${m.toFixed(2)} s (target ≤ ${TARGET} s: ${m <= TARGET ? 'met' : 'NOT MET'})` +
  (ratios.length ? `; median time ratio sieve / reference ${median(ratios).toFixed(2)}` : '') +
  `; oos accuracy ${Number(last!.json.pool.oos_model.accuracy).toFixed(3)}; load after ${load()}`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
