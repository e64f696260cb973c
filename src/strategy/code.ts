/**
 * The code strategy runner: a TypeScript or JavaScript module exporting `select`, `relabel`
 * or `rank`, run on a pool's train split in a sandboxed child process (src/strategy/sandbox/).
 *
 *   1. the OS layer is found (sandbox/layers.ts); without one, untrusted code is refused
 *      unless the user allowed it explicitly (--allow-network-unsandboxed);
 *   2. the strategy is transpiled in this process (sandbox/transpile.ts): one file, Node
 *      built-ins only;
 *   3. the train split's participant columns, the findings and the out-of-sample
 *      probabilities are written as files into a private temporary directory (removed
 *      afterwards, and by the CLI's signal handler; src/util/temps.ts);
 *   4. the child runs there under every layer (sandbox/process.ts), calls the task's export,
 *      and sends back ids (and labels) which become a StrategyOutput, validated later like
 *      any submission. Every way of failing is a SieveError saying which limit or rule.
 */
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRawSplit } from '../pool/read.ts';
import { SieveError } from '../util/errors.ts';
import { trackTemp } from '../util/temps.ts';
import type { StrategyInput, StrategyOutput, StrategyRunner, StrategySource } from './types.ts';
import type { PoolFindings } from './findings.ts';
import type { ChildMessage } from './sandbox/child.ts';
import { writeContextFiles, type FindingColumns } from './sandbox/context-files.ts';
import { detectLayer, type IsolationLayer } from './sandbox/layers.ts';
import { runSandboxed, type SandboxLimits, type SandboxOutcome } from './sandbox/process.ts';
import { bundledChild, transpileStrategy } from './sandbox/transpile.ts';

/** The flag that lets code run without the OS layer (named in messages). */
export const UNISOLATED_FLAG = '--allow-network-unsandboxed';

/** Most bytes a strategy may print (stdout and stderr together) before it is stopped. */
export const MAX_LOG_BYTES = 8 * 1024 * 1024;

/** Address space Node itself needs beyond the heap (code, stacks, the permission model). */
const BASE_ADDRESS_SPACE_MB = 1024;

export interface CodeRunOptions {
  /** 'auto' (default): the best layer this machine has; 'none': as if there were none (tests). */
  layer?: 'auto' | 'none';
  /** Where the strategy's own printing goes (default: this process's stderr, prefixed). */
  onLog?: (text: string) => void;
  /** CPU seconds (default: the wall-clock limit in seconds). */
  cpuSeconds?: number;
  /** Called with the child's process group id (tests check nothing of it is left). */
  onStart?: (pid: number) => void;
}

export interface CodeRunResult extends StrategyOutput {
  ids: string[];
  labels?: string[];
  /** Which OS layer isolated the run ('none' when the user allowed running without). */
  isolation: string;
  /** True when the strategy read the findings (the run was restarted with them). */
  usedFindings: boolean;
  wallSeconds: number;
}

/** The OS layer to use, or a refusal saying why and how to override. */
export function isolationFor(input: Pick<StrategyInput, 'allowUnisolated'>, mode: 'auto' | 'none' = 'auto'): IsolationLayer | null {
  const { layer, reason } = mode === 'none' ? { layer: null, reason: 'the OS layer was turned off for this run' } : detectLayer();
  if (layer) return layer;
  if (input.allowUnisolated) return null;
  throw new SieveError(
    "refusing to run a code strategy without network isolation: Node 20's permission model does not block sockets, so the strategy could reach the network",
    {
      where: 'strategy sandbox',
      examples: [
        `no OS layer available: ${reason}`,
        'sieve isolates code in Linux namespaces with util-linux `unshare` (root, or unprivileged user namespaces)',
        `to run it anyway, knowing it can open connections and signal your processes, pass ${UNISOLATED_FLAG}`,
      ],
      exitCode: 3,
    },
  );
}

function defaultLog(text: string): void {
  process.stderr.write(text.replace(/^(?=.)/gm, '[strategy] '));
}

