/**
 * `sieve verify`: re-runs a result record from what it names (challenge, pool, submission
 * file, evaluator version, seeds, bootstrap) and checks that every recorded figure comes out
 * bit-identical. Refuses to run when the submission, challenge spec or pool changed, since a
 * re-run would then score something else.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EVALUATOR_VERSION } from '../../evaluator/version.ts';
import { loadChallenge } from '../challenge/load.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { loadEvalContext } from './context.ts';
import { missingReplayReason, publicView, RESULT_FORMAT, type ResultRecord } from './record.ts';
import { fileSource, strategySource } from '../submission/sources/index.ts';
import { evaluateSource } from './runner.ts';
import { comparableGeneralisation } from './variants.ts';

export interface Difference {
  path: string;
  recorded: unknown;
  rerun: unknown;
}

export interface VerifyOutcome {
  ok: boolean;
  /** Number of figures compared (leaf values). */
  compared: number;
  differences: Difference[];
  notes: string[];
  rerun: ResultRecord;
}

/** Reads and sanity-checks a result record file. */
export async function readRecord(path: string): Promise<ResultRecord> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new SieveError(`result record not found: ${path}`, { where: 'result' });
  });
  let rec: ResultRecord;
  try {
    rec = JSON.parse(text);
  } catch (err) {
    throw new SieveError(`result record is not valid JSON: ${(err as Error).message.split('\n')[0]}`, { where: path });
  }
  if (rec === null || typeof rec !== 'object' || rec.format !== RESULT_FORMAT) {
    throw new SieveError(`not a sieve result record (format should be "${RESULT_FORMAT}")`, {
      where: path,
      examples: [`format: ${JSON.stringify((rec as { format?: unknown })?.format)}`],
    });
  }
  for (const key of ['challenge', 'pool', 'submission', 'metrics', 'bootstrap'] as const) {
    if (!rec[key] || typeof rec[key] !== 'object') throw new SieveError(`result record lacks "${key}"`, { where: path });
  }
  return rec;
}

/** Leaf-by-leaf comparison of two JSON values; `Object.is` on numbers (bit-identical). */
export function compareJson(a: unknown, b: unknown, path: string, out: Difference[], counter: { n: number }): void {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    if (Array.isArray(a) !== Array.isArray(b)) { out.push({ path, recorded: a, rerun: b }); counter.n++; return; }
    const keys = Array.isArray(a)
      ? Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => i)
      : [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    for (const k of keys) {
      const sub = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : String(k);
      compareJson((a as Record<string | number, unknown>)[k], (b as Record<string | number, unknown>)[k], sub, out, counter);
    }
    return;
  }
  counter.n++;
  if (!Object.is(a, b)) out.push({ path, recorded: a, rerun: b });
}

