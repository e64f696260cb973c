/**
 * bench/server-load: a real `sieve serve` (bin/sieve.mjs, its own process, two evaluation
 * workers) on loopback with a small challenge (a 400-row synthetic pool, logistic regression,
 * two seeds), driven from this process:
 *
 * 1. 50 submissions sent at once (10 participants × 5), each answered 202; then every job is
 *    waited for, and after the server stops the store is read directly: 50 submissions, 50
 *    results, each submission with exactly one result and its job with exactly one finished
 *    ("done") attempt, no failed job. The wall time from the first upload to the last result
 *    is printed with the per-job figure.
 * 2. 64 concurrent readers of `GET /api/challenges/NAME/leaderboard` (10 entries, their paired
 *    comparisons warmed as the server does after each result): reads per second and p50/p99
 *    latency, next to the same 64 readers on `GET /healthz` (the server's floor: routing, one
 *    store count, JSON) measured in the same run, alternating ABAB for `--rounds` rounds of
 *    `--seconds` each; the median of the per-round ratios. One round of the HTML leaderboard
 *    page (with its plot) too.
 *
 * Rate limiting is off (`--rate-limit 0`: every reader is 127.0.0.1). It lowers its own
 * priority (nice 10, inherited by the server) and prints the load average before and after,
 * so figures measured on a busy machine say so. Bounded: about a minute and a half.
 *   npm run bench -- server-load   (or: node --import tsx bench/server-load.ts [--rounds 3] [--seconds 3])
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ensureBuilt } from '../scripts/build.mjs';
import { createRng } from '../compute/rng.ts';
import { generateSynthPool, synthDraft } from '../src/pool/synth.ts';
import { writePool } from '../src/pool/write.ts';
import { printTable } from '../src/util/output.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const rounds = Number(arg('--rounds') ?? 3);
const seconds = Number(arg('--seconds') ?? 3);
const READERS = 64;
const PARTICIPANTS = 10;
const PER_PARTICIPANT = 5;
const bin = resolve(join(import.meta.dirname, '..', 'bin', 'sieve.mjs'));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

try { setPriority(10); } catch { /* not allowed: run as is */ }
await ensureBuilt();
console.log(`load average before: ${load()} (${(await import('node:os')).availableParallelism()} cores)`);

const dir = mkdtempSync(join(tmpdir(), 'sieve-bench-server-'));
const challenges = join(dir, 'challenges');
const chDir = join(challenges, 'load');
mkdirSync(chDir, { recursive: true });
const synth = generateSynthPool({ name: 'load-pool', rows: 400, dim: 6, classes: 3, noise: 0.15, separation: 2, seed: 11 });
await writePool(join(chDir, 'pool'), synthDraft(synth));
writeFileSync(join(chDir, 'challenge.yaml'), [
  'name: load', 'version: 1', 'title: Load benchmark', 'pool: ./pool', 'task: selection', 'budget: { rows: 100 }',
  'metrics: { primary: accuracy, direction: max, report: [macro_f1] }',
  'model: { kind: logistic-regression, params: { l2: 1, max_iter: 50 }, seeds: [0, 1] }',
  'test: { public_fraction: 0.5, seed: 0 }', 'bootstrap: { samples: 200, seed: 0 }', '',
].join('\n'));
const db = join(dir, 'load.duckdb');

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

