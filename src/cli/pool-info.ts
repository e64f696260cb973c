import type { Command } from 'commander';
import { printJson, printTable, printWrapped } from '../util/output.ts';
import { SieveError } from '../util/errors.ts';
import { TEXT_DIMS, TEXT_FEATURISER } from '../../compute/text-features.ts'; // import-free

export function registerPoolInfo(pool: Command): void {
  pool
    .command('info')
    .description('rows per split, classes, features, groups, file hashes and datasheet of a pool')
    .argument('<pool>', 'built-in pool name or pool directory')
    .option('--verify', 'recompute every file hash and fail if one differs')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean; verify?: boolean }) => {
      const { openPool } = await import('../pool/open.ts');
      const p = await openPool(name);
      const m = p.manifest;
      const verified = opts.verify ? await (await import('../pool/manifest.ts')).verifyPool(p.dir, m) : undefined;
      const info = {
        name: m.name,
        version: m.version,
        dir: p.dir,
        builtin: p.builtin,
        description: m.description,
        source: m.source,
        licence: m.licence,
        citation: m.citation,
        task: m.task,
        splits: m.splits,
        classes: m.classes.map((c) => ({
          name: c,
          train: m.splits.train.class_counts[c] ?? 0,
          ...(m.splits.test ? { test: m.splits.test.class_counts[c] ?? 0 } : {}),
        })),
        features: m.features,
        groups: m.groups,
        files: m.files,
        content_hash: m.content_hash,
        created_by: m.created_by,
        recipe: m.recipe,
        datasheet: m.datasheet,
        ...(verified ? { verified } : {}),
      };
      if (opts.json) printJson(info);
      else {
        printWrapped(`${m.name} (version ${m.version}) — ${m.description}`);
        console.log(`dir: ${p.dir}${p.builtin ? ' (built-in)' : ''}`);
        printWrapped(`source: ${m.source}\nlicence: ${m.licence}${m.citation ? `\ncitation: ${m.citation}` : ''}`);
        console.log(`content hash: ${m.content_hash}`);
        printTable(
          ['class', 'train', ...(m.splits.test ? ['test'] : [])],
          info.classes.map((c) => [c.name, c.train, ...(m.splits.test ? [(c as { test?: number }).test] : [])]),
        );
        printTable(
          ['feature', 'kind', 'shape'],
          m.features.map((f) => [
            f.name,
            f.kind,
            f.kind === 'embedding' ? `FLOAT[${f.dim}]` : f.kind === 'pixels' ? `${f.width}×${f.height}×${f.channels ?? 1}` : f.kind === 'categorical' ? `${f.categories!.length} categories` : f.kind === 'text' ? `hashed TF-IDF, ${TEXT_DIMS} dims (${TEXT_FEATURISER})` : '',
          ]),
        );
        if (m.groups.length) printTable(['group', 'description'], m.groups.map((g) => [g.name, g.description ?? '']));
        printTable(
          ['file', 'role', 'visibility', 'rows', 'bytes', 'sha256', ...(verified ? ['verified'] : [])],
          m.files.map((f) => [
            f.path,
            f.role,
            f.visibility,
            f.rows,
            f.bytes,
            f.sha256,
            ...(verified ? [verified.files.find((v) => v.path === f.path)?.ok ? 'ok' : verified.files.find((v) => v.path === f.path)?.problem] : []),
          ]),
        );
        const d = m.datasheet;
        printTable(
          ['datasheet', ''],
          [
            ['motivation', d.motivation],
            ['composition', d.composition],
            ['collection', d.collection],
            ['preprocessing', d.preprocessing],
            ['uses', d.uses],
            ['known issues', d.known_issues.map((k) => `- ${k}`).join('\n')],
            ...(d.injected ? [['injected', JSON.stringify(d.injected).replaceAll(',"', ', "')]] : []),
          ],
        );
      }
      if (verified && !verified.ok)
        throw new SieveError('pool files do not match their recorded hashes', {
          where: p.dir,
          examples: verified.files.filter((f) => !f.ok).map((f) => `${f.path}: ${f.problem}`),
        });
    });
}