/** PoolFindings as the context's finding columns, after checking they are this split's rows. */
function findingColumns(f: PoolFindings, ids: readonly string[]): FindingColumns {
  if (f.n !== ids.length || f.ids.some((id, i) => id !== ids[i]))
    throw new SieveError('the findings do not describe the rows of this pool (different ids or order)', { where: 'findings' });
  return {
    columns: {
      labelIssue: f.labelIssue,
      labelScore: f.labelScore,
      suggestedLabel: f.suggestedLabel,
      selfConfidence: f.selfConfidence,
      knnIssue: f.knnIssue,
      knnAgreement: f.knnAgreement,
      knnSuggestedLabel: f.knnSuggestedLabel,
      duplicateCluster: f.duplicateCluster,
      duplicateIssue: f.duplicateIssue,
      duplicateRedundant: f.duplicateRedundant,
      outlierScore: f.outlierScore,
      outlierIssue: f.outlierIssue,
    },
    skipped: f.skipped,
  };
}

/** Runs a code strategy; throws a SieveError for every failure, limit or refusal. */
export async function runCodeStrategy(
  source: Pick<StrategySource, 'path' | 'text'>,
  input: StrategyInput,
  opts: CodeRunOptions = {},
): Promise<CodeRunResult> {
  const layer = isolationFor(input, opts.layer);
  if (!layer) process.stderr.write(`warning: running ${source.path} WITHOUT network isolation (${UNISOLATED_FLAG})\n`);
  const [strategyJs, childJs] = await Promise.all([transpileStrategy(source.path, source.text), bundledChild()]);
  const split = await readRawSplit(input.pool, 'train');
  const ids = split.columns.find((c) => c.name === 'id')!.values as string[];

  // The real path: the permission model compares the paths the child opens with this one.
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'sieve-strategy-')));
  const untrack = trackTemp(dir);
  try {
    // Node 20 reads a comma in --allow-fs-read as a list separator.
    if (dir.includes(','))
      throw new SieveError(`the temporary directory ${dir} holds a comma, which Node's --allow-fs-read cannot name`, {
        where: 'TMPDIR',
        examples: ['set TMPDIR to a directory whose path has no comma'],
      });
    await writeFile(join(dir, 'child.mjs'), childJs, { mode: 0o600 });
    await writeFile(join(dir, 'strategy.mjs'), strategyJs, { mode: 0o600 });
    let findings: PoolFindings | null = null;
    // One time budget for the run, the restart with the findings included: a strategy that
    // spent all but a moment before asking for them got a fresh budget and twice its share.
    const started = performance.now();
    for (;;) {
      const { bytes } = await writeContextFiles(dir, {
        task: input.task,
        budget: input.budget,
        seed: input.seed,
        classNames: input.classNames,
        split,
        findings: findings ? findingColumns(findings, ids) : null,
        oosProbabilities: findings?.oos.proba ?? null,
        maxResultBytes: input.limits.maxOutputBytes,
        maxRows: input.limits.maxRows,
      });
      const left = Math.max(1000, input.limits.timeoutMs - (performance.now() - started));
      const limits: SandboxLimits = {
        wallMs: left,
        cpuSeconds: opts.cpuSeconds ?? Math.ceil(left / 1000),
        heapMb: input.limits.memoryMb,
        addressSpaceMb: input.limits.memoryMb + BASE_ADDRESS_SPACE_MB + Math.ceil((2 * bytes) / (1024 * 1024)),
        maxLogBytes: MAX_LOG_BYTES,
        maxResultBytes: input.limits.maxOutputBytes,
      };
      const outcome = await runSandboxed({ dir, entry: join(dir, 'child.mjs'), limits, layer, onLog: opts.onLog ?? defaultLog, onStart: opts.onStart });
      const m = outcome.message;
      if (m && !m.ok && 'needs' in m && !findings) {
        findings = await input.findings();
        continue;
      }
      // Said against the whole budget, not what was left of it for the restart.
      const result = interpret(outcome, { ...limits, wallMs: input.limits.timeoutMs }, source.path);
      return {
        ids: result.ids,
        ...(result.labels ? { labels: result.labels } : {}),
        isolation: layer ? layer.description : 'none',
        usedFindings: findings !== null,
        wallSeconds: outcome.wallSeconds,
      };
    }
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    untrack();
  }
}

/** The code kind's runner for the dispatcher (src/strategy/runners.ts). */
export const codeRunner: StrategyRunner = {
  kind: 'code',
  async run(source, input) {
    const { ids, labels } = await runCodeStrategy(source, input);
    return labels ? { ids, labels } : { ids };
  },
};

