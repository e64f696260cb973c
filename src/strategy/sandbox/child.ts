/**
 * The sandboxed child's entry (bundled by the parent with esbuild into `child.mjs` in the
 * run's private directory, next to `strategy.mjs` and the context files). It maps the context
 * files into a StrategyContext, imports the strategy, calls the task's export and sends the
 * normalised result, or the error, as one JSON message on file descriptor 3, then exits.
 *
 * It runs under Node's permission model with read access to its own directory only, so
 * nothing here may touch another file. Everything it needs is bundled in.
 */
import fs, { readFileSync, writeSync } from 'node:fs';
import Module, { isBuiltin, syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import traceEvents from 'node:trace_events';
import net from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createRng, deriveSeed } from '../../../compute/rng.ts';
import { TASK_EXPORT, type FeatureColumn, type StrategyContext, type StrategyFindings } from '../context.ts';
import { strategyHelpers } from '../helpers.ts';
import { CONTEXT_HEADER, type BinaryRef, type ContextHeader } from './context-files.ts';

// stdout and stderr are socket pairs, which Node writes asynchronously: a strategy printing
// in a loop would queue gigabytes in its own heap before the parent saw any of it. Writing
// synchronously (blocking on the parent's reading) lets the parent's print cap stop it.
for (const [name, fd] of [['stdout', 1], ['stderr', 2]] as const) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  Object.defineProperty(process, name, { value: stream, configurable: false, writable: false, enumerable: true });
}

// Unix-domain sockets are named by file paths, which neither a network namespace nor Node
// 20's permission model covers: a strategy knowing the path of a local service's socket could
// connect to it, and listening on a path would create a file. Refused here, before the
// strategy loads, on the one prototype every client (net, http, tls) connects through.
function refused(what: string): never {
  const err = new Error(`Access to this API has been restricted: ${what}`) as Error & { code: string; permission: string };
  err.code = 'ERR_ACCESS_DENIED';
  err.permission = what;
  throw err;
}
const originalConnect = net.Socket.prototype.connect;
function socketPath(args: unknown[]): string | undefined {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'string') return /^\d+$/.test(first) ? undefined : first;
  if (first && typeof first === 'object' && typeof (first as { path?: unknown }).path === 'string') return (first as { path: string }).path;
  return undefined;
}
Object.defineProperty(net.Socket.prototype, 'connect', {
  value: function connect(this: net.Socket, ...args: unknown[]) {
    const path = socketPath(args);
    if (path !== undefined) refused(`UnixSocket (${path})`);
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  },
  writable: false,
  configurable: false,
});
Object.defineProperty(net.Server.prototype, 'listen', {
  value: function listen() {
    refused('Listen');
  },
  writable: false,
  configurable: false,
});

// What Node's permission model leaves open that a strategy has no use for: realpath answers
// for any path (ENOENT or not: whether a file exists anywhere on the machine, the server's
// database included), trace_events writes a log file into the working directory, and
// process.report names the host. Refused here too, also for `import { realpathSync }` (the
// ESM bindings of built-ins are synced after the patch).
const denyRealpath = (name: string) => () => refused(`FileSystemRead (${name})`);
for (const [target, names] of [[fs, ['realpath', 'realpathSync']], [fs.promises, ['realpath']]] as const) {
  for (const n of names) Object.defineProperty(target, n, { value: denyRealpath(n), writable: false, configurable: false });
}
Object.defineProperty(fs.realpathSync, 'native', { value: denyRealpath('realpathSync.native'), writable: false, configurable: false });
Object.defineProperty(fs.realpath, 'native', { value: denyRealpath('realpath.native'), writable: false, configurable: false });
Object.defineProperty(traceEvents, 'createTracing', { value: () => refused('FileSystemWrite (trace_events)'), writable: false, configurable: false });
Object.defineProperty(process, 'report', { get: () => refused('process.report'), configurable: false });
// The host's name, users and interfaces are no business of a strategy's either.
for (const n of ['hostname', 'userInfo', 'networkInterfaces'] as const) {
  Object.defineProperty(os, n, { value: () => refused(`os.${n}`), writable: false, configurable: false });
}
// require() and require.resolve() (through createRequire) of a path answered whether it exists
// (ERR_ACCESS_DENIED against MODULE_NOT_FOUND): only Node's built-ins resolve.
const resolveFilename = (Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string })._resolveFilename;
Object.defineProperty(Module, '_resolveFilename', {
  value: (request: string, ...rest: unknown[]) => (isBuiltin(request) ? resolveFilename.call(Module, request, ...rest) : refused(`FileSystemRead (require ${request})`)),
  writable: false, configurable: false,
});
syncBuiltinESMExports();

/** The result channel: fd 3, a pipe the parent reads to its end. */
const RESULT_FD = 3;

// Kept before the strategy runs, so a strategy replacing globals cannot garble the report.
const stringify = JSON.stringify;
const exit: (code: number) => never = process.exit.bind(process) as (code: number) => never;
const writeResult = writeSync;

