import type { Command } from 'commander';
import { resolve } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { printJson, printTable } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';
import type { FeatureKind } from '../pool/manifest.ts';
import { DEFAULT_NA_VALUES, FEATURE_KINDS, IMPORT_FORMATS, MISSING_POLICIES, type ImportFormat, type MissingPolicy } from '../pool/choices.ts';

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** `image` is not a stored kind: it marks a CSV column of image paths (decoded into pixels). */
const KIND_CHOICES: string[] = [...FEATURE_KINDS, 'image'];

function parseKind(spec: string, prev: Record<string, FeatureKind | 'image'> = {}): Record<string, FeatureKind | 'image'> {
  const m = /^(.+)=([a-z]+)$/.exec(spec);
  if (!m || !KIND_CHOICES.includes(m[2]))
    throw new SieveError(`--kind needs COLUMN=KIND with KIND one of ${KIND_CHOICES.join(', ')}, got "${spec}"`, { where: '--kind' });
  return { ...prev, [m[1]]: m[2] as FeatureKind | 'image' };
}

function parseImageSize(s: string): { width: number; height: number; channels: number } {
  const m = /^(\d+)x(\d+)(?:x(\d+))?$/.exec(s);
  if (!m) throw new SieveError(`--image-size needs WIDTHxHEIGHT or WIDTHxHEIGHTxCHANNELS, got "${s}"`, { where: '--image-size' });
  return { width: Number(m[1]), height: Number(m[2]), channels: Number(m[3] ?? 1) };
}

