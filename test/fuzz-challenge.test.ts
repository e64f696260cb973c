/**
 * Fuzzed challenge.yaml (issue 13): seeded mutations of the built-in challenges' YAML (alias
 * bombs, tags, duplicate keys, deep nesting, NaN/Inf, byte damage), parsed in process with
 * parseChallengeText and loadChallenge under a time and memory bound. Every case must end in
 * a clean accept or a SieveError with nothing left on disk.
 * Replay one case: SIEVE_FUZZ_SEED=<seed> SIEVE_FUZZ_CASES=1 npx vitest run test/fuzz-challenge.test.ts
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaseResult } from './fuzz/cases.ts';
import { FUZZ_FORMATS } from './fuzz/formats.ts';
import { describeFailure, fuzzSettings, isFailure, runFuzz, summarise } from './fuzz/harness.ts';

const settings = fuzzSettings('challenge', 800, 'test/fuzz-challenge.test.ts');
let results: CaseResult[] = [];

beforeAll(async () => {
  results = await runFuzz(settings);
  console.log(`fuzz challenge: ${JSON.stringify(summarise(results))}`);
}, 1_200_000);

describe('fuzzed challenges', () => {
  it('ran every seed', () => {
    expect(results.map((r) => r.seed)).toEqual(settings.seeds);
    // A case the generator could not build has no format: it fails here.
    expect(results.filter((r) => !FUZZ_FORMATS.challenge.includes(r.format)).map((r) => describeFailure(settings, r))).toEqual([]);
  });
  it.each(FUZZ_FORMATS.challenge)('%s: clean accept or SieveError, bounded, nothing left behind', (format) => {
    const bad = results.filter((r) => r.format === format && isFailure(r)).map((r) => describeFailure(settings, r));
    expect(bad).toEqual([]);
  });
});
