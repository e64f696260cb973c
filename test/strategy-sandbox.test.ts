/**
 * The code-strategy sandbox: every escape a strategy might try is stopped with a clear error,
 * a non-zero exit code on the error, and nothing left behind (no temporary directory, no
 * process of the child's group). Runs with whichever OS layer the machine has; the network
 * escape needs one (without one, running at all is refused, which is tested too).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool, readSplit, type Pool } from '../src/pool/read.ts';
import { runCodeStrategy, type CodeRunOptions } from '../src/strategy/code.ts';
import { poolFindings } from '../src/strategy/findings.ts';
import type { StrategyInput } from '../src/strategy/types.ts';
import { detectLayer } from '../src/strategy/sandbox/layers.ts';
import { sandboxArgv } from '../src/strategy/sandbox/process.ts';
import { SieveError } from '../src/util/errors.ts';

let work: string;
let scratch: string;
let savedTmp: string | undefined;
let credit: Pool;
let debug: Pool;
let creditIds: string[];
const layer = detectLayer().layer;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sieve-sandbox-test-'));
  scratch = join(work, 'tmp');
  mkdirSync(scratch);
  // The runner's private directories go under TMPDIR: an empty one of our own, checked after each run.
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
  credit = await openPool('german-credit');
  debug = await openPool('fashion-debug');
  creditIds = (await readSplit(credit, 'train', { columns: [] })).ids;
});

afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(work, { recursive: true, force: true });
});

const LIMITS = { timeoutMs: 20_000, memoryMb: 128, maxRows: 100_000, maxOutputBytes: 1_000_000 };

let findingsAsked = 0;

function input(pool: Pool, over: Partial<StrategyInput> = {}): StrategyInput {
  return {
    task: 'selection',
    budget: 50,
    seed: 7,
    pool,
    classNames: pool.manifest.classes,
    limits: LIMITS,
    allowUnisolated: true,
    findings: () => {
      findingsAsked++;
      return poolFindings(pool);
    },
    ...over,
  };
}

let count = 0;
function strategyFile(text: string, ext = '.ts'): { path: string; text: string } {
  const path = join(work, `strategy-${count++}${ext}`);
  writeFileSync(path, text);
  return { path, text };
}

interface Run {
  err: SieveError | null;
  ids: string[];
  log: string;
  pid: number | null;
}

async function run(text: string, over: Partial<StrategyInput> = {}, opts: CodeRunOptions & { pool?: Pool; ext?: string } = {}): Promise<Run> {
  let log = '';
  let pid: number | null = null;
  const source = strategyFile(text, opts.ext);
  try {
    const r = await runCodeStrategy(source, input(opts.pool ?? credit, over), {
      ...opts,
      onLog: (t) => (log += t),
      onStart: (p) => (pid = p),
    });
    return { err: null, ids: r.ids, log, pid };
  } catch (err) {
    if (!(err instanceof SieveError)) throw err;
    return { err, ids: [], log, pid };
  }
}

function groupGone(pid: number | null): boolean {
  if (pid === null) return true;
  try {
    process.kill(-pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The run failed with a message matching `pattern`, a non-zero exit code, and left nothing. */
function expectStopped(r: Run, pattern: RegExp): void {
  expect(r.err, `expected a failure matching ${pattern}`).not.toBeNull();
  const text = `${r.err!.message}\n${r.err!.examples.join('\n')}`;
  expect(text).toMatch(pattern);
  expect(r.err!.exitCode).toBeGreaterThan(0);
  expect(readdirSync(scratch)).toEqual([]);
  expect(groupGone(r.pid)).toBe(true);
}

