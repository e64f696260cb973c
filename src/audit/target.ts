/**
 * What an audit looks at, before any analyser runs: which pool (directly, or through a
 * challenge), its train split, the test split when the caller may see it, the rows a
 * submission selects (`--subset`, read under the challenge's task), and the out-of-sample model
 * (a challenge brings its fixed model). The analysers never see a challenge or a submission:
 * src/audit/service.ts hands them splits, rows and a model spec.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadChallenge, openChallengePool, BUILTIN_CHALLENGES_DIR } from '../challenge/load.ts';
import type { Challenge } from '../challenge/schema.ts';
import { openPool, readSplit, listBuiltinPools, type Pool } from '../pool/read.ts';
import type { PoolSplit } from '../pool/types.ts';
import { readSubmission, rulesFor, validateSubmission, type SubmissionRules } from '../submission/index.ts';
import type { ReadSubmission } from '../submission/parse.ts';
import { TASKS } from '../tasks/index.ts';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import type { AuditPoolInfo, OosModelHeader } from '../analysers/audit.ts';
import { defaultOosModel, describeModel, describeOosFeatures, oosFeatureKind, sameOosModel, type AuditModelSpec } from '../analysers/oos.ts';

export interface AuditTarget {
  pool: Pool;
  /** Set when the argument named a challenge; its model spec drives the OOS predictions. */
  challenge?: Challenge;
}

function looksLikePath(s: string): boolean {
  return s.includes('/') || s.includes('\\') || s.startsWith('.') || s.endsWith('.yaml') || s.endsWith('.yml');
}

/**
 * Resolves `sieve audit <pool | challenge>`. A path is a challenge when it is (or holds) a
 * challenge.yaml, otherwise a pool directory. A bare name is a built-in challenge first (it
 * brings its model spec and resolves to its pool), then a built-in pool or a directory.
 */
export async function resolveAuditTarget(nameOrPath: string): Promise<AuditTarget> {
  const isChallenge = looksLikePath(nameOrPath)
    ? (() => {
        const p = resolve(nameOrPath);
        if (!existsSync(p)) return false;
        return statSync(p).isFile() ? /\.ya?ml$/.test(p) : existsSync(join(p, 'challenge.yaml'));
      })()
    : existsSync(join(BUILTIN_CHALLENGES_DIR, nameOrPath, 'challenge.yaml'));
  if (isChallenge) {
    const challenge = await loadChallenge(nameOrPath);
    return { pool: await openChallengePool(challenge), challenge };
  }
  try {
    return { pool: await openPool(nameOrPath) };
  } catch (err) {
    if (!(err instanceof SieveError) || looksLikePath(nameOrPath)) throw err;
    throw new SieveError(`"${nameOrPath}" is neither a pool nor a challenge`, {
      where: 'POOL|CHALLENGE',
      examples: [`built-in pools: ${listBuiltinPools().join(', ') || '(none)'}`, 'or give a pool directory / challenge.yaml path'],
    });
  }
}

export interface AuditSplits {
  train: PoolSplit;
  test?: PoolSplit;
  /** Why there is no test split, for the report (leakage checks need it). */
  testNote?: string;
}

/**
 * Reads the train split and, when allowed, the test split. The test split of a challenge pool
 * is evaluator-only: it is read (through src/pool/hidden.ts) only with `organiser`; a pool
 * whose test file is participant-visible (the auditor's own imported data) is read directly.
 */
export async function readAuditSplits(pool: Pool, opts: { organiser?: boolean; progress?: Progress } = {}): Promise<AuditSplits> {
  const train = await readSplit(pool, 'train', { progress: opts.progress });
  const testFile = pool.manifest.files.find((f) => f.role === 'test');
  if (!testFile) return { train, testNote: `Pool "${pool.name}" has no test split: train/test leakage was not checked.` };
  if (testFile.visibility === 'participant') return { train, test: await readSplit(pool, 'test') };
  if (opts.organiser) {
    // The evaluator's door, opened only on the organiser's explicit request.
    const { readHiddenSplit } = await import('../pool/hidden.ts');
    return { train, test: await readHiddenSplit(pool, 'test') };
  }
  return {
    train,
    testNote: `The test split of "${pool.name}" is evaluator-only and was not read: train/test leakage was not checked (organisers: add --organiser).`,
  };
}

export function auditPoolInfo(target: AuditTarget, splits: AuditSplits): AuditPoolInfo {
  const { pool, challenge } = target;
  const m = pool.manifest;
  return {
    name: pool.name,
    path: pool.dir,
    contentHash: m.content_hash,
    ...(challenge ? { challenge: challenge.name } : {}),
    classes: m.classes,
    trainRows: splits.train.n,
    testRows: splits.test ? splits.test.n : null,
    features: splits.train.d,
    groups: m.groups.map((g) => g.name),
    hasPixels: !!splits.train.pixels,
    hasText: !!splits.train.text && Object.keys(splits.train.text).length > 0,
  };
}

export interface OosModelChoice {
  spec: AuditModelSpec;
  header: OosModelHeader;
}

