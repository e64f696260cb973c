/**
 * The CLI side of the fuzz suite: turns a generated case into a `sieve` command line (a pool
 * import, a `challenge check` against a throw-away challenge over a pool with the case's ids,
 * or a `challenge info`), so a sample of cases can be run through the real binary.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePool } from '../../src/pool/write.ts';
import type { FuzzCase, SubmissionCall } from './cases.ts';

const DATASHEET = { motivation: 'fuzz', composition: 'ids', collection: 'generated', preprocessing: 'none', uses: 'tests', known_issues: [] as string[] };

/** A pool holding exactly the case's train ids and classes (one numeric feature). */
async function writeCasePool(dir: string, k: SubmissionCall): Promise<void> {
  const n = k.poolIds.length;
  await writePool(join(dir, 'pool'), {
    manifest: {
      name: 'fuzz-pool', version: '1', description: 'fuzz', source: 'generated', licence: 'CC0-1.0', citation: '', task: 'classification',
      id_column: 'id', label_column: 'label', classes: k.classNames, features: [{ name: 'x', kind: 'numeric' }], groups: [], datasheet: DATASHEET,
    },
    tables: {
      train: {
        n,
        columns: [
          { name: 'id', type: 'VARCHAR', values: k.poolIds },
          { name: 'label', type: 'VARCHAR', values: k.poolIds.map((_, i) => k.classNames[i % k.classNames.length]) },
          { name: 'x', type: 'DOUBLE', values: Float64Array.from({ length: n }, (_, i) => i) },
        ],
      },
    },
  });
}

function challengeYaml(k: SubmissionCall): string {
  const budget = k.task === 'selection' ? `{ rows: ${k.budget} }` : k.task === 'relabel' ? `{ corrections: ${k.budget} }` : `{ max_length: ${k.budget} }`;
  const metrics = k.task === 'ranking' ? '{ primary: auc, direction: max }' : '{ primary: accuracy, direction: max }';
  const baselines = { selection: '[random]', relabel: '[no-corrections]', ranking: '[random-order]' }[k.task];
  return [
    'name: fuzz-check', 'version: 1', 'title: fuzz', 'description: fuzz', 'pool: ./pool', `task: ${k.task}`, `budget: ${budget}`,
    'model:', '  kind: logistic-regression', '  params: { l2: 1.0, max_iter: 10 }', '  seeds: [0]', `metrics: ${metrics}`,
    'test: { public_fraction: 0.5, seed: 0 }', 'limits: { submissions_per_day: 5 }', `baselines: ${baselines}`, '',
  ].join('\n');
}

/** Writes what the command needs besides the case's files; returns the arguments after `sieve`. */
export async function cliArgs(c: FuzzCase, dir: string): Promise<{ args: string[]; extra: string[] }> {
  const at = (n: string) => join(dir, n);
  const k = c.call;
  if (k.kind === 'import') {
    const args = ['pool', 'import', at(k.input), '--out', at('pool')];
    if (k.format) args.push('--format', k.format);
    if (k.labels) args.push('--labels', at(k.labels));
    if (k.testFile) args.push('--test', at(k.testFile));
    if (k.testLabels) args.push('--test-labels', at(k.testLabels));
    if (k.testFraction !== undefined) args.push('--test-fraction', String(k.testFraction));
    if (k.idColumn) args.push('--id-column', k.idColumn);
    if (k.labelColumn) args.push('--label-column', k.labelColumn);
    if (k.groupColumns) args.push('--group-columns', k.groupColumns.join(','));
    if (k.classes) args.push('--classes', k.classes.join(','));
    if (k.delimiter) args.push('--delimiter', k.delimiter);
    return { args, extra: [] };
  }
  if (k.kind === 'submission') {
    const chDir = at('challenge');
    await writeCasePool(chDir, k);
    writeFileSync(join(chDir, 'challenge.yaml'), challengeYaml(k));
    const args = ['challenge', 'check', chDir, at(k.file)];
    if (k.format) args.push('--format', k.format);
    return { args, extra: ['challenge'] };
  }
  return { args: ['challenge', 'info', at(k.file), '--json'], extra: [] };
}
