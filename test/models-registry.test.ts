/**
 * One model registry (evaluator/models/registry.ts): every list of model kinds and everything
 * the rest of sieve knows about a model (its parameters, defaults, seed, warm starts, iteration
 * limit) comes from the model's own declaration, so a new model is its file and a registry line.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { EvaluatorInputError, ModelSpecError } from '../evaluator/errors.ts';
import { MODEL_KINDS as KINDS_MODULE } from '../evaluator/models/kinds.ts';
import { describeModelSpec, getModel, iterationLimit, MODEL_KINDS, modelParams } from '../evaluator/models/registry.ts';
import { runFits } from '../evaluator/parallel.ts';
import { checkModelParams } from '../src/challenge/model-check.ts';
import { MODEL_KINDS as SCHEMA_KINDS } from '../src/challenge/schema.ts';
import { parseChallengeText } from '../src/challenge/load.ts';
import { defaultOosModel } from '../src/analysers/oos.ts';
import { register as registerAudit } from '../src/cli/audit.ts';
import { SieveError } from '../src/util/errors.ts';
import { modelDocs } from '../scripts/model-docs.ts';

const challengeWith = (kind: string, params = '{}') => `
name: toy
version: 1
title: Toy
pool: ./toy-pool
task: selection
budget: { rows: 10 }
model: { kind: ${kind}, params: ${params}, seeds: [0] }
metrics: { primary: accuracy, direction: max }
test: { public_fraction: 0.5 }
`;

describe('the model registry', () => {
  it('holds one model per kind of kinds.ts, each declaring itself consistently', () => {
    expect(MODEL_KINDS).toBe(KINDS_MODULE);
    for (const kind of MODEL_KINDS) {
      const m = getModel(kind);
      expect(m.kind).toBe(kind);
      // The defaults are valid values of the model's own schema, and parsing fills them all in.
      const defaults = modelParams(kind, {});
      expect(Object.keys(defaults)).toEqual(Object.keys(m.params));
      for (const [name, p] of Object.entries(m.params)) expect(defaults[name], `${kind}.${name}`).toBe(p.default);
      // The audit's defaults are valid parameters of the model.
      expect(() => modelParams(kind, m.auditDefaults.tabular)).not.toThrow();
      expect(() => modelParams(kind, m.auditDefaults.vectors)).not.toThrow();
      expect(describeModelSpec({ kind, params: {} })).toContain(m.title);
    }
    expect(() => getModel('forest')).toThrow(ModelSpecError);
  });

  it('refuses a bad parameter with a typed error naming the model and the parameter path', () => {
    for (const kind of MODEL_KINDS) {
      try {
        modelParams(kind, { no_such_param: 1 });
        throw new Error('expected a refusal');
      } catch (err) {
        expect(err).toBeInstanceOf(ModelSpecError);
        expect(err).toBeInstanceOf(EvaluatorInputError);
        expect((err as ModelSpecError).message).toMatch(new RegExp(`^${kind}: unknown parameter\\(s\\) no_such_param; known: ${Object.keys(getModel(kind).params).join(', ')}$`));
        expect((err as ModelSpecError).where).toBe('model.params.no_such_param');
      }
    }
    expect(() => modelParams('logistic-regression', { max_iter: 2.5 })).toThrow(/logistic-regression: parameter 'max_iter' must be an integer, got 2.5/);
    expect(() => modelParams('knn', { metric: 'manhattan' })).toThrow(/knn: parameter 'metric' must be one of euclidean, cosine, got "manhattan"/);
    expect(() => modelParams('logistic-regression', { precondition: 'yes' })).toThrow(/must be true or false/);
  });

  it('a bad parameter is a ModelSpecError from worker fits too (checked on the calling thread)', async () => {
    const train = { X: new Float32Array([0, 1, 1, 0]), n: 2, d: 2, y: new Int32Array([0, 1]), k: 2 };
    const job = { kind: 'knn' as const, params: { neighbours: 3 }, train, seed: 0 };
    await expect(runFits([job, { ...job, seed: 1 }], { threads: 2 })).rejects.toThrow(ModelSpecError);
  });

  it('the challenge schema, the load-time check, the audit choices and defaults all come from it', async () => {
    expect(SCHEMA_KINDS).toBe(MODEL_KINDS);
    const program = new Command();
    registerAudit(program);
    const option = program.commands.find((c) => c.name() === 'audit')!.options.find((o) => o.long === '--model')!;
    expect(option.argChoices).toEqual([...MODEL_KINDS]);
    for (const kind of MODEL_KINDS) {
      const spec = parseChallengeText(challengeWith(kind), 'toy.yaml');
      await expect(checkModelParams(spec, 'toy.yaml')).resolves.toBeUndefined();
      // Each kind's parameters are checked as that kind's (an unknown kind was once checked as an MLP).
      const bad = parseChallengeText(challengeWith(kind, '{ hidden_units: 3 }'), 'toy.yaml');
      await expect(checkModelParams(bad, 'toy.yaml')).rejects.toThrow(new RegExp(`invalid challenge spec: model.params.hidden_units: ${kind}: unknown parameter`));
      for (const featureKind of ['tabular', 'pixels', 'embedding'] as const) {
        const audit = defaultOosModel(kind, featureKind, 0);
        expect(audit.params).toEqual(featureKind === 'tabular' ? getModel(kind).auditDefaults.tabular : getModel(kind).auditDefaults.vectors);
      }
    }
    expect(() => parseChallengeText(challengeWith('forest'), 'toy.yaml')).toThrow(SieveError);
    expect(() => defaultOosModel('forest', 'tabular')).toThrow(new RegExp(`choose ${MODEL_KINDS.join(', ')}`));
  });

  it('declares the iteration limit that the convergence note compares fits with', () => {
    expect(iterationLimit({ kind: 'logistic-regression', params: {} })).toEqual({ param: 'max_iter', limit: 100 });
    expect(iterationLimit({ kind: 'logistic-regression', params: { max_iter: 7 } })).toEqual({ param: 'max_iter', limit: 7 });
    for (const kind of MODEL_KINDS) {
      const param = getModel(kind).iterationLimit;
      if (param !== undefined) expect(getModel(kind).params[param]?.type, `${kind}.${param}`).toBe('number');
    }
    // kNN has no iterations; the MLP always runs exactly its epochs (no convergence test).
    expect(iterationLimit({ kind: 'knn', params: {} })).toBeUndefined();
    expect(iterationLimit({ kind: 'mlp', params: { epochs: 3 } })).toBeUndefined();
  });

  it('the docs list what the registry declares (npm run docs:models rewrites them)', () => {
    for (const d of modelDocs()) expect(d.current, `${d.file} is out of date: npm run docs:models`).toBe(d.expected);
  });
});
