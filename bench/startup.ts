/**
 * bench/startup: how long the `sieve` command takes to start, next to `node -e 0` (Node's own
 * start-up, the floor) measured in the same run. Each round runs, alternating with the
 * reference: node -e 0, sieve --help, node -e 0, sieve pool info fashion-mnist (ABAB), from a
 * temporary folder outside the clone, as a user's shell would. Reports medians over the rounds
 * and the median of the per-round ratios. Targets: --help ≤ 0.3 s, pool info ≤ 0.6 s. On Linux
 * it also reports the CPU time (user + system) of each child, which a busy shared machine
 * inflates far less than the wall time.
 *   node --import tsx bench/startup.ts [--rounds N] [--bin path/to/sieve.mjs]
 * `--bin` measures another launcher (e.g. an older checkout's, for a before/after figure).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';
import { printTable } from '../src/util/output.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const rounds = Number(arg('--rounds') ?? 7);
const bin = resolve(arg('--bin') ?? join(import.meta.dirname, '..', 'bin', 'sieve.mjs'));
const TARGETS: Record<string, number> = { help: 0.3, info: 0.6 };

if (!arg('--bin')) await ensureBuilt(); // a stale dist/ would add a rebuild to the first run
const cwd = mkdtempSync(join(tmpdir(), 'sieve-bench-startup-'));
const env = { ...process.env, SIEVE_WORKSPACE: join(cwd, 'ws') };

const commands = {
  node: [process.execPath, '-e', '0'],
  help: [process.execPath, bin, '--help'],
  info: [process.execPath, bin, 'pool', 'info', 'fashion-mnist'],
};
type Name = keyof typeof commands;

/** CPU seconds of this process's waited-for children (Linux: /proc/self/stat cutime + cstime). */
function childCpu(): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // fields 16 and 17 of proc(5), USER_HZ = 100
}

const cpu: Record<Name, number[]> = { node: [], help: [], info: [] };
function time(name: Name): number {
  const [cmd, ...args] = commands[name];
  const c0 = childCpu();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  const c1 = childCpu();
  if (c0 !== undefined && c1 !== undefined) cpu[name].push(c1 - c0);
  if (r.status !== 0) throw new Error(`${commands[name].join(' ')} exited ${r.status}: ${r.stderr}`);
  return s;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  for (const n of ['node', 'help', 'info'] as Name[]) time(n); // warm the file cache
  for (const n of ['node', 'help', 'info'] as Name[]) cpu[n].length = 0;
  const t: Record<Name, number[]> = { node: [], help: [], info: [] };
  const ratio: Record<'help' | 'info', number[]> = { help: [], info: [] };
  for (let r = 0; r < rounds; r++) {
    for (const which of ['help', 'info'] as const) {
      const ref = time('node');
      const x = time(which);
      t.node.push(ref);
      t[which].push(x);
      ratio[which].push(x / ref);
    }
  }
  console.log(`launcher ${bin}; ${rounds} ABAB rounds from ${cwd}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  printTable(
    ['command', 'median s', 'min s', 'node -e 0 median s', 'median ratio to node -e 0', 'CPU s (node -e 0)', 'target s', 'met'],
    (['help', 'info'] as const).map((w) => [
      commands[w].slice(1).join(' ').replace(bin, 'sieve'),
      median(t[w]).toFixed(3),
      Math.min(...t[w]).toFixed(3),
      median(t.node).toFixed(3),
      median(ratio[w]).toFixed(2),
      cpu[w].length ? `${median(cpu[w]).toFixed(2)} (${median(cpu.node).toFixed(2)})` : '-',
      TARGETS[w].toFixed(1),
      median(t[w]) <= TARGETS[w] ? 'yes' : 'no',
    ]),
  );
} finally {
  rmSync(cwd, { recursive: true, force: true });
}
