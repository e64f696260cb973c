/**
 * Fuzzed importers (issue 13): seeded mutations of valid CSV, TSV, JSON Lines, Parquet, Arrow,
 * IDX (raw and gzipped) and ARFF files, each imported in process under a time and memory
 * bound. Every case must end in a clean accept or a SieveError with nothing left on disk.
 * Replay one case: SIEVE_FUZZ_SEED=<seed> SIEVE_FUZZ_CASES=1 npx vitest run test/fuzz-import.test.ts
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaseResult } from './fuzz/cases.ts';
import { FUZZ_FORMATS } from './fuzz/formats.ts';
import { describeFailure, fuzzSettings, isFailure, runFuzz, summarise } from './fuzz/harness.ts';

const settings = fuzzSettings('import', 400, 'test/fuzz-import.test.ts');
let results: CaseResult[] = [];

beforeAll(async () => {
  results = await runFuzz(settings);
  console.log(`fuzz import: ${JSON.stringify(summarise(results))}`);
}, 1_200_000);

describe('fuzzed importers', () => {
  it('ran every seed', () => {
    expect(results.map((r) => r.seed)).toEqual(settings.seeds);
    // A case the generator could not build has no format: it fails here.
    expect(results.filter((r) => !FUZZ_FORMATS.import.includes(r.format)).map((r) => describeFailure(settings, r))).toEqual([]);
  });
  it.each(FUZZ_FORMATS.import)('%s: clean accept or SieveError, bounded, nothing left behind', (format) => {
    const bad = results.filter((r) => r.format === format && isFailure(r)).map((r) => describeFailure(settings, r));
    expect(bad).toEqual([]);
  });
});
