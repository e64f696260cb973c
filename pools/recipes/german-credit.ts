/**
 * Recipe of the built-in `german-credit` pool: all 1,000 rows of the Statlog German Credit
 * data (credit-g.arff as shipped with Weka), with a stratified seeded 30% test split and
 * three group (sensitive attribute) columns for fairness audits:
 *
 * - `sex`, derived from `personal_status`: 'male div/sep', 'male single', 'male mar/wid' →
 *   male; 'female div/dep/mar', 'female single' → female ('female single' is declared in the
 *   ARFF header but occurs in no row).
 * - `age_band`: '<25' when age < 25, else '>=25'.
 * - `foreign_worker`: 'yes' / 'no', as in the data.
 *
 * Features are the other 19 attributes: the 7 numeric ones as numbers (age among them, as
 * the usual credit-g models and DataPerf-style fairness audits keep it) and the 12 nominal
 * ones as categoricals with the ARFF's declared categories. `personal_status` stays a
 * feature (it is part of the classic data and carries marital status); `foreign_worker` is a
 * group column only, since a pool column is either a feature or a group. The derived `sex`
 * and `age_band` are never features.
 *
 *   node --import tsx pools/recipes/german-credit.ts [--from credit-g.arff] [--out DIR]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng, deriveSeed } from '../../compute/rng.ts';
import { parseArff, type ArffColumn, type ArffData } from '../../src/pool/formats/arff.ts';
import type { FeatureSpec, ManifestDraft } from '../../src/pool/manifest.ts';
import { type ColumnData, type PoolDraft, type TableData } from '../../src/pool/write.ts';
import { SieveError } from '../../src/util/errors.ts';
import { type BuiltinOptions, DEV_DATA, padId, pick, recipeMain, stratifiedSplit, writeBuiltin } from './common.ts';

export const CREDIT_DEFAULT_FROM = join(DEV_DATA, 'weka', 'credit-g.arff');
export const CREDIT_TEST_FRACTION = 0.3;
/** Seed of the train/test split; changing it changes the built-in pool. */
export const CREDIT_SEED = 19940101;
export const CREDIT_CLASSES = ['good', 'bad'];
/** Attributes that become group columns only (not features). */
const GROUP_ONLY = new Set(['foreign_worker']);

/** personal_status value → sex, per the attribute documentation (A91–A95) of the data set. */
export const SEX_OF_PERSONAL_STATUS: Record<string, 'male' | 'female'> = {
  'male div/sep': 'male',
  'female div/dep/mar': 'female',
  'male single': 'male',
  'male mar/wid': 'male',
  'female single': 'female',
};

export function ageBand(age: number): '<25' | '>=25' {
  return age < 25 ? '<25' : '>=25';
}

function need<T extends ArffColumn['type']>(a: ArffData, name: string, type: T, where: string): Extract<ArffColumn, { type: T }> {
  const c = a.columns.find((x) => x.name === name);
  if (!c) throw new SieveError(`attribute "${name}" not found: not the credit-g data?`, { where, examples: a.columns.map((x) => x.name) });
  if (c.type !== type) throw new SieveError(`attribute "${name}" is ${c.type}, expected ${type}`, { where });
  return c as Extract<ArffColumn, { type: T }>;
}

