/**
 * `sieve verify`: re-runs a result record from what it names (challenge, pool, submission
 * file, evaluator version, seeds, bootstrap) and checks that every recorded figure comes out
 * bit-identical. Refuses to run when the submission, challenge spec or pool changed, since a
 * re-run would then score something else.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { MAX_SUBMISSION_BYTES } from '../submission/parse.ts';
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
  const st = await stat(path).catch(() => null);
  if (st && !st.isFile()) throw new SieveError(`result record is not a file: ${path}`, { where: 'result', examples: ['give the JSON file `sieve evaluate --out FILE` wrote'] });
  const text = await readFile(path, 'utf8').catch(() => {
    throw new SieveError(`result record not found: ${path}`, { where: 'result' });
  });
  let rec: ResultRecord;
  try {
    // A byte-order mark (an editor's UTF-8 save) is not part of the JSON, as in submission files.
    rec = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new SieveError(`result record is not valid JSON: ${(err as Error).message.split('\n')[0]}`, { where: path });
  }
  if (rec === null || typeof rec !== 'object' || rec.format !== RESULT_FORMAT) {
    throw new SieveError(`not a sieve result record (format should be "${RESULT_FORMAT}")`, {
      where: path,
      examples: [`format: ${JSON.stringify((rec as { format?: unknown })?.format)}`],
    });
  }
  for (const key of ['challenge', 'pool', 'submission', 'metrics', 'bootstrap', 'test', 'primary', 'seeds', 'model'] as const) {
    if (!rec[key] || typeof rec[key] !== 'object') {
      throw new SieveError(rec[key] === undefined ? `result record lacks "${key}"` : `result record's "${key}" is ${JSON.stringify(rec[key]).slice(0, 60)}, not an object`, { where: path, examples: ['a record is what `sieve evaluate --out FILE` writes, whole'] });
    }
  }
  // The fields a re-run is started from: checked here, so a damaged one is bad input (exit 2).
  const bad: string[] = [];
  const str = (v: unknown, name: string) => { if (typeof v !== 'string' || !v) bad.push(`${name} is not a non-empty string`); };
  str(rec.challenge.ref, 'challenge.ref');
  if (rec.evaluator !== undefined && (rec.evaluator === null || typeof rec.evaluator !== 'object' || typeof rec.evaluator.version !== 'string')) bad.push(`evaluator.version is ${JSON.stringify((rec.evaluator as { version?: unknown } | null)?.version)}, not a version string`);
  str(rec.challenge.spec_sha256, 'challenge.spec_sha256');
  str(rec.pool.content_hash, 'pool.content_hash');
  str(rec.submission.sha256, 'submission.sha256');
  const b = rec.bootstrap as { samples?: unknown; seed?: unknown };
  if (!(Number.isInteger(b.samples) && (b.samples as number) >= 1 && (b.samples as number) <= 100_000)) bad.push(`bootstrap.samples is ${JSON.stringify(b.samples)}, not an integer from 1 to 100,000 (the challenge schema's range)`);
  if (!Number.isInteger(b.seed)) bad.push(`bootstrap.seed is ${JSON.stringify(b.seed)}, not an integer`);
  if (!Array.isArray(rec.seeds) || !rec.seeds.every((x) => Number.isInteger(x))) bad.push('seeds is not a list of integers');
  if (bad.length) throw new SieveError(`the result record is damaged: ${bad[0]}`, { where: path, examples: bad, count: bad.length });
  return rec;
}

/**
 * A record without what describes one run rather than its result: when and on what machine it
 * ran (system, created_at), how long each fit took, where the challenge, pool and submission
 * files lie (an entrant's copy names them, a moved file is passed with --submission), the sieve
 * version (a note) and a server copy's note on withheld replays.
 */