const MiB = 1024 * 1024;
const mib = (b: number) => `${Math.round((b / MiB) * 10) / 10} MiB`;

/** Stack lines that say where in the strategy it failed (not the runner's own frames). */
function strategyFrames(stack: string | undefined, path: string): string[] {
  if (!stack) return [];
  const base = path.split('/').pop()!;
  return stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.includes(base) || l.includes('strategy.mjs'))
    .slice(0, 4);
}

/** The outcome as the strategy's result, or the SieveError that explains it. */
export function interpret(o: SandboxOutcome, limits: SandboxLimits, path: string): Extract<ChildMessage, { ok: true }> {
  const where = path;
  if (o.stopped === 'wall')
    throw new SieveError(`the strategy ran longer than its wall-clock limit of ${limits.wallMs / 1000} s and was stopped`, { where, examples: ['limit: strategy time limit'] });
  if (o.stopped === 'log')
    throw new SieveError(`the strategy printed more than ${mib(limits.maxLogBytes)} and was stopped`, { where, examples: ['print less: ctx.log is for short progress notes'] });
  if (o.stopped === 'result')
    throw new SieveError(`the strategy returned more than ${mib(limits.maxResultBytes)} and was stopped`, { where, examples: ['limit: strategy output bytes'] });
  const m = o.message;
  if (m?.ok) return m;
  const heapOut = /heap out of memory|Reached heap limit|Allocation failed - JavaScript heap/i.test(o.stderrTail);
  if (heapOut || (!m && o.signal === 'SIGABRT'))
    throw new SieveError(`the strategy ran out of memory: its heap limit is ${limits.heapMb} MB`, { where, examples: ['limit: strategy memory'] });
  if (!m && o.signal === 'SIGXCPU')
    throw new SieveError(`the strategy used more than its CPU-time limit of ${limits.cpuSeconds} s and was stopped`, { where });
  if (!m && o.signal === 'SIGKILL')
    throw new SieveError(`the strategy was killed (SIGKILL): by itself, by its CPU-time hard limit (${limits.cpuSeconds + 1} s) or by the system's out-of-memory killer`, { where });
  if (m && !m.ok && 'needs' in m)
    throw new SieveError('the strategy asked for the findings again after they were given', { where });
  if (m && !m.ok) {
    const e = m.error;
    const frames = strategyFrames(e.stack, path);
    if (e.code === 'ERR_ACCESS_DENIED') {
      const what = e.permission ? `${e.permission}${e.resource ? ` (${e.resource})` : ''}` : e.message;
      throw new SieveError(`the sandbox refused the strategy: ${what}`, {
        where,
        examples: ['strategies may read only their context: no other files, writes, child processes, worker threads or process.binding', ...frames],
        exitCode: 3,
      });
    }
    if (e.code === 'ERR_DLOPEN_DISABLED')
      throw new SieveError('the sandbox refused the strategy: native addons cannot be loaded', { where, examples: frames, exitCode: 3 });
    if (/Array buffer allocation failed|Invalid typed array length|Invalid array buffer length/.test(e.message))
      throw new SieveError(`the strategy ran out of memory: its address space is limited to ${limits.addressSpaceMb} MB (${e.message})`, { where, examples: frames });
    if (e.code && /^(ENETUNREACH|ENETDOWN|EADDRNOTAVAIL|ECONNREFUSED|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH)$/.test(e.code))
      throw new SieveError(`the strategy tried to use the network, which the sandbox does not have: ${e.message}`, { where, examples: frames, exitCode: 3 });
    if (e.name === 'StrategyResultError')
      throw new SieveError(`the strategy's result cannot be used: ${e.message}`, { where, examples: frames });
    throw new SieveError(`the strategy failed: ${e.name}: ${e.message}`, { where, examples: frames });
  }
  const tail = o.stderrTail.trim().split('\n').slice(-3);
  throw new SieveError(
    o.exitCode === 0
      ? 'the strategy process ended without sending a result (did it call process.exit?)'
      : `the strategy process ended without a result (${o.signal ? `signal ${o.signal}` : `exit code ${o.exitCode}`})`,
    { where, examples: tail.filter(Boolean) },
  );
}