export type ChildMessage =
  | { ok: true; ids: string[]; labels?: string[] }
  | { ok: false; error: { name: string; message: string; code?: string; permission?: string; resource?: string; stack?: string; limit?: string } }
  /** The strategy read ctx.findings or ctx.oosProbabilities, which this run was not given. */
  | { ok: false; needs: 'findings' };

function send(message: ChildMessage): never {
  const text = stringify(message);
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0; off < buf.length; ) off += writeResult(RESULT_FD, buf, off, Math.min(1 << 20, buf.length - off));
  exit(message.ok ? 0 : 1);
}

function fail(err: unknown, limit?: string): never {
  const e = err as { name?: string; message?: string; code?: string; permission?: string; resource?: string; stack?: string; cause?: { code?: unknown; message?: unknown } };
  const isObj = typeof err === 'object' && err !== null;
  // fetch() throws "TypeError: fetch failed" and puts the socket's error (ECONNREFUSED, …) in its cause.
  const causeCode = isObj && typeof e.code !== 'string' && typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  send({
    ok: false,
    error: {
      name: String((isObj && e.name) || 'Error'),
      message: isObj ? `${String(e.message ?? err)}${causeCode && typeof e.cause?.message === 'string' ? ` (${e.cause.message})` : ''}` : String(err),
      ...(isObj && typeof e.code === 'string' ? { code: e.code } : causeCode ? { code: causeCode } : {}),
      ...(isObj && typeof e.permission === 'string' ? { permission: e.permission } : {}),
      ...(isObj && typeof e.resource === 'string' ? { resource: e.resource } : {}),
      ...(isObj && typeof e.stack === 'string' ? { stack: e.stack.slice(0, 4000) } : {}),
      ...(limit ? { limit } : {}),
    },
  });
}

class StrategyResultError extends Error {
  override name = 'StrategyResultError';
}

function load(dir: string, ref: BinaryRef): Float64Array | Float32Array | Int32Array | Uint8Array {
  const raw = readFileSync(join(dir, ref.file));
  // A fresh, aligned buffer of its own (a Buffer may sit at any offset of a shared one).
  const bytes = new Uint8Array(raw.byteLength);
  bytes.set(raw);
  const a =
    ref.dtype === 'f64' ? new Float64Array(bytes.buffer)
    : ref.dtype === 'f32' ? new Float32Array(bytes.buffer)
    : ref.dtype === 'i32' ? new Int32Array(bytes.buffer)
    : bytes;
  if (a.length !== ref.length) throw new Error(`context file ${ref.file} holds ${a.length} values, expected ${ref.length}`);
  return a;
}

function buildContext(dir: string, h: ContextHeader): StrategyContext {
  const columns: Record<string, FeatureColumn> = {};
  for (const c of h.columns) {
    switch (c.kind) {
      case 'numeric': columns[c.name] = { kind: 'numeric', values: load(dir, c.data) as Float64Array }; break;
      case 'embedding': columns[c.name] = { kind: 'embedding', dim: c.dim, values: load(dir, c.data) as Float32Array }; break;
      case 'pixels':
        columns[c.name] = { kind: 'pixels', dim: c.dim, width: c.width, height: c.height, channels: c.channels, values: load(dir, c.data) as Uint8Array };
        break;
      case 'categorical': columns[c.name] = { kind: 'categorical', categories: c.categories, codes: load(dir, c.data) as Int32Array }; break;
      case 'text': columns[c.name] = { kind: 'text', values: c.values }; break;
    }
  }
  const groups: StrategyContext['groups'] = {};
  for (const g of h.groups) groups[g.name] = { levels: g.levels, codes: load(dir, g.data) as Int32Array };
  let findings: StrategyFindings | null = null;
  if (h.findings) {
    const f: Record<string, unknown> = { skipped: h.findings.skipped };
    for (const c of h.findings.columns) f[c.name] = load(dir, c.data);
    findings = f as unknown as StrategyFindings;
  }
  const oos = h.oosProbabilities ? (load(dir, h.oosProbabilities) as Float32Array) : null;
  // Findings cost an audit of the pool, so they are computed only for strategies that read
  // them: the first read ends this run with a request, and the parent runs it again with them.
  const needFindings = (): never => send({ ok: false, needs: 'findings' });
  return {
    task: h.task,
    budget: h.budget,
    seed: h.seed,
    n: h.n,
    ids: h.ids,
    labels: load(dir, h.labels) as Int32Array,
    classNames: h.classNames,
    columns,
    groups,
    random: createRng(deriveSeed(h.seed, 'strategy')),
    get findings() {
      return findings ?? needFindings();
    },
    get oosProbabilities() {
      return oos ?? needFindings();
    },
    helpers: strategyHelpers,
    log: (...args: unknown[]) => console.error(...args),
  };
}