export function registerPoolImport(pool: Command): void {
  pool
    .command('import')
    .description('import CSV/TSV, Parquet, JSON Lines, Arrow IPC, IDX, ARFF, or a folder of images (one sub-folder per class), into a new pool directory (checked row by row; nothing is written on error)')
    .argument('<file>', 'input file (format from the extension unless --format), or a folder of class folders of PNG/JPEG/WebP images')
    .option('--out <dir>', 'pool directory to create (or give --name to import into the workspace)')
    .option('--format <format>', `input format: ${IMPORT_FORMATS.join(', ')}`)
    .option('--name <name>', 'pool name; without --out the pool goes to the workspace ($SIEVE_WORKSPACE, else the nearest .sieve/ here or above, else your user data folder: `sieve workspace`) and NAME then opens it from any folder')
    .option('--id-column <col>', 'column of unique row ids, or "none" to number rows row-1, row-2, … (default: id)')
    .option('--label-column <col>', 'column of class labels (default: label)')
    .option('--feature-columns <cols>', 'comma-separated feature columns (default: all others)', list)
    .option('--group-columns <cols>', 'comma-separated group (sensitive attribute) columns', list)
    .option('--kind <col=kind>', 'force a feature kind (numeric, categorical, text, embedding, pixels); repeatable. COL=image: a CSV column of image paths (relative to the CSV), decoded into pixels', parseKind)
    .option('--classes <names>', 'comma-separated class names in index order; other labels are an error (IDX: names of labels 0, 1, …)', list)
    .option('--labels <file>', 'IDX: the labels file that goes with the images file')
    .option('--test <file>', 'a second file holding the test split')
    .option('--test-labels <file>', 'IDX: the labels file of --test')
    .option('--test-fraction <f>', 'hold out this fraction of each class as the test split', Number)
    .option('--seed <n>', 'seed for --test-fraction', Number, 0)
    .option('--hidden-test', 'make the test split evaluator-only (for a challenge scored on it: participants and the server never get its rows; `sieve audit --organiser` reads it)')
    .option('--delimiter <c>', 'CSV field delimiter (default "," for .csv, tab for .tsv, sniffed for other names)')
    .option('--header', 'CSV: line 1 is a header (default for .csv/.tsv; sniffed for other names)')
    .option('--no-header', 'CSV: line 1 is data (columns then come from --columns, or are named col1..colN)')
    .option('--columns <names>', 'CSV: comma-separated column names, for a file without a header (or to rename its header)', list)
    .option('--decimal <c>', 'CSV/TSV: decimal separator of numbers, "." (default) or "," (reads "1,5" as 1.5; then "1.5" is not a number)')
    .option('--skip-lines <n>', 'CSV/TSV: skip this many lines at the top of FILE before its header or data (a title or comment line)', Number)
    .option('--test-skip-lines <n>', 'CSV/TSV: the same for the --test file (UCI adult.test: 1, for its "|1x3 Cross validator" line)', Number)
    .option('--keep-whitespace', 'keep spaces around text values (default: trimmed, so " <=50K" reads as "<=50K")')
    .option('--na-values <values>', `comma-separated values that mean "missing", added to the defaults (${DEFAULT_NA_VALUES.map((v) => JSON.stringify(v)).join(', ')})`, (v: string) => v.split(',').map((x) => x.trim()))
    .option('--no-default-na', 'only the --na-values given mean "missing" (empty CSV fields always do)')
    .option('--missing <policy>', `missing numeric values: ${MISSING_POLICIES.join(', ')} (impute: the train median, recorded in the datasheet)`, 'error')
    .option('--image-size <WxH[xC]>', 'geometry of binary pixel columns the file does not describe; for image folders and lists, the size images are stored at (C: 3 colour, 1 grey)', parseImageSize)
    .option('--description <text>', 'pool description')
    .option('--licence <text>', 'licence of the data')
    .option('--source <text>', 'where the data comes from')
    .option('--overwrite', 'replace --out if it exists')
    .option('--json', 'print the written manifest as JSON')
    .action(async (file: string, o: Record<string, any>) => {
      if (o.format && !IMPORT_FORMATS.includes(o.format))
        throw new SieveError(`--format must be one of ${IMPORT_FORMATS.join(', ')}, got "${o.format}"`, { where: '--format' });
      if (!MISSING_POLICIES.includes(o.missing))
        throw new SieveError(`--missing must be one of ${MISSING_POLICIES.join(', ')}, got "${o.missing}"`, { where: '--missing' });
      if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new SieveError('--seed needs a whole number', { where: '--seed' });
      if (o.out !== undefined && String(o.out).trim() === '') throw new SieveError('--out is empty: say where the pool goes', { where: '--out' });
      const { validatePoolName, workspacePoolDir } = await import('../pool/resolve.ts');
      if (o.name !== undefined) validatePoolName(o.name, '--name');
      if (o.out === undefined && o.name === undefined) throw new SieveError('say where the pool goes: --out DIR, or --name NAME for a workspace pool', { where: 'sieve pool import' });
      const intoWorkspace = o.out === undefined;
      if (intoWorkspace) o.out = workspacePoolDir(o.name);
      // Never launder a challenge's hidden split into a participant pool.
      const { assertParticipantSource } = await import('../pool/guard.ts');
      for (const [option, path] of [['FILE', file], ['--test', o.test], ['--labels', o.labels], ['--test-labels', o.testLabels]] as const)
        if (path) await assertParticipantSource(path, option === 'FILE' ? path : `${option} ${path}`);
      const progress = progressBar({ enabled: !o.json });
      const { stat } = await import('node:fs/promises');
      const imageColumns = Object.entries((o.kind ?? {}) as Record<string, string>).filter(([, k]) => k === 'image').map(([c]) => c);
      if (imageColumns.length > 1) throw new SieveError(`--kind COL=image names one column of image paths, got ${imageColumns.join(', ')}`, { where: '--kind' });
      const isFolder = await stat(file).then((s) => s.isDirectory(), () => false);
      // What every importer takes; the image importer reads a folder or a list of paths besides.
      const common = {
        input: file,
        out: o.out,
        name: o.name,
        idColumn: o.idColumn,
        labelColumn: o.labelColumn,
        classes: o.classes,
        testFraction: o.testFraction,
        hiddenTest: o.hiddenTest === true,
        seed: o.seed,
        imageSize: o.imageSize,
        description: o.description,
        licence: o.licence,
        source: o.source,
        overwrite: o.overwrite,
        option: intoWorkspace ? ('--name' as const) : ('--out' as const),
        progress,
        onNote: (note: string) => process.stderr.write(`note: ${note}\n`),
      };
      const m = isFolder || imageColumns.length
        ? await (await import('../pool/import/images.ts')).importImages({ ...common, pathColumn: imageColumns[0] })
        : await (await import('../pool/import/index.ts')).importPool({
            ...common,
            format: o.format as ImportFormat | undefined,
            featureColumns: o.featureColumns,
            groupColumns: o.groupColumns,
            kinds: o.kind,
            labels: o.labels,
            testFile: o.test,
            testLabels: o.testLabels,
            delimiter: o.delimiter,
            header: o.header,
            columns: o.columns,
            decimal: o.decimal,
            skipLines: o.skipLines,
            testSkipLines: o.testSkipLines,
            keepWhitespace: o.keepWhitespace,
            naValues: o.naValues,
            defaultNaValues: o.defaultNa,
            missing: o.missing as MissingPolicy,
          });
      progress.stop();
      if (o.json) return printJson(m);
      console.log(`wrote pool "${m.name}" to ${resolve(o.out)} (content hash ${m.content_hash})`);
      if (intoWorkspace) console.log(`workspace pool: \`${m.name}\` names it wherever a pool goes (sieve pool list shows where it lives)`);
      printTable(
        ['split', 'rows', ...m.classes],
        Object.entries(m.splits).map(([s, st]) => [s, st!.rows, ...m.classes.map((c) => st!.class_counts[c])]),
      );
      printTable(
        ['feature', 'kind', 'detail'],
        m.features.map((f) => [f.name, f.kind, f.dim ? `dim ${f.dim}` : f.width ? `${f.width}×${f.height}×${f.channels ?? 1}` : f.categories ? f.categories.join(', ') : '']),
      );
    });
}
