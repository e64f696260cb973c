/**
 * `sieve verify --rescore`: recomputes every figure of a result record from the counts the
 * record itself stores (ranking: the curve's correct-row counts per test part and seed;
 * selection / relabel: the confusion matrix, log-loss sum, calibration bins and group tallies
 * per part and seed), with the evaluator's own scoring functions and no refit, and checks
 * that each recomputed figure equals the recorded one bit for bit.
 *
 * Checked: every metric's mean, std and per-seed values in the public, private and all-rows
 * tables, the primary means, the curve's accuracy and fraction columns, and that the stored
 * counts cover as many test rows as the record says. Then, from the record's replays (the
 * per-row facts each part's bootstrap resamples, evaluator/replay.ts): that they give the
 * stored counts again, and every interval (ci95, bias, ci_extended) and group note, by the
 * evaluator's own bootstrap with the record's seed and resamples. A record written before
 * replays were stored re-scores without its intervals, and the outcome says so.
 */
import {
  allRows, classificationReplayScorer, curveReplayScorer, decodeMask, decodeReplay, layoutOf, meanAndStd, mergeReplay, metricsFromTallies,
  rankingFigures, RANKING_METRICS, summariseSeeds, type MetricSummary, type MetricTallies, type Replay, type SeedScorer,
} from '../../evaluator/index.ts';
import type { CurveCounts } from '../../evaluator/protocols/ranking.ts';
import { taskOf } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import { missingReplayReason, type Metrics, type ResultRecord } from './record.ts';
import { compareJson, type Difference } from './verify.ts';
import { summariseGeneralisation } from './variants.ts';

export interface RescoreOutcome {
  ok: boolean;
  compared: number;
  differences: Difference[];
  notes: string[];
}

/** Metric tables of the record by test part, as the record stores them. */
function recordedTables(rec: ResultRecord, notes: string[]): { part: string; where: string; metrics: Metrics; rows: number }[] {
  const tables = [{ part: 'public', where: 'metrics', metrics: rec.metrics, rows: rec.test.public_rows }];
  const priv = rec.private as ResultRecord['private'] | { hidden: true } | null;
  if (priv && 'hidden' in priv) {
    notes.push('private scores are not in this record (saved from the public view); only the public part was re-scored');
  } else if (priv) {
    tables.push({ part: 'private', where: 'private.metrics', metrics: priv.metrics, rows: rec.test.private_rows });
    tables.push({ part: 'all', where: 'private.all_metrics', metrics: priv.all_metrics, rows: rec.test.rows });
  }
  // Without a private part (public_fraction 1) the public part is every test row.
  return tables;
}

/** JSON's view of a number (NaN and ±Infinity are stored as null). */
const asStored = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

function missing(rec: ResultRecord, what: string): never {
  // Counts arrived before 2.0.0; a record of a later evaluator without them has lost them.
  const old = missingReplayReason({ evaluator: rec.evaluator }) !== null;
  throw new SieveError(`the record has no ${what} to re-score from (${old ? `written by evaluator ${rec.evaluator?.version ?? '?'}, before records stored their counts` : `every record of evaluator ${rec.evaluator?.version} stores them: removed`})`, {
    where: 'record',
    examples: ['run `sieve verify` without --rescore to re-run it instead'],
  });
}

/** Per-seed metric values of one test part → name → { mean, std, per_seed }. */
function summaries(names: readonly string[], perSeed: Float64Array[]): Record<string, { mean: number; std: number; per_seed: number[] }> {
  const out: Record<string, { mean: number; std: number; per_seed: number[] }> = {};
  names.forEach((name, m) => {
    const values = perSeed.map((v) => v[m]);
    const { mean, std } = meanAndStd(values);
    out[name] = { mean, std, per_seed: values };
  });
  return out;
}

