/** One door from (family, seed) to a case. */
import type { Family, FuzzCase } from './cases.ts';
import { importCase, type GenContext } from './import-cases.ts';
import { submissionCase } from './submission-cases.ts';
import { challengeCase } from './challenge-cases.ts';

export type { GenContext };

export async function generateCase(family: Family, seed: number, ctx: GenContext): Promise<FuzzCase> {
  switch (family) {
    case 'import':
      return importCase(seed, ctx);
    case 'submission':
      return submissionCase(seed, ctx);
    case 'challenge':
      return challengeCase(seed);
  }
}