function isList(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

/** Row index or id at position `pos` of what the strategy returned, as an id. */
function idOf(x: unknown, ctx: StrategyContext, what: string, pos: number): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'bigint') {
    const i = Number(x);
    if (!Number.isInteger(i) || i < 0 || i >= ctx.n)
      throw new StrategyResultError(`${what}[${pos}] = ${String(x)} is not a row index (0 to ${ctx.n - 1}) nor an id string`);
    return ctx.ids[i];
  }
  throw new StrategyResultError(`${what}[${pos}] is ${x === null ? 'null' : typeof x}; expected an id (string) or a row index (number)`);
}

/** The label `x` at `at` (e.g. "labels[3]" or "result[3].label"), as a class name. */
function labelOf(x: unknown, ctx: StrategyContext, at: string): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'number') {
    if (!Number.isInteger(x) || x < 0 || x >= ctx.classNames.length)
      throw new StrategyResultError(`${at} = ${x} is not a class index (0 to ${ctx.classNames.length - 1}) nor a class name`);
    return ctx.classNames[x];
  }
  throw new StrategyResultError(`${at} is ${x === null ? 'null' : typeof x}; expected a class name (string) or a class index (number)`);
}

function checkRows(length: number, maxRows: number, fn: string): void {
  if (length > maxRows) throw new StrategyResultError(`${fn}() returned ${length} entries; at most ${maxRows} are accepted`);
}

/** The strategy's return value as ids (and class-name labels for relabel). */
export function normaliseResult(value: unknown, ctx: StrategyContext, fn: string, maxRows: number): { ids: string[]; labels?: string[] } {
  const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v);
  if (fn !== 'relabel') {
    if (!isList(value)) throw new StrategyResultError(`${fn}() returned ${describe(value)}; expected an array of ids or row indices`);
    checkRows(value.length, maxRows, fn);
    const ids = new Array<string>(value.length);
    for (let i = 0; i < value.length; i++) ids[i] = idOf(value[i], ctx, 'result', i);
    return { ids };
  }
  if (isList(value)) {
    checkRows(value.length, maxRows, fn);
    const ids = new Array<string>(value.length);
    const labels = new Array<string>(value.length);
    for (let i = 0; i < value.length; i++) {
      const e = value[i] as { id?: unknown; index?: unknown; label?: unknown } | null;
      if (typeof e !== 'object' || e === null) throw new StrategyResultError(`result[${i}] is ${describe(e)}; expected { id, label } or { index, label }`);
      ids[i] = idOf(e.id !== undefined ? e.id : e.index, ctx, `result[${i}].${e.id !== undefined ? 'id' : 'index'}`, 0).toString();
      labels[i] = labelOf(e.label, ctx, `result[${i}].label`);
    }
    return { ids, labels };
  }
  if (typeof value === 'object' && value !== null) {
    const v = value as { ids?: unknown; indices?: unknown; labels?: unknown };
    const rows = v.ids !== undefined ? v.ids : v.indices;
    const rowsName = v.ids !== undefined ? 'ids' : 'indices';
    if (!isList(rows) || !isList(v.labels))
      throw new StrategyResultError('relabel() returned an object without `ids` (or `indices`) and `labels` arrays');
    if (rows.length !== v.labels.length)
      throw new StrategyResultError(`relabel() returned ${rows.length} ${rowsName} but ${v.labels.length} labels`);
    checkRows(rows.length, maxRows, fn);
    const ids = new Array<string>(rows.length);
    const labels = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      ids[i] = idOf(rows[i], ctx, rowsName, i);
      labels[i] = labelOf(v.labels[i], ctx, `labels[${i}]`);
    }
    return { ids, labels };
  }
  throw new StrategyResultError(`relabel() returned ${describe(value)}; expected [{ id, label }] or { ids, labels }`);
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const header = JSON.parse(readFileSync(join(dir, CONTEXT_HEADER), 'utf8')) as ContextHeader;
  const ctx = buildContext(dir, header);
  // Strategies that reach for Math.random still get the same stream for the same seed.
  const mathRandom = createRng(deriveSeed(header.seed, 'Math.random'));
  Math.random = () => mathRandom.uniform();
  const mod = (await import(pathToFileURL(join(dir, 'strategy.mjs')).href)) as Record<string, unknown>;
  const fn = TASK_EXPORT[header.task];
  const fromDefault = (mod.default as Record<string, unknown> | undefined)?.[fn];
  const call = typeof mod[fn] === 'function' ? mod[fn] : typeof fromDefault === 'function' ? fromDefault : null;
  if (typeof call !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new StrategyResultError(
      `the strategy exports no \`${fn}\` function, which the ${header.task} task calls` +
        (names.length ? ` (it exports ${names.join(', ')})` : ' (it exports no functions)'),
    );
  }
  const value = await (call as (c: StrategyContext) => unknown)(ctx);
  const result = normaliseResult(value, ctx, fn, header.maxRows);
  const size = Buffer.byteLength(stringify(result), 'utf8');
  if (size > header.maxResultBytes)
    fail(new StrategyResultError(`${fn}() returned ${size} bytes of ids; at most ${header.maxResultBytes} are accepted`), 'result');
  send({ ok: true, ...result });
}

process.on('uncaughtException', (err) => fail(err));
process.on('unhandledRejection', (err) => fail(err));
main().catch((err) => fail(err));