export function rescoreRecord(rec: ResultRecord): RescoreOutcome {
  const notes: string[] = [];
  const differences: Difference[] = [];
  const counter = { n: 0 };
  const check = (path: string, recorded: unknown, recomputed: unknown) =>
    compareJson(recorded, asStored(recomputed), path, differences, counter);
  // A record with private test rows holds their scores, or says they are hidden: not nothing.
  if (rec.test.private_rows > 0 && (rec.private === null || rec.private === undefined))
    differences.push({ path: 'private', recorded: rec.private ?? null, rerun: `the scores of the ${rec.test.private_rows} private test rows (or the public view's "hidden" marker)` });

  let names: readonly string[];
  let perPart: (part: string) => Float64Array[] | null;
  let rowsOf: (part: string) => number[];

  if (taskOf(rec.challenge.task).result === 'curve') {
    const curve = rec.curve, ranking = rec.ranking;
    if (!curve || !ranking) missing(rec, 'ranking curve');
    if (!curve.parts) missing(rec, 'per-part curve counts');
    names = RANKING_METRICS;
    const parts = curve.parts;
    rowsOf = (part) => (parts[part] ?? []).map((c) => c.rows);
    perPart = (part) => {
      const seeds: CurveCounts[] | undefined = parts[part];
      if (!seeds) return null;
      return seeds.map((c) => rankingFigures(c.correct, c.rows, c.clean_correct, curve.k, ranking.pool_rows, ranking.step, new Float64Array(names.length)));
    };
    // The curve's own columns: fraction = k / pool rows; accuracy = mean over seeds of right / rows (every test row).
    check('curve.fraction', curve.fraction, curve.k.map((k) => k / ranking.pool_rows));
    const all = parts.all;
    if (!all) missing(rec, 'all-rows curve counts');
    const perSeedAcc = all.map((c) => c.correct.map((r) => r / c.rows));
    check('curve.accuracy', curve.accuracy, perSeedAcc[0].map((_, p) => perSeedAcc.reduce((sum, a) => sum + a[p], 0) / all.length));
    if (curve.per_seed !== undefined || all.length > 1) check('curve.per_seed', curve.per_seed, perSeedAcc);
    for (const [part, seeds] of Object.entries(parts)) {
      seeds.forEach((c, s) => {
        if (c.correct.length !== curve.k.length) {
          differences.push({ path: `curve.parts.${part}[${s}].correct`, recorded: c.correct.length, rerun: `${curve.k.length} points` });
        }
      });
    }
  } else {
    const counts = rec.counts;
    if (!counts) missing(rec, 'metric counts');
    const layout = layoutOf(counts.layout);
    names = layout.names;
    rowsOf = (part) => (counts.parts[part] ?? []).map((t) => t.total);
    // The tallies must agree with each other: every row is in one confusion cell and one bin.
    for (const [part, seeds] of Object.entries(counts.parts)) {
      seeds.forEach((t, s) => {
        check(`counts.parts.${part}[${s}]: confusion matrix total`, t.total, t.confusion.reduce((a, b) => a + b, 0));
        check(`counts.parts.${part}[${s}]: calibration bins total`, t.total, t.bins.count.reduce((a, b) => a + b, 0));
      });
    }
    perPart = (part) => {
      const seeds: MetricTallies[] | undefined = counts.parts[part];
      return seeds ? seeds.map((t) => metricsFromTallies(layout, t)) : null;
    };
  }

  for (const { part, where, metrics, rows } of recordedTables(rec, notes)) {
    const values = perPart(part);
    if (!values) {
      differences.push({ path: `${where} (counts of part "${part}")`, recorded: 'figures', rerun: 'no counts stored' });
      continue;
    }
    rowsOf(part).forEach((n, s) => check(`test rows of part "${part}", seed ${s}`, rows, n));
    const fresh = summaries(names, values);
    for (const name of Object.keys(metrics).sort()) {
      const f = fresh[name];
      if (!f) { differences.push({ path: `${where}.${name}`, recorded: metrics[name], rerun: 'not computable from the counts' }); counter.n++; continue; }
      check(`${where}.${name}.mean`, metrics[name].mean, f.mean);
      check(`${where}.${name}.std`, metrics[name].std, f.std);
      check(`${where}.${name}.per_seed`, metrics[name].per_seed, f.per_seed);
    }
    for (const name of Object.keys(fresh)) {
      if (!(name in metrics)) { differences.push({ path: `${where}.${name}`, recorded: undefined, rerun: asStored(fresh[name].mean) }); counter.n++; }
    }
    const primary = rec.primary.name;
    const freshPrimary = fresh[primary] && Number.isFinite(fresh[primary].mean) ? fresh[primary].mean : null;
    if (part === 'public') check('primary.mean', rec.primary.mean, freshPrimary);
    if (part === 'private' && rec.private) check('private.primary_mean', rec.private.primary_mean, freshPrimary);
  }
  rescoreIntervals(rec, notes, differences, check);
  rescoreGeneralisation(rec, notes, check);
  return { ok: differences.length === 0, compared: counter.n, differences, notes };
}

/**
 * The generalisation summary from the record's own variant scores: their mean, std, t interval
 * and gap to the public score, as the evaluation computed them. The variant scores themselves
 * come from fits on hidden pools, not from stored counts: only a re-run (`sieve verify`) checks them.
 */
function rescoreGeneralisation(rec: ResultRecord, notes: string[], check: (path: string, recorded: unknown, recomputed: unknown) => void): void {
  const g = rec.generalisation;
  if (!g || !('variants' in g)) return;
  // Only a strategy is re-run on variants: a file of ids' record holds a note, never scores (a
  // made-up block on a file record re-scored as equal; verify tryout).
  if (!rec.strategy) {
    check('generalisation', 'variant scores', 'none: a submission file is not re-run on the hidden variants (its record holds only a note)');
    return;
  }
  const challenge = { metrics: { primary: g.primary.name, direction: g.primary.direction }, variants: { recipe: g.recipe } } as unknown as Parameters<typeof summariseGeneralisation>[0];
  const fresh = summariseGeneralisation(challenge, g.variants, rec.primary.mean);
  for (const key of ['public', 'n', 'mean', 'std', 'ci95', 'gap', 'note'] as const) check(`generalisation.${key}`, g[key], fresh[key]);
  notes.push(`generalisation: its mean, interval and gap re-computed from the ${g.variants.length} recorded variant scores; the variant scores themselves come from fits on the hidden variant pools, which only a re-run (sieve verify without --rescore) checks`);
}