export async function verifyRecord(
  recordPath: string,
  opts: { submission?: string; progress?: Progress; /** Code strategies: run without network isolation (the user's explicit flag). */ allowUnisolated?: boolean } = {},
): Promise<VerifyOutcome> {
  const rec = await readRecord(recordPath);
  const notes: string[] = [];

  // A strategy's record names the strategy file: it must be the same bytes, and its re-run
  // output must hash to what was scored. A submission file's record names the file itself.
  const subPath = opts.submission ?? (rec.strategy ? rec.strategy.path : rec.submission.path);
  const what = rec.strategy ? 'strategy' : 'submission';
  const bytes = await readFile(subPath).catch(() => {
    throw new SieveError(`the ${what} named by the record is gone: ${subPath}`, {
      where: recordPath,
      examples: [`pass --submission FILE if it moved (its sha256 must still match)`],
    });
  });
  const sha = createHash('sha256').update(bytes).digest('hex');
  const recordedSha = rec.strategy ? rec.strategy.sha256 : rec.submission.sha256;
  if (sha !== recordedSha) {
    throw new SieveError(`the ${what} file changed since it was scored; refusing to verify`, {
      where: subPath,
      examples: [`recorded sha256 ${recordedSha}`, `file sha256 ${sha}`],
    });
  }

  const challenge = await loadChallenge(rec.challenge.ref);
  if (challenge.specSha256 !== rec.challenge.spec_sha256) {
    throw new SieveError(`the challenge spec changed since the record (${challenge.name} v${challenge.version}); refusing to verify`, {
      where: challenge.specPath,
      examples: [`recorded spec sha256 ${rec.challenge.spec_sha256}`, `current spec sha256 ${challenge.specSha256}`],
    });
  }
  // rehash: a verification reads every byte of the pool's files again, whatever the hash cache says.
  const ctx = await loadEvalContext(challenge, { progress: opts.progress, rehash: true });
  if (ctx.pool.manifest.content_hash !== rec.pool.content_hash) {
    throw new SieveError(`pool "${ctx.pool.name}" changed since the record; refusing to verify`, {
      where: ctx.pool.dir,
      examples: [`recorded content hash ${rec.pool.content_hash}`, `current content hash ${ctx.pool.manifest.content_hash}`],
    });
  }
  if (rec.evaluator?.version !== EVALUATOR_VERSION) {
    notes.push(`evaluator version changed: recorded ${rec.evaluator?.version}, running ${EVALUATOR_VERSION}`);
  }

  const source = rec.strategy ? strategySource(subPath, { progress: opts.progress, allowUnisolated: opts.allowUnisolated }) : fileSource(subPath, { format: rec.submission.format });
  const rerun = await evaluateSource(challenge, source, { context: ctx, bootstrapSamples: rec.bootstrap.samples, progress: opts.progress });
  // Compare through JSON, which is how the record was stored (NaN → null and so on).
  const fresh = JSON.parse(JSON.stringify(rerun)) as ResultRecord;
  const differences: Difference[] = [];
  const counter = { n: 0 };
  if (rec.replay === undefined) {
    // Written before records stored replays: compare what it has.
    notes.push(`the record stores no replay of its bootstrap rows: ${missingReplayReason(rec)}; the re-run's replay was not compared`);
    delete fresh.replay;
    if (fresh.private) { delete fresh.private.replay; delete fresh.private.public_mask; }
  }
  // The strategy's output must be what was scored (same strategy, same seed, same output bit for bit).
  if (rec.strategy) {
    compareJson(rec.strategy.output_sha256, fresh.strategy?.output_sha256, 'strategy.output_sha256', differences, counter);
    compareJson(rec.strategy.seed, fresh.strategy?.seed, 'strategy.seed', differences, counter);
    compareJson(rec.submission.sha256, fresh.submission.sha256, 'submission.sha256', differences, counter);
  }
  // A record saved from the public view (private hidden) lost the private and all-rows counts
  // and curve: compare it with the re-run's public view, built the same way.
  const savedPublic = !!rec.private && typeof rec.private === 'object' && 'hidden' in (rec.private as object);
  const against = savedPublic ? (JSON.parse(JSON.stringify(publicView(fresh, { now: new Date(0) }))) as ResultRecord) : fresh;
  for (const key of ['seeds', 'model', 'bootstrap', 'test', 'primary', 'metrics', 'curve', 'ranking', 'counts', 'replay', 'subset'] as const) {
    compareJson(rec[key], against[key], key, differences, counter);
  }
  // Records from before variants existed have no generalisation block; timings are never compared.
  if (rec.generalisation !== undefined)
    compareJson(comparableGeneralisation(rec.generalisation), comparableGeneralisation(fresh.generalisation), 'generalisation', differences, counter);
  const priv = rec.private as ResultRecord['private'] | { hidden: true } | null;
  if (priv && 'hidden' in priv) {
    notes.push('private scores are not in this record (it was saved from the public view); they were not compared');
  } else {
    compareJson(priv, fresh.private, 'private', differences, counter);
  }
  return { ok: differences.length === 0, compared: counter.n, differences, notes, rerun };
}
