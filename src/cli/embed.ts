/**
 * `sieve embed <pool> --column COL --model DIR|ID`: adds an embedding column computed by a
 * transformers.js model as a new version of the pool (src/embed/service.ts). The embedding
 * stack is an optional install (src/embed/runtime.ts says the command when it is missing).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { SieveError } from '../util/errors.ts';
import { printJson, printTable } from '../util/output.ts';
import { progressBar } from '../util/progress.ts';

const whole = (option: string) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new SieveError(`${option} needs a whole number ≥ 1, got "${v}"`, { where: option });
  return n;
};

export function register(program: Command): void {
  program
    .command('embed')
    .description('add an embedding column (FLOAT[d]) of a text or pixels column, computed offline by a transformers.js ONNX model, as a new version of the pool')
    .argument('<pool>', 'pool name or directory')
    .requiredOption('--column <col>', 'the text or pixels column to embed')
    .requiredOption('--model <dir|id>', 'a model folder (config.json, tokenizer or preprocessor files, onnx/model.onnx), or an id such as Xenova/all-MiniLM-L6-v2 looked up in $SIEVE_MODELS, else <user data folder>/models')
    .option('--as <name>', 'name of the new column (default: COL_emb)')
    .option('--batch <n>', 'rows per model call (default 32)', whole('--batch'))
    .option('--out <dir>', 'write the new version here (default: replace the pool in place; built-in pools need --out or --name)')
    .option('--name <name>', 'name of the new pool; without --out it goes to the workspace')
    .option('--overwrite', 'replace --out if it is an existing pool')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)', whole('--threads'))
    .option('--allow-download', 'fetch a model id missing on disk from huggingface.co into the model folder (never without this flag)')
    .option('--json', 'print the new manifest and the run figures as JSON')
    .addHelpText(
      'after',
      `
Text columns: feature extraction, mean pooling over the tokens, L2-normalised. Pixel columns: image
feature extraction (image_embeds, else pooler_output, else the first token), L2-normalised. The
datasheet records the model, the sha256 of its files, the pooling and the library version.
Interrupted runs keep their finished chunks (in sieve's cache folder) and the next run reuses them.
The embedding stack is installed separately (about 470 MB); see docs/embeddings.md.`,
    )
    .action(async (poolArg: string, o: { column: string; model: string; as?: string; batch?: number; out?: string; name?: string; overwrite?: boolean; threads?: number; allowDownload?: boolean; json?: boolean }) => {
      if (o.out !== undefined && o.out.trim() === '') throw new SieveError('--out is empty: say where the pool goes', { where: '--out' });
      let out = o.out;
      if (o.name !== undefined) {
        const { validatePoolName, workspacePoolDir } = await import('../pool/resolve.ts');
        validatePoolName(o.name, '--name');
        out ??= workspacePoolDir(o.name);
      }
      const progress = progressBar({ enabled: !o.json });
      // Ctrl-C keeps the chunks already embedded: say how to pick them up.
      (await import('../util/temps.ts')).setInterruptNote('sieve embed: the chunks already embedded are kept in the cache; the same command resumes from them');
      const { embedPool } = await import('../embed/service.ts');
      const t0 = performance.now();
      const r = await embedPool({
        pool: poolArg,
        column: o.column,
        model: o.model,
        as: o.as,
        batch: o.batch,
        out,
        name: o.name,
        overwrite: o.overwrite,
        threads: o.threads,
        allowDownload: o.allowDownload,
        progress,
      });
      progress.stop();
      const seconds = (performance.now() - t0) / 1000;
      const rate = r.modelSeconds > 0 ? r.computedRows / r.modelSeconds : null;
      if (o.json)
        return printJson({
          manifest: r.manifest,
          out: resolve(r.out),
          embedding: r.record,
          run: { rows: r.rows, computed_rows: r.computedRows, reused_chunks: r.reusedChunks, computed_chunks: r.computedChunks, model_seconds: r.modelSeconds, rows_per_second: rate, seconds },
        });
      const rec = r.record;
      console.log(`wrote pool "${r.manifest.name}" version ${r.manifest.version} to ${resolve(r.out)} (content hash ${r.manifest.content_hash})`);
      printTable(
        ['column', 'from', 'dim', 'model', 'pooling', 'library'],
        [[rec.column, rec.source_column, rec.dim, `${rec.model} (sha256 ${rec.model_sha256.slice(0, 12)}…, ${rec.dtype})`, `${rec.pooling}, L2-normalised`, `${rec.library} ${rec.library_version}`]],
      );
      const reused = r.reusedChunks ? `; ${r.reusedChunks} finished chunk${r.reusedChunks > 1 ? 's' : ''} of an earlier run reused` : '';
      console.log(
        `${r.rows.toLocaleString('en')} rows, ${r.computedRows.toLocaleString('en')} embedded in this run` +
          (rate !== null ? ` at ${Math.round(rate).toLocaleString('en')} rows/s (model time ${r.modelSeconds.toFixed(1)} s)` : '') +
          `${reused}; ${seconds.toFixed(1)} s in all`,
      );
    });
}