/** The replay of one recorded part: public and private as stored, all interleaved from both. */
function partReplay(rec: ResultRecord, part: string, cache: Map<string, Replay>): Replay {
  const hit = cache.get(part);
  if (hit) return hit;
  let replay: Replay;
  if (part === 'public') replay = decodeReplay(rec.replay!, 'replay');
  else {
    const priv = rec.private!;
    if (!priv.replay) throw new RangeError('private.replay: the record stores the public replay but not the private one');
    if (priv.replay.test_ids_sha256 !== rec.replay!.test_ids_sha256) {
      throw new RangeError(`private.replay.test_ids_sha256: ${priv.replay.test_ids_sha256} differs from the public replay's ${rec.replay!.test_ids_sha256}`);
    }
    if (part === 'private') replay = decodeReplay(priv.replay, 'private.replay');
    else replay = mergeReplay(partReplay(rec, 'public', cache), partReplay(rec, 'private', cache), decodeMask(priv.public_mask, rec.test.rows, 'private.public_mask'));
  }
  cache.set(part, replay);
  return replay;
}

/**
 * The scorer of one test part of a record (`public`, `private` or `all`) over its replay: the
 * per-row facts the part's bootstrap resamples, scored by the evaluator's own functions. Throws
 * a RangeError when the record stores no readable replay of that part.
 */
export function partScorer(rec: ResultRecord, part: string, cache = new Map<string, Replay>()): { replay: Replay; scorer: SeedScorer } {
  if (!rec.replay) throw new RangeError('the record stores no replay of its test rows');
  const replay = partReplay(rec, part, cache);
  if (rec.challenge.task === 'ranking') {
    if (replay.kind !== 'curve') throw new RangeError(`a ranking record's replay must be a curve, not ${replay.kind}`);
    return { replay, scorer: curveReplayScorer(replay, rec.curve!.k, rec.ranking!.pool_rows, rec.ranking!.step) };
  }
  if (replay.kind !== 'classification') throw new RangeError(`a ${rec.challenge.task} record's replay must be classification, not ${replay.kind}`);
  return { replay, scorer: classificationReplayScorer(replay, rec.counts!.layout) };
}

/**
 * Every interval again from the replays: each part's bootstrap rerun over the part's rows (in
 * the order the evaluator drew them), with the record's bootstrap seed and resamples.
 */
function rescoreIntervals(
  rec: ResultRecord,
  notes: string[],
  differences: Difference[],
  check: (path: string, recorded: unknown, recomputed: unknown) => void,
): void {
  if (!rec.replay) {
    const why = missingReplayReason(rec);
    if (why === null) {
      differences.push({ path: 'replay', recorded: null, rerun: `a replay: every record of evaluator ${rec.evaluator?.version} stores one, so its intervals cannot be re-scored` });
      return;
    }
    notes.push(
      `intervals (ci95, bias) and group notes were not re-scored: the record stores no replay of the rows its bootstrap resamples ` +
        `(${why}); a full \`sieve verify\` (re-run) checks them`,
    );
    return;
  }
  const ranking = rec.challenge.task === 'ranking';
  const cache = new Map<string, Replay>();
  let intervals = 0;
  for (const { part, where, metrics, rows } of recordedTables(rec, [])) {
    let replay: Replay;
    let scorer: SeedScorer;
    try {
      ({ replay, scorer } = partScorer(rec, part, cache));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      differences.push({ path: `${where} (replay of part "${part}")`, recorded: 'a replay', rerun: `unreadable: ${err.message}` });
      continue;
    }
    check(`replay of part "${part}": rows`, rows, replay.n);
    check(`replay of part "${part}": seeds`, rec.seeds.length, replay.seedSet.length);
    if (replay.n !== rows || replay.seedSet.length !== rec.seeds.length) continue;
    const every = allRows(replay.n);
    // The replay must give the stored counts back: then means, stds and per-seed values agree too.
    for (let s = 0; s < scorer.seeds; s++) {
      const stored = ranking ? rec.curve!.parts[part]?.[s] : rec.counts!.parts[part]?.[s];
      check(`${ranking ? 'curve' : 'counts'}.parts.${part}[${s}] (from the replay)`, stored, scorer.counts!(s, every));
    }
    const fresh: Record<string, MetricSummary> = summariseSeeds(scorer, every, replay.n, rec.bootstrap);
    for (const name of Object.keys(metrics).sort()) {
      const f = fresh[name];
      if (!f) continue; // named by the counts check above
      check(`${where}.${name}.ci95`, metrics[name].ci95, f.ci95);
      check(`${where}.${name}.bias`, metrics[name].bias, f.bias);
      check(`${where}.${name}.ci_extended`, metrics[name].ci_extended, f.ci_extended);
      check(`${where}.${name}.note`, metrics[name].note, f.note);
      intervals++;
    }
  }
  notes.push(`${intervals} intervals re-scored from the record's replays (${rec.bootstrap.samples} resamples, seed ${rec.bootstrap.seed})`);
}