describe('code strategy sandbox: escapes', () => {
  it('allows the child to read its run directory and nothing else: no pool, test, truth or variant path', async () => {
    const dir = join(scratch, 'run-x');
    const limits = { wallMs: 1000, cpuSeconds: 1, heapMb: 64, addressSpaceMb: 1024, maxLogBytes: 1, maxResultBytes: 1 };
    for (const l of [layer, null]) {
      const argv = sandboxArgv(dir, join(dir, 'child.mjs'), limits, l);
      const reads = argv.filter((a) => a.startsWith('--allow-fs-read'));
      expect(reads).toEqual([`--allow-fs-read=${dir}/`]);
      for (const forbidden of ['--allow-fs-write', '--allow-child-process', '--allow-worker', '--allow-addons'])
        expect(argv.some((a) => a.startsWith(forbidden))).toBe(false);
      expect(argv).toContain('--no-addons');
      expect(argv.join(' ')).not.toContain(debug.dir);
    }
  });

  it('runs a well-behaved strategy and leaves nothing behind', async () => {
    const r = await run(`export function select(ctx) { ctx.log('hello from', ctx.n); return [0, 1, 'row-002']; }`, {}, { ext: '.mjs' });
    expect(r.err).toBeNull();
    expect(r.ids).toEqual([creditIds[0], creditIds[1], 'row-002']);
    expect(r.log).toContain('hello from 700');
    expect(readdirSync(scratch)).toEqual([]);
    expect(groupGone(r.pid)).toBe(true);
  });

  it('refuses to read a file outside its context', async () => {
    const r = await run(`import { readFileSync } from 'node:fs';\nexport function select() { return [readFileSync('/etc/passwd', 'utf8')]; }`);
    expectStopped(r, /sandbox refused the strategy: FileSystemRead \(\/etc\/passwd\)/);
  });

  it("refuses to read the pool's test and truth files by path, also from its own directory", async () => {
    for (const file of ['test.parquet', 'truth.parquet', 'train.parquet', 'pool.json']) {
      const target = join(debug.dir, file);
      const r = await run(`import { readFileSync } from 'node:fs';\nexport function select() { readFileSync(${JSON.stringify(target)}); return []; }`, {}, { pool: debug });
      expectStopped(r, /FileSystemRead/);
      expect(r.err!.message).toContain(target);
    }
    const up = await run(`import { readFileSync } from 'node:fs';\nimport { join, resolve } from 'node:path';\nexport function select() { readFileSync(join(process.argv[2], '..', '..', 'x')); return []; }`);
    expectStopped(up, /FileSystemRead/);
  });

  it('refuses to spawn a process (static and dynamic import of node:child_process)', async () => {
    const a = await run(`import { execSync } from 'node:child_process';\nexport function select() { execSync('id'); return []; }`);
    expectStopped(a, /sandbox refused the strategy: ChildProcess/);
    const b = await run(`export async function select() { const cp = await import('node:child_process'); cp.spawnSync('/bin/sh', ['-c', 'id']); return []; }`);
    expectStopped(b, /sandbox refused the strategy: ChildProcess/);
  });

  it('refuses to start a worker thread', async () => {
    const r = await run(`import { Worker } from 'node:worker_threads';\nexport function select() { new Worker('1', { eval: true }); return []; }`);
    expectStopped(r, /sandbox refused the strategy: WorkerThreads/);
  });

  it('refuses to load a native addon', async () => {
    const addon = join(work, 'fake.node');
    writeFileSync(addon, 'not really an addon');
    const r = await run(`export function select() { process.dlopen({ exports: {} }, ${JSON.stringify(addon)}); return []; }`);
    expectStopped(r, /native addons cannot be loaded/);
  });

  it('refuses process.binding', async () => {
    const r = await run(`export function select() { process.binding('fs'); return []; }`);
    expectStopped(r, /sandbox refused the strategy: .*process\.binding/);
  });

  it('refuses to write a file, in /tmp or in its own directory', async () => {
    const outside = join(work, 'written.txt');
    const a = await run(`import { writeFileSync } from 'node:fs';\nexport function select() { writeFileSync(${JSON.stringify(outside)}, 'x'); return []; }`);
    expectStopped(a, /sandbox refused the strategy: FileSystemWrite/);
    expect(readdirSync(work)).not.toContain('written.txt');
    const b = await run(`import { writeFileSync } from 'node:fs';\nimport { join, resolve } from 'node:path';\nexport function select() { writeFileSync(join(process.argv[2], 'x.txt'), 'x'); return []; }`);
    expectStopped(b, /FileSystemWrite/);
  });

  it("cannot tell whether a file exists elsewhere (realpath), write a trace log, or read the host's report", async () => {
    // A tryout's probe: realpathSync answered for the server's database path (and ENOENT for a missing one).
    for (const call of ["realpathSync('/etc/passwd')", "realpathSync.native('/etc')", "fs.realpathSync('/etc')"]) {
      const r = await run(`import fs, { realpathSync } from 'node:fs';\nexport function select() { return [String(${call})]; }`);
      expectStopped(r, /sandbox refused the strategy: FileSystemRead \(realpath/);
    }
    const p = await run(`import { realpath } from 'node:fs/promises';\nexport async function select() { return [await realpath('/etc')]; }`);
    expectStopped(p, /FileSystemRead \(realpath/);
    const t = await run(`import { createTracing } from 'node:trace_events';\nexport function select() { createTracing({ categories: ['node'] }).enable(); return []; }`);
    expectStopped(t, /FileSystemWrite \(trace_events\)/);
    const h = await run(`export function select() { return [process.report.getReport().header.host]; }`);
    expectStopped(h, /process\.report/);
    const o = await run(`import { hostname } from 'node:os';\nexport function select() { return [hostname()]; }`);
    expectStopped(o, /os\.hostname/);
    // createRequire(...).resolve answered ERR_ACCESS_DENIED for a file that exists, MODULE_NOT_FOUND for one that does not.
    for (const path of ['/etc/passwd', '/no/such/file.js']) {
      const q = await run(`import { createRequire } from 'node:module';\nexport function select() { return [createRequire(import.meta.url).resolve(${JSON.stringify(path)})]; }`);
      expectStopped(q, new RegExp(`FileSystemRead \\(require ${path.replace(/[./]/g, '\\$&')}\\)`));
    }
  });

  it('refuses imports of anything but Node built-ins, before running', async () => {
    const r = await run(`import x from './other.ts';\nexport function select() { return x; }`);
    expectStopped(r, /imports something other than a Node built-in/);
    expect(r.err!.examples.join('\n')).toMatch(/:1:\d+: import of "\.\/other\.ts" is not allowed/);
    expect(r.pid).toBeNull();
  });

  it('refuses to run at all without an OS layer unless allowed explicitly', async () => {
    const r = await run(`export function select() { return []; }`, { allowUnisolated: false }, { layer: 'none' });
    expectStopped(r, /refusing to run a code strategy without network isolation[\s\S]*--allow-network-unsandboxed/);
    expect(r.pid).toBeNull();
  });

  it.skipIf(!layer)('cannot open a socket to 127.0.0.1 (network namespace)', async () => {
    let connections = 0;
    const server: Server = createServer((s) => {
      connections++;
      s.end('hello');
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await run(
        `import { connect } from 'node:net';\nexport function select() {\n  return new Promise((resolve, reject) => {\n    const s = connect(${port}, '127.0.0.1');\n    s.on('connect', () => resolve(['connected']));\n    s.on('error', reject);\n  });\n}`,
        { allowUnisolated: false },
      );
      expectStopped(r, /tried to use the network.*(ENETUNREACH|ECONNREFUSED|EADDRNOTAVAIL)/);
      // fetch() says the same (its TypeError "fetch failed" carries the socket's error as its cause).
      const f = await run(`export async function select() { await fetch('http://127.0.0.1:${port}/'); return ['fetched']; }`, { allowUnisolated: false });
      expectStopped(f, /tried to use the network, which the sandbox does not have: fetch failed \(.*(ENETUNREACH|ECONNREFUSED|EADDRNOTAVAIL)/);
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('cannot connect to a Unix-domain socket by path, nor listen on one', async () => {
    let connections = 0;
    const sock = join(work, 'service.sock');
    const server: Server = createServer((s) => {
      connections++;
      s.end();
    });
    await new Promise<void>((res) => server.listen(sock, res));
    try {
      const viaNet = await run(
        `import { connect } from 'node:net';\nexport function select() {\n  return new Promise((resolve, reject) => {\n    const s = connect(${JSON.stringify(sock)});\n    s.on('connect', () => resolve(['connected']));\n    s.on('error', reject);\n  });\n}`,
      );
      expectStopped(viaNet, /sandbox refused the strategy: UnixSocket/);
      const viaHttp = await run(
        `import { request } from 'node:http';\nexport function select() {\n  return new Promise((resolve, reject) => {\n    const r = request({ socketPath: ${JSON.stringify(sock)}, path: '/' }, () => resolve(['answered']));\n    r.on('error', reject);\n    r.end();\n  });\n}`,
      );
      expectStopped(viaHttp, /sandbox refused the strategy: UnixSocket/);
      const listen = await run(`import { createServer } from 'node:net';\nexport function select() { createServer().listen(${JSON.stringify(join(work, 'mine.sock'))}); return []; }`);
      expectStopped(listen, /sandbox refused the strategy: Listen/);
      expect(connections).toBe(0);
      expect(readdirSync(work)).not.toContain('mine.sock');
    } finally {
      server.close();
    }
  });

  it('stops an endless loop at its CPU-time limit', async () => {
    const r = await run(`export function select() { for (;;) {} }`, {}, { cpuSeconds: 1 });
    expectStopped(r, /CPU-time (hard )?limit/);
  });

  it('stops a strategy that never finishes at its wall-clock limit', async () => {
    const r = await run(`export function select() { return new Promise(() => setInterval(() => {}, 1000)); }`, { limits: { ...LIMITS, timeoutMs: 1500 } });
    expectStopped(r, /longer than its wall-clock limit of 1\.5 s/);
  });

  it('one wall-clock budget covers the run and its restart with the findings', async () => {
    // 1.2 s before asking for the findings, 1.2 s after: each alone fits the 2 s limit, both do not
    // (a restart used to get a fresh budget, twice the strategy's share of a job's time).
    const src = `export function select(ctx) {
      const end = Date.now() + 1200; while (Date.now() < end) {}
      if (ctx.findings.labelIssue.length < 0) return [];
      return [0];
    }`;
    const r = await run(src, { limits: { ...LIMITS, timeoutMs: 2000 } }, { cpuSeconds: 30 });
    expectStopped(r, /longer than its wall-clock limit of 2 s/);
  });

  it('stops unbounded allocation: heap and typed arrays', async () => {
    const heap = await run(`export function select() { const keep = []; for (;;) keep.push(new Array(100000).fill(Math.random())); }`, { limits: { ...LIMITS, memoryMb: 64 } });
    expectStopped(heap, /ran out of memory: its heap limit is 64 MB/);
    // The strategy's own output is shown, V8's crash report (GC log, FATAL ERROR, native stack) not.
    expect(heap.log).not.toMatch(/FATAL ERROR|Last few GCs|0x[0-9a-f]{6,}/);
    const said = await run(`export function select() { console.error('before the fall'); const keep = []; for (;;) keep.push(new Array(100000).fill(Math.random())); }`, { limits: { ...LIMITS, memoryMb: 64 } });
    expect(said.log).toContain('before the fall\n');
    expect(said.log).not.toMatch(/FATAL ERROR/);
    const buffers = await run(`export function select() { const keep = []; for (;;) keep.push(new Float64Array(1e8)); }`, { limits: { ...LIMITS, memoryMb: 64 } });
    expectStopped(buffers, /ran out of memory: its address space is limited/);
  });

  it('stops a strategy that prints without bound', async () => {
    const r = await run(`export function select() { const s = 'x'.repeat(1 << 20); for (;;) process.stdout.write(s); }`);
    expectStopped(r, /printed more than 8 MiB/);
    expect(r.log.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('stops a strategy that returns too much, or floods its result channel', async () => {
    const big = await run(`export function select() { return Array.from({ length: 2000 }, (_, i) => 'x'.repeat(1000) + i); }`);
    expectStopped(big, /returned \d+ bytes of ids; at most 1000000/);
    const flood = await run(`import { writeSync } from 'node:fs';\nexport function select() { const b = Buffer.alloc(1 << 20, 120); for (;;) writeSync(3, b); }`);
    expectStopped(flood, /returned more than 1 MiB/);
  });
});

describe('code strategy sandbox: interrupted', () => {
  it('a signal to sieve kills the child and removes the run directory (the CLI handler, src/util/temps.ts)', async () => {
    const own = join(work, 'interrupt-tmp');
    mkdirSync(own);
    const sleeper = strategyFile(`export function select() { return new Promise(() => setInterval(() => {}, 1000)); }`);
    const root = resolve(import.meta.dirname, '..');
    const script = join(work, 'interrupt.mts');
    writeFileSync(
      script,
      `import { openPool } from ${JSON.stringify(join(root, 'src/pool/read.ts'))};
import { runCodeStrategy } from ${JSON.stringify(join(root, 'src/strategy/code.ts'))};
import { cleanupTrackedSync } from ${JSON.stringify(join(root, 'src/util/temps.ts'))};
process.on('SIGTERM', () => { cleanupTrackedSync(); process.exit(143); });
const pool = await openPool('german-credit');
await runCodeStrategy({ path: ${JSON.stringify(sleeper.path)}, text: ${JSON.stringify(sleeper.text)} }, {
  task: 'selection', budget: 5, seed: 1, pool, classNames: pool.manifest.classes, allowUnisolated: true,
  limits: { timeoutMs: 60000, memoryMb: 128, maxRows: 1000, maxOutputBytes: 100000 },
  findings: () => { throw new Error('not used'); },
}, { onStart: (pid) => console.log('child', pid) });
`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, TMPDIR: own }, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = await new Promise<number>((res, rej) => {
      let out = '';
      parent.stdout.on('data', (d) => {
        out += d;
        const m = /child (\d+)/.exec(out);
        if (m) res(Number(m[1]));
      });
      parent.on('exit', (code) => rej(new Error(`the parent ended first (${code})`)));
    });
    const runDirs = () => readdirSync(own).filter((f) => f.startsWith('sieve-strategy-')); // tsx keeps its cache here too
    expect(runDirs()).toHaveLength(1);
    const exited = new Promise<number | null>((res) => parent.on('exit', (code) => res(code)));
    parent.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(runDirs()).toEqual([]);
    for (let i = 0; i < 100 && !groupGone(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(groupGone(pid)).toBe(true);
  });
});

describe('code strategy sandbox: results and determinism', () => {
  it('says where a strategy threw, at its own source line', async () => {
    const r = await run(`export function select(ctx: { n: number }) {\n  const x: number = ctx.n;\n  if (x > 0) throw new Error('no rows for you');\n  return [];\n}`);
    expectStopped(r, /the strategy failed: Error: no rows for you/);
    expect(r.err!.examples.join('\n')).toMatch(/strategy-\d+\.ts:3:/);
  });

  it('names the missing export and a malformed result', async () => {
    const a = await run(`export function rank() { return []; }`);
    expectStopped(a, /exports no `select` function.*\(it exports rank\)/);
    const b = await run(`export function select() { return [0, 1.5]; }`);
    expectStopped(b, /result\[1\] = 1\.5 is not a row index/);
    const c = await run(`export function select() { return { rows: [1] }; }`);
    expectStopped(c, /returned an object; expected an array/);
    const d = await run(`export function select() { return [1, 2; }`);
    expectStopped(d, /does not compile/);
  });

  it('relabel results: objects or parallel arrays, labels as names or indices', async () => {
    const src = `export function relabel(ctx) { return [{ index: 0, label: 1 }, { id: 'row-001', label: ctx.classNames[0] }]; }`;
    const a = await runCodeStrategy(strategyFile(src, '.js'), input(credit, { task: 'relabel' }), { onLog: () => undefined });
    expect(a.ids).toEqual([creditIds[0], 'row-001']);
    expect(a.labels).toEqual([credit.manifest.classes[1], credit.manifest.classes[0]]);
    const b = await runCodeStrategy(strategyFile(`export const relabel = () => ({ indices: Int32Array.of(3), labels: [0] });`, '.js'), input(credit, { task: 'relabel' }), { onLog: () => undefined });
    expect(b).toMatchObject({ ids: [creditIds[3]], labels: [credit.manifest.classes[0]] });
  });

  it('computes the findings only for a strategy that reads them, and gives the audit\'s numbers', async () => {
    findingsAsked = 0;
    const plain = await run(`export function select(ctx) { return [0]; }`);
    expect(plain.err).toBeNull();
    expect(findingsAsked).toBe(0);
    const src = `export function select(ctx) {
      const f = ctx.findings;
      const p = ctx.oosProbabilities;
      const flagged = [];
      for (let i = 0; i < ctx.n; i++) if (f.labelIssue[i]) flagged.push(i);
      return [String(p.length), f.labelScore.constructor.name, ...flagged.map((i) => ctx.ids[i])];
    }`;
    const r = await run(src, {}, {});
    expect(r.err).toBeNull();
    expect(findingsAsked).toBe(1);
    const f = await poolFindings(credit);
    expect(r.ids[0]).toBe(String(f.oos.proba.length));
    expect(r.ids[1]).toBe('Float64Array');
    expect(r.ids.slice(2)).toEqual(f.ids.filter((_, i) => f.labelIssue[i]));
    expect(r.ids.length).toBeGreaterThan(2);
  });

  it('gives typed columns: Float64 numerics, categorical codes, groups, pixels with their shape', async () => {
    const probe = `export function select(ctx) {
      const c = ctx.columns;
      const out = [];
      out.push(c.duration.values.constructor.name, c.duration.values.length, c.purpose.kind, c.purpose.codes.constructor.name);
      out.push(Object.keys(ctx.groups).join('+'), ctx.groups.sex.levels.join('/'), ctx.labels.constructor.name, ctx.classNames.join('/'));
      return out.map(String);
    }`;
    const r = await run(probe);
    expect(r.err).toBeNull();
    expect(r.ids.slice(0, 4)).toEqual(['Float64Array', '700', 'categorical', 'Int32Array']);
    expect(r.ids[4]).toBe('sex+age_band+foreign_worker');
    expect(r.ids[6]).toBe('Int32Array');
    expect(r.ids[7]).toBe(credit.manifest.classes.join('/'));
    const px = await run(`export function select(ctx) { const p = Object.values(ctx.columns)[0]; return [p.kind, p.dim, p.width, p.values.constructor.name, p.values.length / p.dim].map(String); }`, {}, { pool: debug });
    expect(px.ids).toEqual(['pixels', '784', '28', 'Uint8Array', '1000']);
  });

  it('same strategy, context and seed: bit-identical output; another seed: another output', async () => {
    const src = `export function select(ctx) {
      const a = ctx.helpers.stratifiedSample(ctx.labels, ctx.budget, ctx.random);
      const jitter = Math.floor(Math.random() * ctx.n);
      return [...a.filter((i) => i !== jitter), jitter];
    }`;
    const one = await run(src);
    const two = await run(src);
    const other = await run(src, { seed: 8 });
    expect(one.err).toBeNull();
    expect(one.ids.length).toBeGreaterThanOrEqual(50);
    expect(two.ids).toEqual(one.ids);
    expect(other.ids).not.toEqual(one.ids);
  });
});
