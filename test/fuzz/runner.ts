/**
 * The fuzz child process: rebuilds each case from its seed, writes its files into a fresh
 * directory, calls the importer / submission loader / challenge loader in process, and
 * reports how it ended and whether anything was left on disk. Runs under the parent's
 * watchdog (harness.ts), which owns time and memory bounds and survives crashes of this one.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SieveError } from '../../src/util/errors.ts';
import { openDb } from '../../src/pool/duckdb.ts';
import type { CaseResult, Family, FuzzCase, OutcomeKind } from './cases.ts';
import { knownFailure } from './known-failures.ts';
import { generateCase } from './generate.ts';
import { formatOfSeed } from './formats.ts';
import { importPool } from '../../src/pool/import/index.ts';
import { loadSubmission, rulesFor } from '../../src/submission/index.ts';
import { loadChallenge, parseChallengeText } from '../../src/challenge/load.ts';

export interface RunRequest {
  family: Family;
  seeds: number[];
  runKnown: boolean;
}

const root = process.env.SIEVE_FUZZ_ROOT;
if (!root) throw new Error('runner.ts is started by test/fuzz/harness.ts (SIEVE_FUZZ_ROOT unset)');
const tmp = join(root, 'tmp');
const cwd = join(root, 'cwd');
const gen = join(root, 'gen');

async function call(c: FuzzCase, dir: string): Promise<void> {
  const at = (name: string | undefined) => (name === undefined ? undefined : join(dir, name));
  const k = c.call;
  if (k.kind === 'import') {
    await importPool({ ...k, input: at(k.input)!, labels: at(k.labels), testFile: at(k.testFile), testLabels: at(k.testLabels), out: join(dir, 'pool') });
  } else if (k.kind === 'submission') {
    const budget = k.task === 'selection' ? { rows: k.budget } : k.task === 'relabel' ? { corrections: k.budget } : { max_length: k.budget };
    const rules = rulesFor({ task: k.task, budget } as Parameters<typeof rulesFor>[0], { ids: k.poolIds, classNames: k.classNames });
    await loadSubmission(at(k.file)!, rules, { format: k.format });
  } else {
    if (k.via === 'load') await loadChallenge(at(k.file)!);
    else parseChallengeText(new TextDecoder().decode(c.files[0].bytes), at(k.file)!);
  }
}

function stackHead(err: unknown): string {
  const e = err as Error;
  return (e?.stack ?? String(err)).split('\n').slice(0, 8).join('\n');
}

/** Names in `dir` (recursively for sub-folders) other than `allowed`. */
function extraEntries(dir: string, allowed: Set<string>): string[] {
  return readdirSync(dir).filter((n) => !allowed.has(n));
}

function clearDir(dir: string, keep: Set<string> = new Set()): void {
  for (const n of readdirSync(dir)) if (!keep.has(n)) rmSync(join(dir, n), { recursive: true, force: true });
}

/** What the harness itself keeps in TMPDIR (tsx's compile cache), taken before the first case. */
let tmpBaseline = new Set<string>();

async function runOne(c: FuzzCase): Promise<Omit<CaseResult, 'seed' | 'format' | 'mutations'>> {
  const dir = join(root!, 'cases', String(c.seed));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of c.files) writeFileSync(join(dir, f.name), f.bytes);
  let outcome: OutcomeKind = 'accepted';
  let detail: string | undefined;
  const t0 = performance.now();
  try {
    await call(c, dir);
  } catch (err) {
    if (err instanceof SieveError) {
      outcome = /^internal\b/i.test(err.message) ? 'internal' : 'rejected';
      detail = err.message.slice(0, 300);
    } else {
      outcome = 'crash';
      detail = stackHead(err);
    }
  }
  const ms = performance.now() - t0;
  // Anything left on disk besides the inputs and, on success, the pool just written?
  const allowed = new Set(c.files.map((f) => f.name));
  if (outcome === 'accepted' && c.call.kind === 'import') {
    allowed.add('pool');
    if (!existsSync(join(dir, 'pool', 'pool.json'))) {
      outcome = 'crash';
      detail = 'import returned but wrote no pool.json';
    }
  }
  const left = [
    ...extraEntries(dir, allowed).map((n) => `case dir: ${n}`),
    ...extraEntries(tmp, tmpBaseline).map((n) => `TMPDIR: ${n}`),
    ...extraEntries(cwd, new Set()).map((n) => `cwd: ${n}`),
  ];
  if (outcome === 'accepted' || outcome === 'rejected') {
    if (left.length) {
      outcome = 'leftover';
      detail = `${left.join(', ')}${detail ? ` (after: ${detail})` : ''}`;
    } else if (outcome === 'accepted' && c.expect.outcome === 'reject') {
      outcome = 'wrong-accept';
      detail = `accepted although ${c.expect.why}`;
    } else if (outcome === 'rejected' && c.expect.outcome === 'accept') {
      outcome = 'wrong-reject';
      detail = `rejected a valid file: ${detail}`;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  clearDir(tmp, tmpBaseline);
  clearDir(cwd);
  return { outcome, detail, ms: Math.round(ms) };
}

async function main(req: RunRequest): Promise<void> {
  mkdirSync(gen, { recursive: true });
  const db = await openDb({ threads: 1 });
  tmpBaseline = new Set(readdirSync(tmp));
  try {
    for (const seed of req.seeds) {
      let c: FuzzCase;
      try {
        c = await generateCase(req.family, seed, { conn: db.conn, scratch: gen });
      } catch (err) {
        send({ seed, format: formatOfSeed(req.family, seed), mutations: [], outcome: 'crash', detail: `generator: ${stackHead(err)}` });
        continue;
      }
      const known = knownFailure(c);
      if (known && !req.runKnown) {
        send({ seed, format: c.format, mutations: c.mutations, outcome: 'known', detail: known.id });
        continue;
      }
      process.send!({ type: 'start', case: { seed, format: c.format, mutations: c.mutations } });
      const r = await runOne(c);
      send({ seed, format: c.format, mutations: c.mutations, ...r, ...(known && r.outcome !== 'accepted' && r.outcome !== 'rejected' ? { detail: `[${known.id}] ${r.detail}` } : {}) });
    }
  } finally {
    db.close();
  }
}

function send(r: CaseResult): void {
  process.send!({ type: 'result', result: r });
}

// The harness went away (its test timed out or was interrupted): stop rather than run on unseen.
process.on('disconnect', () => process.exit(0));

process.once('message', (req: RunRequest) => {
  main(req).then(
    () => process.send!({ type: 'finished' }, () => process.exit(0)),
    (err) => {
      process.stderr.write(`fuzz runner failed: ${stackHead(err)}\n`);
      process.exit(70);
    },
  );
});
