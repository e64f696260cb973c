/**
 * Recipe of the built-in `synth-teach` pool: a small synthetic pool with every kind of
 * problem planted and recorded, for teaching and the synth-teach challenge — symmetric and
 * class-pair asymmetric label noise (mixed), exact and near duplicates including copies that
 * leak into the test split, 4:1 class imbalance, and a group attribute whose group 'b' has
 * three times the label noise and a class prior tilted towards c0.
 *
 *   node --import tsx pools/recipes/synth-teach.ts [--out DIR]
 */
import { generateSynthPool, synthDraft, type SynthOptions } from '../../src/pool/synth.ts';
import type { PoolDraft } from '../../src/pool/write.ts';
import { type BuiltinOptions, recipeMain, writeBuiltin } from './common.ts';
import { SieveError } from '../../src/util/errors.ts';

export const SYNTH_TEACH_OPTIONS: SynthOptions = {
  name: 'synth-teach',
  rows: 5000,
  testRows: 1000,
  dim: 16,
  classes: 4,
  separation: 2.5,
  noise: 0.2,
  noiseType: 'mixed',
  exactDups: 60,
  nearDups: 60,
  nearSigma: 0.05,
  crossSplitFraction: 0.25,
  imbalance: 4,
  groupFraction: 0.3,
  groupNoiseFactor: 3,
  groupPriorShift: 0.5,
  seed: 4242,
};

export const SYNTH_TEACH_MOTIVATION =
  'Teaching: a pool small enough to inspect by hand where every problem is known — label noise of two kinds, duplicates, train/test leakage, imbalance, and a group with more noise and a different base rate.';

export function synthTeachDraft(): PoolDraft {
  const p = generateSynthPool(SYNTH_TEACH_OPTIONS);
  const draft = synthDraft(p);
  draft.manifest = {
    ...draft.manifest,
    description: `Teaching pool with every planted problem: ${draft.manifest.description}`,
    datasheet: {
      ...draft.manifest.datasheet,
      motivation: SYNTH_TEACH_MOTIVATION,
    },
    recipe: 'pools/recipes/synth-teach.ts',
  };
  return draft;
}

export async function buildSynthTeach(opts: BuiltinOptions = {}) {
  if (opts.from !== undefined) throw new SieveError('synth-teach is generated; it takes no --from', { where: '--from' });
  return writeBuiltin(synthTeachDraft(), opts);
}

await recipeMain(import.meta.url, buildSynthTeach);