function comparable(rec: ResultRecord): Record<string, unknown> {
  type Obj = Record<string, unknown>;
  const isObj = (x: unknown): x is Obj => x !== null && typeof x === 'object' && !Array.isArray(x);
  const drop = (x: unknown, key: string) => { if (isObj(x)) delete x[key]; };
  const r = JSON.parse(JSON.stringify(rec)) as Obj;
  for (const key of ['system', 'created_at', 'replay_withheld', 'sieve']) delete r[key];
  drop(r.challenge, 'ref');
  drop(r.pool, 'ref');
  drop(r.submission, 'path');
  drop(r.strategy, 'path');
  if (Array.isArray(r.fits)) for (const f of r.fits) drop(f, 'seconds');
  else drop(r.fits, 'seconds');
  return r;
}

/** An entrant's copy of an open ranking challenge's record lacks these (app.ts entrantView): not compared. */
function dropWithheldRanking(r: Record<string, unknown>): void {
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(r.ranking)) delete r.ranking.noisy_fixed;
  if (isObj(r.fits)) { delete r.fits.cold; delete r.fits.warm; }
  delete r.ranking_withheld;
}

/** Fields that say what was scored, in the order a difference is shown (a cause before its effects). */
const CAUSE_FIELDS = ['strategy', 'submission', 'subset', 'evaluator', 'model', 'seeds', 'bootstrap', 'test', 'primary', 'metrics'];

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
  // A record is untrusted input: its path may name a device or a FIFO (/dev/zero read 3.4 GB in
  // 15 s; a FIFO blocked for ever, through SIGTERM; a verify tryout). Only a regular file of at
  // most a submission's size is read.
  const st = await stat(typeof subPath === 'string' ? subPath : '').catch(() => null);
  if (st && (!st.isFile() || st.size > MAX_SUBMISSION_BYTES)) {
    throw new SieveError(`the ${what} named by the record is ${st.isFile() ? `${st.size} bytes, over the ${MAX_SUBMISSION_BYTES}-byte limit of a submission` : 'not a regular file'}: ${subPath}`, {
      where: recordPath,
      examples: [`pass --submission FILE to name the file that was scored`],
    });
  }
  const bytes = await readFile(typeof subPath === 'string' ? subPath : '').catch(() => {
    throw new SieveError(`the ${what} named by the record is gone: ${typeof subPath === 'string' ? subPath : `(the record names ${JSON.stringify(subPath) ?? 'none'})`}`, {
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
  // The re-run uses the record's resample count (programmatic callers may lower it); a count
  // that is not the challenge's is said, since then no interval is the official one (a verify
  // tryout forged 100 resamples with their intervals, and verify called it bit-identical).
  if (rec.bootstrap.samples !== challenge.bootstrap.samples) {
    notes.push(`NOT THE OFFICIAL INTERVALS: the record's intervals use ${rec.bootstrap.samples} bootstrap resamples, challenge ${challenge.name} fixes ${challenge.bootstrap.samples}; its figures re-run alike with ${rec.bootstrap.samples}, but \`sieve evaluate\` gives the official ones`);
  }

  const source = rec.strategy ? strategySource(subPath, { progress: opts.progress, allowUnisolated: opts.allowUnisolated }) : fileSource(subPath, { format: rec.submission.format });
  const rerun = await evaluateSource(challenge, source, { context: ctx, bootstrapSamples: rec.bootstrap.samples, progress: opts.progress });
  // Compare through JSON, which is how the record was stored (NaN → null and so on).
  const fresh = JSON.parse(JSON.stringify(rerun)) as ResultRecord;
  const differences: Difference[] = [];
  const counter = { n: 0 };
  const noReplay = rec.replay === undefined ? missingReplayReason(rec) : null;
  if (noReplay !== null) {
    // Written before records stored replays, or an entrant's copy: compare what it has. (A
    // record that should have them and does not is compared as it is: the replay differs.)
    notes.push(`the record stores no replay of its bootstrap rows: ${noReplay}; the re-run's replay was not compared`);
    delete fresh.replay;
    if (fresh.private) { delete fresh.private.replay; delete fresh.private.public_mask; }
  }
  // A strategy's output must be what was scored (same strategy, same seed, same output bit for
  // bit): strategy.output_sha256, strategy.seed and submission.sha256 are compared with the rest.
  // A record saved from the public view (private hidden) lost the private and all-rows counts
  // and curve: compare it with the re-run's public view, built the same way.
  const savedPublic = !!rec.private && typeof rec.private === 'object' && 'hidden' in (rec.private as object);
  const against = savedPublic ? (JSON.parse(JSON.stringify(publicView(fresh, { now: new Date(0) }))) as ResultRecord) : fresh;
  // Every field is compared but those that describe this run rather than the result (when and
  // where it ran, how long its fits took, where its files lie): a record whose challenge, pool,
  // submission, evaluator settings or convergence note was edited does not verify.
  const a = comparable(rec), b = comparable(against);
  if ((rec as { ranking_withheld?: string }).ranking_withheld) {
    dropWithheldRanking(a); dropWithheldRanking(b);
    notes.push('how many wrong labels the ranking reached is not in this record (an entrant\'s copy while the challenge was open); not compared');
  }
  // Records from before variants existed have no generalisation block; timings are never compared.
  // (Records of evaluator 3.0.0 on always have one, a file of ids' a note: a missing one differs.)
  if (rec.generalisation === undefined && (fresh.generalisation === undefined || missingReplayReason({ evaluator: rec.evaluator }) !== null)) delete b.generalisation;
  else if (rec.generalisation === undefined) { a.generalisation = null; b.generalisation = comparableGeneralisation(fresh.generalisation); }
  else { a.generalisation = comparableGeneralisation(rec.generalisation); b.generalisation = comparableGeneralisation(fresh.generalisation); }
  const priv = rec.private as ResultRecord['private'] | { hidden: true } | null;
  if (priv && 'hidden' in priv) {
    notes.push('private scores are not in this record (it was saved from the public view); they were not compared');
    delete a.private; delete b.private;
  } else b.private = JSON.parse(JSON.stringify(fresh.private ?? null));
  if (rec.sieve?.version !== fresh.sieve.version) notes.push(`sieve version changed: recorded ${rec.sieve?.version}, running ${fresh.sieve.version}`);
  else if (rec.sieve?.code_sha256 !== fresh.sieve.code_sha256)
    notes.push(rec.sieve?.code_sha256
      ? `sieve's code differs from the code that made the record (code sha256 ${rec.sieve.code_sha256}, running ${fresh.sieve.code_sha256}; a run from dist/ and one from the sources differ too)` +
        (rec.sieve.git_commit && rec.sieve.git_commit !== fresh.sieve.git_commit ? `; the record was made at git commit ${rec.sieve.git_commit}: \`git checkout ${rec.sieve.git_commit}\` re-runs it with that code` : '')
      : `the record names no code sha256 (sieve.code_sha256); running ${fresh.sieve.code_sha256}`);
  const ev = (x: ResultRecord) => (x.evaluator && typeof x.evaluator === 'object' ? x.evaluator : {}) as Record<string, unknown>;
  if (rec.evaluator?.version !== fresh.evaluator.version) { a.evaluator = { ...ev(rec), version: null }; b.evaluator = { ...ev(fresh), version: null }; }
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) compareJson(a[key], b[key], key, differences, counter);
  // What was scored before what it scored: a strategy whose output changed differs in hundreds
  // of counts, and its strategy.output_sha256 (the cause) came 493rd of 500 (a verify tryout).
  const rank = (p: string) => CAUSE_FIELDS.findIndex((f) => p === f || p.startsWith(`${f}.`) || p.startsWith(`${f}[`));
  const order = (p: string) => { const r = rank(p); return r < 0 ? CAUSE_FIELDS.length : r; };
  differences.sort((x, y) => order(x.path) - order(y.path));
  return { ok: differences.length === 0, compared: counter.n, differences, notes, rerun };
}