/** Parses credit-g.arff into the pool draft (all rows; test = stratified seeded 30%). */
export function germanCreditDraft(text: string, where = 'credit-g.arff'): PoolDraft {
  const a = parseArff(text, where);
  const cls = need(a, 'class', 'nominal', where);
  if (cls.categories.join(',') !== CREDIT_CLASSES.join(','))
    throw new SieveError(`class attribute declares {${cls.categories.join(', ')}}, expected {good, bad}`, { where });
  const status = need(a, 'personal_status', 'nominal', where);
  const age = need(a, 'age', 'numeric', where);
  const foreign = need(a, 'foreign_worker', 'nominal', where);
  const unknownStatus = status.categories.filter((s) => !(s in SEX_OF_PERSONAL_STATUS));
  if (unknownStatus.length) throw new SieveError('personal_status has values with no known sex', { where, examples: unknownStatus });
  const missing: string[] = [];
  for (let r = 0; r < a.rows; r++) {
    if (cls.values[r] === null) missing.push(`line ${a.lineOfRow[r]}: class`);
    if (status.values[r] === null) missing.push(`line ${a.lineOfRow[r]}: personal_status`);
    if (age.missing[r]) missing.push(`line ${a.lineOfRow[r]}: age`);
    if (foreign.values[r] === null) missing.push(`line ${a.lineOfRow[r]}: foreign_worker`);
  }
  if (missing.length) throw new SieveError('missing values where groups or labels are derived', { where, count: missing.length, examples: missing });

  const y = Int32Array.from(cls.values, (v) => CREDIT_CLASSES.indexOf(v!));
  const rows = stratifiedSplit(y, 2, Math.round(CREDIT_TEST_FRACTION * a.rows), createRng(deriveSeed(CREDIT_SEED, 'german-credit', 'test')));

  const features: FeatureSpec[] = [];
  for (const c of a.columns) {
    if (c.name === 'class' || GROUP_ONLY.has(c.name)) continue;
    if (c.type === 'numeric') features.push({ name: c.name, kind: 'numeric' });
    else if (c.type === 'nominal') features.push({ name: c.name, kind: 'categorical', categories: c.categories });
    else throw new SieveError(`attribute "${c.name}" is ${c.type}; credit-g has only numeric and nominal attributes`, { where });
  }

  const table = (idx: Int32Array): TableData => {
    const cols: ColumnData[] = [
      { name: 'id', type: 'VARCHAR', values: Array.from(idx, (i) => padId('row', i, 3)) },
      { name: 'label', type: 'VARCHAR', values: pick(cls.values, idx) },
    ];
    for (const f of features) {
      const c = a.columns.find((x) => x.name === f.name)!;
      if (c.type === 'numeric') cols.push({ name: c.name, type: 'DOUBLE', values: Float64Array.from(idx, (i) => c.values[i]) });
      else cols.push({ name: c.name, type: 'VARCHAR', values: pick(c.values as (string | null)[], idx) });
    }
    cols.push({ name: 'sex', type: 'VARCHAR', values: Array.from(idx, (i) => SEX_OF_PERSONAL_STATUS[status.values[i]!]) });
    cols.push({ name: 'age_band', type: 'VARCHAR', values: Array.from(idx, (i) => ageBand(age.values[i])) });
    cols.push({ name: 'foreign_worker', type: 'VARCHAR', values: pick(foreign.values, idx) });
    return { n: idx.length, columns: cols };
  };

  const count = (values: (string | null)[], v: string) => values.reduce((n, x) => n + (x === v ? 1 : 0), 0);
  const nGood = count(cls.values, 'good'), nBad = count(cls.values, 'bad'), nForeignNo = count(foreign.values, 'no');
  const manifest: ManifestDraft = {
    name: 'german-credit',
    version: '1',
    description: 'Statlog German Credit: 1,000 loan applicants described by 20 attributes, labelled good or bad credit risk; groups sex, age band and foreign worker.',
    source: 'Statlog (German Credit Data), UCI Machine Learning Repository (https://doi.org/10.24432/C5NC77); credit-g.arff as shipped with Weka (Debian package weka)',
    licence: 'CC BY 4.0',
    citation: 'Hans Hofmann. Statlog (German Credit Data). UCI Machine Learning Repository, 1994. https://doi.org/10.24432/C5NC77',
    task: 'classification',
    id_column: 'id',
    label_column: 'label',
    classes: CREDIT_CLASSES,
    features,
    groups: [
      { name: 'sex', description: "male / female, derived from personal_status ('male …' → male, 'female …' → female)" },
      { name: 'age_band', description: "'<25' when age < 25 years, else '>=25'" },
      { name: 'foreign_worker', description: "'yes' / 'no', the data set's foreign_worker attribute (not a feature here)" },
    ],
    datasheet: {
      motivation: 'A small, well-known tabular credit-scoring data set with sensitive attributes: the default pool for fairness audits (credit-fair).',
      composition:
        `All ${a.rows} rows (${nGood} good, ${nBad} bad). Test split: a stratified seeded ${CREDIT_TEST_FRACTION * 100}% (seed ${CREDIT_SEED}), ` +
        `${rows.test.length} rows; train holds the other ${rows.train.length}. Ids row-NNN give the 0-based row of the ARFF data section. ` +
        '7 numeric features, 12 categorical features (categories in the ARFF declaration order).',
      collection: 'Collected by a German bank and published by Prof. Hans Hofmann (Universität Hamburg) in 1994.',
      preprocessing:
        'Symbolic codes (A11…A202) are the readable values of the Weka ARFF. Groups derived as described in groups[]. ' +
        'foreign_worker is a group column and not a feature; personal_status and age remain features.',
      uses: 'Selection and fairness challenges (credit-fair), group-wise accuracy and demographic-parity audits.',
      known_issues: [
        "personal_status mixes sex and marital status; no row has 'female single', so single women cannot be told apart from married ones.",
        `Small and imbalanced: ${rows.test.length} test rows, ${Math.round((100 * nBad) / a.rows)}% bad; group 'foreign_worker = no' has only ${nForeignNo} rows in all.`,
        'The original data set ships a cost matrix (a bad applicant classified good costs 5×); accuracy ignores it.',
      ],
    },
    recipe: 'pools/recipes/german-credit.ts',
  };
  return { manifest, tables: { train: table(rows.train), test: table(rows.test) } };
}

export async function readCreditArff(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new SieveError(`cannot read credit-g.arff (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --from FILE`, { where: path });
  }
}

export async function buildGermanCredit(opts: BuiltinOptions = {}) {
  const from = opts.from ?? CREDIT_DEFAULT_FROM;
  const draft = germanCreditDraft(await readCreditArff(from), from);
  return writeBuiltin(draft, opts);
}

await recipeMain(import.meta.url, buildGermanCredit);
