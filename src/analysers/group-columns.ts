/**
 * `--group-columns a,b`: the columns the fairness analyser judges, chosen at audit time among
 * the pool's group columns and its categorical feature columns, without re-importing (the
 * CLI passes the names to fairness as `columns`). A
 * categorical feature is read back from its one-hot block (a row with no category set is a
 * missing value). Numeric, embedding, pixel and text columns are not groups; asking for one,
 * or for a column the pool lacks, is an error that names every such column and the choices.
 */
import type { FeatureSpec } from '../pool/manifest.ts';
import type { PoolSplit } from '../pool/types.ts';
import { SieveError } from '../util/errors.ts';

/** The split with the named categorical feature columns added to its group columns. */
export function withGroupColumns(split: PoolSplit, features: readonly FeatureSpec[], names: readonly string[]): PoolSplit {
  const problems: string[] = [];
  const groups: PoolSplit['groups'] = { ...split.groups };
  const categorical = features.filter((f) => f.kind === 'categorical').map((f) => f.name);
  const dup = names.filter((c, i) => names.indexOf(c) !== i);
  if (dup.length) problems.push(`named twice: ${[...new Set(dup)].join(', ')}`);
  for (const name of names) {
    if (name in groups) continue;
    const f = features.find((x) => x.name === name);
    if (!f) { problems.push(`"${name}" is not a column of the pool`); continue; }
    if (f.kind !== 'categorical') { problems.push(`"${name}" is a ${f.kind} column, not categorical (bin it into categories when importing)`); continue; }
    const cats = f.categories ?? [];
    const start = split.featureNames.indexOf(`${name}=${cats[0]}`);
    if (start < 0 || cats.some((c, j) => split.featureNames[start + j] !== `${name}=${c}`)) {
      problems.push(`"${name}": its one-hot columns are not in the split`);
      continue;
    }
    const values: (string | null)[] = new Array(split.n);
    for (let i = 0; i < split.n; i++) {
      const o = i * split.d + start;
      let v: string | null = null;
      for (let j = 0; j < cats.length; j++) if (split.features[o + j] === 1) { v = cats[j]; break; }
      values[i] = v;
    }
    groups[name] = values;
  }
  if (problems.length) {
    throw new SieveError(`--group-columns: ${problems.length} problem${problems.length > 1 ? 's' : ''}`, {
      where: '--group-columns',
      examples: [...problems, `group columns: ${Object.keys(split.groups).join(', ') || 'none'}; categorical columns: ${categorical.join(', ') || 'none'}`],
      count: problems.length,
    });
  }
  return { ...split, groups };
}