export interface OosModelRequest {
  /** `--model KIND`: the audit's model of that kind, fitted to the pool's feature kind. */
  model?: string;
  /** `--groups-as-features`: every group column (true) or the named ones, one-hot, as features too. */
  groupsAsFeatures?: true | string[];
  seed: number;
}

/**
 * The out-of-sample model of an audit, and the header that states it. Without --model, a
 * challenge's fixed model is used (as the evaluator runs it, on the pool's features); a pool
 * reached directly gets the audit's default for its feature kind (oos.ts defaultOosModel).
 * When the challenge's model is the pool's default, the pool's spec itself is used, so
 * `sieve audit CHALLENGE` and `sieve audit POOL` give bit-identical figures; when it differs,
 * the header's note says how and which flag gives the pool's numbers.
 */
export function resolveOosModel(target: AuditTarget, train: PoolSplit, req: OosModelRequest): OosModelChoice {
  const features = target.pool.manifest.features;
  const featureKind = oosFeatureKind(features);
  const groupNames = Object.keys(train.groups);
  let groups: string[] = [];
  if (req.groupsAsFeatures === true) {
    if (groupNames.length === 0) throw new SieveError(`pool "${target.pool.name}" has no group columns to use as features`, { where: '--groups-as-features' });
    groups = groupNames;
  } else if (req.groupsAsFeatures) {
    const unknown = req.groupsAsFeatures.filter((g) => !groupNames.includes(g));
    if (unknown.length) {
      throw new SieveError(`not a group column of pool "${target.pool.name}": ${unknown.join(', ')}`, {
        where: '--groups-as-features', examples: [`group columns: ${groupNames.join(', ') || '(none)'}`], count: unknown.length,
      });
    }
    groups = [...new Set(req.groupsAsFeatures)];
  }
  const withGroups = (s: AuditModelSpec): AuditModelSpec => (groups.length ? { ...s, groupFeatures: groups } : s);
  const challenge = target.challenge;
  const poolModel = withGroups(defaultOosModel(req.model ?? challenge?.model.kind ?? 'logistic-regression', featureKind, req.seed, { hasText: features.some((f) => f.kind === 'text'), dims: train.d }));
  const header = (spec: AuditModelSpec, source: OosModelHeader['source'], note?: string): OosModelChoice => {
    const f = describeOosFeatures(spec, features, train);
    return {
      spec,
      header: {
        source,
        ...(challenge ? { challenge: challenge.name } : {}),
        model: describeModel(spec),
        features: f.description,
        dims: f.dims,
        groupFeatures: f.groups,
        ...(note ? { note } : {}),
      },
    };
  };
  if (challenge && !req.model) {
    const fixed = withGroups({
      kind: challenge.model.kind, params: challenge.model.params, preprocess: challenge.model.preprocess, seeds: [req.seed], features: 'raw',
    });
    if (sameOosModel(fixed, poolModel)) return header(poolModel, 'challenge');
    const pool = describeOosFeatures(poolModel, features, train);
    return header(fixed, 'challenge',
      `challenge ${challenge.name}'s fixed model differs from the pool's audit model ` +
      `(${describeModel(poolModel)} on ${pool.description}), so figures differ from the pool's own audit` +
      // A challenge named as its pool (synth-teach, fashion-debug): the name means the challenge here.
      (target.pool.name === challenge.name ? '' : ` (\`sieve audit ${target.pool.name}\`)`) +
      `; add --model ${poolModel.kind} to audit with the pool's model`);
  }
  if (req.model) return header(poolModel, '--model', challenge ? `chosen by --model instead of challenge ${challenge.name}'s fixed model` : undefined);
  return header(poolModel, 'pool default');
}


/**
 * The train rows a submission file selects, in pool order. Any submission format is accepted
 * (parsed and strictly validated by src/submission). Through a challenge, the rows are read as
 * a submission of the challenge's task under its budget (src/tasks/: a selection's ids, a
 * relabel's corrected rows, a ranking's ranked ids); a pool reached directly has no task of its
 * own, so the file is read as a selection (a list of ids) of any size.
 */
export async function readSubsetIndices(file: string, train: PoolSplit, challenge?: Challenge): Promise<Int32Array> {
  return subsetIndicesOf(await readSubmission(file), train, challenge);
}

/** readSubsetIndices for a submission already read (an upload's bytes, a strategy's output): the same validation. */
export function subsetIndicesOf(read: ReadSubmission, train: PoolSplit, challenge?: Challenge): Int32Array {
  const rules: SubmissionRules = challenge
    ? rulesFor(challenge, train)
    : { task: TASKS.selection.name, poolIds: train.ids, classNames: train.classNames };
  const submission = validateSubmission(read.raw, rules, { where: read.path, sha256: read.sha256 });
  return subsetRows(submission.indices);
}

/** A submission's rows in pool order: the subset audit's row order (and so its tables) never depends on the file's order. */
export function subsetRows(indices: Int32Array): Int32Array {
  return Int32Array.from(indices).sort();
}