let server: ChildProcess | undefined;
try {
  const init = run(['serve', '--init', '--db', db, '--json']);
  let initOut = '';
  init.stdout!.on('data', (d: Buffer) => { initOut += d.toString(); });
  await new Promise((ok) => init.once('exit', ok));
  const organiser = JSON.parse(initOut).token as string;

  server = run(['serve', '--db', db, '--port', '0', '--challenges', challenges, '--workers', '2', '--rate-limit', '0', '--json']);
  let serverErr = '';
  server.stderr!.on('data', (d: Buffer) => { serverErr += d.toString(); });
  const url = await new Promise<string>((ok, fail) => {
    let buf = '';
    server!.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) ok(m[1]);
      if (buf.length > 1e6) buf = buf.slice(-1000);
    });
    server!.once('exit', (code) => fail(new Error(`sieve serve exited (${code}): ${serverErr}`)));
  });

  // ---- 1. 50 submissions at once.
  const ids = synth.train.columns.find((c) => c.name === 'id')!.values as string[];
  const tokens: string[] = [];
  for (let p = 0; p < PARTICIPANTS; p++) {
    const r = await fetch(`${url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `entrant ${p}` }) });
    tokens.push((await r.json()).token);
  }
  const rng = createRng(7);
  const uploads = tokens.flatMap((token, p) => Array.from({ length: PER_PARTICIPANT }, (_, k) => {
    const chosen = [...ids].map((id) => ({ id, u: rng.uniform() })).sort((a, b) => a.u - b.u).slice(0, 60 + 8 * k).map((x) => x.id);
    return { token, name: `p${p}-s${k}.csv`, text: `id\n${chosen.join('\n')}\n` };
  }));
  const t0 = performance.now();
  const answers = await Promise.all(uploads.map(async (u) => {
    const form = new FormData();
    form.append('file', new File([u.text], u.name));
    const r = await fetch(`${url}/api/challenges/load/submissions`, { method: 'POST', headers: { authorization: `Bearer ${u.token}` }, body: form });
    return { status: r.status, body: await r.json() as { job?: string; submission?: string } };
  }));
  const accepted = answers.filter((a) => a.status === 202).length;
  const acceptSeconds = (performance.now() - t0) / 1000;
  let counts: Record<string, number> = {};
  for (;;) {
    counts = (await (await fetch(`${url}/api/jobs?challenge=load`, { headers: { authorization: `Bearer ${organiser}` } })).json()).counts;
    if ((counts.queued ?? 0) + (counts.running ?? 0) === 0) break;
    if (performance.now() - t0 > 180_000) throw new Error(`jobs still pending after 180 s: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const scoredSeconds = (performance.now() - t0) / 1000;

  // ---- 2. 64 readers, leaderboard vs /healthz, ABAB.
  const leaderboard = `${url}/api/challenges/load/leaderboard`;
  const first = await (await fetch(leaderboard)).json();
  async function readers(target: string, secs: number): Promise<{ perSecond: number; p50: number; p99: number; errors: number; n: number }> {
    const lat: number[] = [];
    let errors = 0;
    const end = performance.now() + secs * 1000;
    const start = performance.now();
    await Promise.all(Array.from({ length: READERS }, async () => {
      while (performance.now() < end) {
        const a = performance.now();
        const r = await fetch(target);
        await r.arrayBuffer();
        if (!r.ok) errors++;
        lat.push(performance.now() - a);
      }
    }));
    const wall = (performance.now() - start) / 1000;
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    return { perSecond: lat.length / wall, p50: q(0.5), p99: q(0.99), errors, n: lat.length };
  }
  await readers(leaderboard, 1); // warm-up, not counted
  const rows: (string | number)[][] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await readers(leaderboard, seconds);
    const b = await readers(`${url}/healthz`, seconds);
    ratios.push(a.perSecond / b.perSecond);
    rows.push([r + 1, 'leaderboard (API)', a.perSecond.toFixed(0), a.p50.toFixed(1), a.p99.toFixed(1), a.errors]);
    rows.push([r + 1, '/healthz (reference)', b.perSecond.toFixed(0), b.p50.toFixed(1), b.p99.toFixed(1), b.errors]);
  }
  const page = await readers(`${url}/challenges/load/leaderboard`, seconds);
  rows.push(['-', 'leaderboard page (HTML)', page.perSecond.toFixed(0), page.p50.toFixed(1), page.p99.toFixed(1), page.errors]);

  server.kill('SIGTERM');
  await new Promise((ok) => server!.once('exit', ok));
  server = undefined;

  // ---- The store, read directly: none lost, each scored exactly once.
  const inst = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, string>[];
  const [subs] = await q('SELECT count(*) AS n FROM submissions');
  const [results] = await q('SELECT count(*) AS n FROM results');
  const [notOnce] = await q(`SELECT count(*) AS n FROM (SELECT s.id, count(r.submission) AS k,
      (SELECT count(*) FROM job_attempts a JOIN jobs j ON j.id = a.job WHERE j.submission = s.id AND a.outcome = 'done') AS d
    FROM submissions s LEFT JOIN results r ON r.submission = s.id GROUP BY s.id) WHERE k <> 1 OR d <> 1`);
  const [orphans] = await q('SELECT count(*) AS n FROM results r LEFT JOIN submissions s ON s.id = r.submission WHERE s.id IS NULL');
  const [attempts] = await q('SELECT count(*) AS n FROM job_attempts');
  conn.closeSync();
  inst.closeSync();

  const sorted = [...ratios].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`\n50 concurrent submissions: ${accepted} answered 202 in ${acceptSeconds.toFixed(2)} s; all scored ${scoredSeconds.toFixed(1)} s after the first upload (${(scoredSeconds / accepted).toFixed(2)} s per job over 2 workers); jobs ${JSON.stringify(counts)}`);
  console.log(`store: ${subs.n} submissions, ${results.n} results, ${notOnce.n} submissions not scored exactly once (result count or done attempts ≠ 1), ${orphans.n} results without a submission, ${attempts.n} attempts`);
  console.log(`\n${READERS} concurrent readers, ${seconds} s per round, ABAB; leaderboard of ${first.entries.length} entries (latency in ms):`);
  printTable(['round', 'endpoint', 'reads/s', 'p50 ms', 'p99 ms', 'errors'], rows);
  console.log(`leaderboard reads/s ÷ /healthz reads/s: per round ${ratios.map((x) => x.toFixed(3)).join(', ')}; median ${median.toFixed(3)}`);
  console.log(`load average after: ${load()}`);
  const ok = accepted === uploads.length && Number(subs.n) === uploads.length && Number(results.n) === uploads.length && Number(notOnce.n) === 0 && Number(orphans.n) === 0 && (counts.failed ?? 0) === 0;
  if (!ok) {
    console.error('FAILED: a submission was lost, refused or not scored exactly once');
    process.exitCode = 1;
  }
} finally {
  if (server) server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
