/**
 * The strategy dispatcher: the file's extension picks the kind, the kind picks its runner
 * (loaded only when used), and the run comes back with the hashes a result record stores.
 *
 * Adding a kind is one line in RUNNERS plus its runner module.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { sha256Hex } from '../submission/parse.ts';
import { SieveError, fsError } from '../util/errors.ts';
import { firstInvalidUtf8, lineOfByte } from '../util/utf8.ts';
import { outputSha256 } from './output.ts';
import type { StrategyInput, StrategyKind, StrategyRun, StrategyRunner, StrategySource } from './types.ts';

/** Extension → kind. */
export const STRATEGY_EXTENSIONS: Readonly<Record<string, StrategyKind>> = {
  '.sql': 'sql',
  '.ts': 'code',
  '.mts': 'code',
  '.mjs': 'code',
  '.js': 'code',
};

/** Kind → its runner, imported on first use (DuckDB, the sandbox). */
const RUNNERS: Partial<Record<StrategyKind, () => Promise<StrategyRunner>>> = {
  sql: async () => (await import('./sql.ts')).sqlRunner,
  code: async () => (await import('./code.ts')).codeRunner,
};

/** Largest strategy file accepted. */
export const MAX_STRATEGY_BYTES = 1024 * 1024;

/** True when `path` names a strategy (by extension) rather than a submission file. */
export function isStrategyPath(path: string): boolean {
  return extname(path).toLowerCase() in STRATEGY_EXTENSIONS;
}

export function strategyKindOf(path: string): StrategyKind {
  const ext = extname(path).toLowerCase();
  const kind = STRATEGY_EXTENSIONS[ext];
  if (!kind) {
    throw new SieveError(`cannot tell the strategy kind from the extension "${ext || '(none)'}"`, {
      where: path,
      examples: [`known: ${Object.keys(STRATEGY_EXTENSIONS).join(' ')}`],
    });
  }
  return kind;
}

/** Reads a strategy file once: kind, bytes, text and sha256. */
export async function readStrategy(path: string): Promise<StrategySource> {
  const abs = resolve(path);
  strategyKindOf(abs);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new SieveError(`strategy file not found: ${path}`, { where: 'strategy' });
  if (!st.isFile()) throw new SieveError(`strategy is not a file: ${path}`, { where: 'strategy' });
  if (st.size > MAX_STRATEGY_BYTES) {
    throw new SieveError(`strategy file is ${st.size} bytes; the limit is ${MAX_STRATEGY_BYTES}`, { where: abs });
  }
  const bytes = new Uint8Array(
    await readFile(abs).catch((err) => {
      throw fsError(err, 'read the strategy', abs) ?? err;
    }),
  );
  return strategyFromBytes(abs, bytes);
}

/**
 * A strategy held in memory (a server's upload), checked as a file is: kind from the name's
 * extension, size, strict UTF-8, no NUL bytes. `name` is what the record and messages call it
 * (a file's absolute path, or an upload's file name).
 */
export function strategyFromBytes(name: string, bytes: Uint8Array): StrategySource {
  const kind = strategyKindOf(name);
  if (bytes.length > MAX_STRATEGY_BYTES) {
    throw new SieveError(`strategy file is ${bytes.length} bytes; the limit is ${MAX_STRATEGY_BYTES}`, { where: name });
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) throw new SieveError('the strategy file is not valid UTF-8', { where: name, examples: [`byte ${bad} (line ${lineOfByte(bytes, bad)})`] });
  if (bytes.includes(0)) throw new SieveError('the strategy file holds NUL bytes (binary?)', { where: name });
  const text = new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes);
  return { path: name, kind, bytes, text, sha256: sha256Hex(bytes) };
}

export async function runnerFor(kind: StrategyKind): Promise<StrategyRunner> {
  const load = RUNNERS[kind];
  if (!load) {
    throw new SieveError(`${kind} strategies cannot be run by this version of sieve`, {
      where: 'strategy',
      examples: [`available kinds: ${Object.keys(RUNNERS).join(', ')}`],
    });
  }
  return load();
}

/** Runs a strategy (a path or an already read source) and hashes its output. */
export async function runStrategy(strategy: string | StrategySource, input: StrategyInput): Promise<StrategyRun> {
  const t0 = performance.now();
  const source = typeof strategy === 'string' ? await readStrategy(strategy) : strategy;
  const runner = await runnerFor(source.kind);
  const output = await runner.run(source, input);
  return {
    kind: source.kind,
    path: source.path,
    strategySha256: source.sha256,
    output,
    outputSha256: outputSha256(output),
    seconds: (performance.now() - t0) / 1000,
  };
}
