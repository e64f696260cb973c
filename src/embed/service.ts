/**
 * `sieve embed`: adds an embedding column (FLOAT[d]) computed by a transformers.js model to a
 * pool, as a new version of it. Text columns: feature extraction, mean pooling over the
 * attention mask, L2-normalised. Pixel columns: image feature extraction (the model's
 * image_embeds, else pooler_output, else the first token), L2-normalised.
 *
 * Rows go through the model `batch` at a time; every `chunkRows` rows the finished vectors are
 * written to a chunk file in sieve's cache (tmp + rename), so an interrupted run keeps its
 * finished chunks and the next run with the same inputs reuses them. The chunks are keyed by
 * everything that decides their bits (the split file's sha256, the column, the model files'
 * sha256, dtype, batch and chunk sizes, library version) and removed once the pool is written.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SieveError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { cacheDir } from '../util/cache-dir.ts';
import { trackTemp } from '../util/temps.ts';
import { SIEVE_VERSION } from '../version.ts';
import type { ColumnData, TableData } from '../pool/duckdb.ts';
import type { EmbeddingRecord, FeatureSpec, ManifestDraft, PoolManifest } from '../pool/manifest.ts';
import { openPool, type Pool } from '../pool/open.ts';
import type { RawSplit } from '../pool/read.ts';
import { readRawSplitAnyVisibility, readTruth } from '../pool/hidden.ts';
import type { SplitName } from '../pool/types.ts';
import { writePool } from '../pool/write.ts';
import { loadTransformers, modelFiles, modelModalities, modelSearchDirs, resolveModel, type EmbedPipeline, type LoadedLibrary, type ResolvedModel, type Tensor } from './runtime.ts';

export const DEFAULT_BATCH = 32;
const CHUNK_FORMAT = 'sieve-embed-chunks/1';

export interface EmbedOptions {
  /** Pool name or directory. */
  pool: string;
  /** The text or pixels column to embed. */
  column: string;
  /** A model folder, or an id looked up under the model folders (runtime.ts). */
  model: string;
  /** Name of the new column (default `<column>_emb`). */
  as?: string;
  batch?: number;
  /** Rows per resumable chunk (default: the smallest multiple of `batch` ≥ 256). */
  chunkRows?: number;
  /** Where the new pool goes; default: replaces the pool in place (not for built-in pools). */
  out?: string;
  /** A name for the new pool (default: the source pool's). */
  name?: string;
  overwrite?: boolean;
  allowDownload?: boolean;
  /** ONNX Runtime intra-op threads (default: its own choice, all cores). */
  threads?: number;
  progress?: Progress;
  /** Stops the run between batches (finished chunks are kept). */
  signal?: AbortSignal;
  /** Called after each chunk is on disk (computed or reused). */
  onChunk?: (info: { split: SplitName; chunk: number; chunks: number; reused: boolean }) => void;
  onNote?: (note: string) => void;
}

export interface EmbedResult {
  manifest: PoolManifest;
  out: string;
  record: EmbeddingRecord;
  rows: number;
  /** Rows embedded in this run (not reused) and the seconds the model took for them. */
  computedRows: number;
  modelSeconds: number;
  reusedChunks: number;
  computedChunks: number;
}

const l2normalise = (v: Float32Array, d: number) => {
  for (let r = 0; r < v.length; r += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += v[r + j] * v[r + j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) v[r + j] *= inv;
  }
};

/** The model, loaded once, turning a batch of inputs into an n × d Float32Array. */
interface Embedder {
  embed(inputs: unknown[]): Promise<{ values: Float32Array; dim: number; pooling: string }>;
  dispose(): Promise<void>;
}

/**
 * The model's graph refused its inputs: the folder's ONNX file is another kind of model than its
 * tokenizer or preprocessor says (an image graph beside a tokenizer, say): the user's folder,
 * not a bug of sieve's.
 */
function modelFailed(err: unknown, model: ResolvedModel, modality: 'text' | 'image'): never {
  const first = String((err as Error)?.message ?? err).split('\n')[0].trim();
  if (!/missing|input/i.test(first)) throw err;
  throw new SieveError(`model "${model.given}" cannot embed ${modality === 'text' ? 'text' : 'images'}: its ONNX graph refused the ${modality === 'text' ? "tokenizer's" : "preprocessor's"} inputs (${first})`, {
    where: model.dir ?? model.given,
    examples: [
      modality === 'text' ? 'a text model takes input_ids and attention_mask; an image model takes pixel_values' : 'an image model takes pixel_values; a text model takes input_ids and attention_mask',
      'check that onnx/model.onnx belongs with the tokenizer or preprocessor files of this folder',
    ],
  });
}

async function openEmbedder(lib: LoadedLibrary, model: ResolvedModel, modality: 'text' | 'image', threads?: number): Promise<Embedder> {
  const t = lib.lib;
  const options: Record<string, unknown> = { dtype: model.dtype, device: 'cpu' };
  if (threads) options.session_options = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  let pipe: EmbedPipeline;
  try {
    pipe = await t.pipeline(modality === 'text' ? 'feature-extraction' : 'image-feature-extraction', model.id, options);
  } catch (err) {
    // transformers.js names a missing file in its own options' words (local_files_only, allowRemoteModels).
    const missing = /file was not found locally at "([^"]+)"/.exec((err as Error).message ?? '');
    if (missing)
      throw new SieveError(`cannot load model "${model.given}": its folder has no ${missing[1].split(/[\\/]/).pop()} (${modality === 'text' ? "a text model's tokenizer files: tokenizer.json and tokenizer_config.json" : "an image model's preprocessor_config.json"})`, {
        where: missing[1],
        examples: ['copy the whole model folder (docs/embeddings.md, "Bringing a real model"); nothing is downloaded without --allow-download'],
      });
    throw new SieveError(`cannot load model "${model.given}": ${(err as Error).message.split('\n')[0]}`, {
      where: model.dir ?? model.given,
      examples: [model.dir ? 'the folder needs config.json, onnx/model.onnx and the tokenizer or preprocessor files; docs/embeddings.md' : 'docs/embeddings.md'],
    });
  }
  if (modality === 'text') {
    return {
      async embed(texts) {
        const out = (await pipe(texts, { pooling: 'mean', normalize: true }).catch((err: unknown) => modelFailed(err, model, modality))) as Tensor;
        const dim = out.dims[out.dims.length - 1];
        const values = Float32Array.from(out.data);
        out.dispose?.();
        return { values, dim, pooling: 'mean' };
      },
      dispose: () => pipe.dispose(),
    };
  }
  return {
    async embed(images) {
      if (!pipe.processor) throw new SieveError(`model "${model.given}" has no image processor (preprocessor_config.json)`, { where: model.dir ?? model.given });
      const { pixel_values } = await pipe.processor(images);
      const outputs = await pipe.model({ pixel_values }).catch((err: unknown) => modelFailed(err, model, modality));
      let pooling: string;
      let tensor: Tensor;
      let values: Float32Array;
      let dim: number;
      if (outputs.image_embeds) [pooling, tensor] = ['image_embeds', outputs.image_embeds];
      else if (outputs.pooler_output) [pooling, tensor] = ['pooler_output', outputs.pooler_output];
      else if (outputs.last_hidden_state) [pooling, tensor] = ['cls', outputs.last_hidden_state];
      else throw new SieveError(`model "${model.given}" returned none of image_embeds, pooler_output, last_hidden_state`, { where: model.dir ?? model.given, examples: Object.keys(outputs) });
      if (tensor.dims.length === 2) {
        dim = tensor.dims[1];
        values = Float32Array.from(tensor.data);
      } else {
        // [batch, tokens, hidden]: the first token of each image (ViT's CLS).
        const [b, n, h] = tensor.dims;
        dim = h;
        values = new Float32Array(b * h);
        for (let i = 0; i < b; i++) values.set(tensor.data.subarray(i * n * h, i * n * h + h), i * h);
      }
      for (const o of Object.values(outputs)) o.dispose?.();
      pixel_values.dispose?.();
      l2normalise(values, dim);
      return { values, dim, pooling };
    },
    dispose: () => pipe.dispose(),
  };
}

/** Pixel rows as the RGB images the preprocessor expects. */
function toImages(lib: LoadedLibrary, blobs: (Uint8Array | null)[], f: FeatureSpec, from: number, to: number): unknown[] {
  const w = f.width!, h = f.height!, c = f.channels ?? 1;
  const out: unknown[] = [];
  for (let i = from; i < to; i++) {
    const src = blobs[i]!;
    const rgb = new Uint8ClampedArray(w * h * 3);
    for (let p = 0; p < w * h; p++) {
      if (c >= 3) {
        rgb[3 * p] = src[c * p];
        rgb[3 * p + 1] = src[c * p + 1];
        rgb[3 * p + 2] = src[c * p + 2];
      } else {
        const g = src[c * p];
        rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = g;
      }
    }
    out.push(new lib.lib.RawImage(rgb, w, h, 3));
  }
  return out;
}

/** The raw columns of a split as the writer takes them (labels back to class names). */
function toTable(raw: RawSplit, m: PoolManifest): TableData {
  const columns: ColumnData[] = [];
  for (const c of raw.columns) {
    if (c.name === 'label' && c.type === 'INTEGER') {
      columns.push({ name: 'label', type: 'VARCHAR', values: Array.from(c.values, (k) => m.classes[k]) });
      continue;
    }
    switch (c.type) {
      case 'VARCHAR':
        columns.push({ name: c.name, type: 'VARCHAR', values: c.values });
        break;
      case 'DOUBLE':
        columns.push({ name: c.name, type: 'DOUBLE', values: c.values });
        break;
      case 'FLOAT[]':
        columns.push({ name: c.name, type: 'FLOAT[]', dim: c.dim, values: c.values });
        break;
      case 'BLOB': {
        const f = m.features.find((x) => x.name === c.name)!;
        const per = f.width! * f.height! * (f.channels ?? 1);
        const flat = new Uint8Array(raw.n * per);
        c.values.forEach((b, i) => {
          if (!b || b.length !== per) throw new SieveError(`pixels "${c.name}" row ${i + 1} holds ${b?.length ?? 0} bytes, not ${per}`, { where: raw.path });
          flat.set(b, i * per);
        });
        columns.push({ name: c.name, type: 'BLOB', bytesPerRow: per, values: flat });
        break;
      }
      default:
        throw new SieveError(`column "${c.name}" (${c.type}) cannot be carried into the new pool`, { where: raw.path });
    }
  }
  return { n: raw.n, columns };
}

function nextVersion(v: string): string {
  return /^\d+$/.test(v) ? String(Number(v) + 1) : `${v}.1`;
}

/** Everything that decides a chunk's bits. */
function chunkKey(parts: { split: SplitName; splitSha256: string; column: string; modelSha256: string; dtype: string; batch: number; chunkRows: number; library: string }): string {
  return createHash('sha256').update(JSON.stringify({ format: CHUNK_FORMAT, ...parts })).digest('hex');
}

const chunkDir = (key: string) => join(cacheDir(), 'embed', key.slice(0, 32));

interface ChunkStore {
  dir: string;
  path(split: SplitName, chunk: number): string;
  read(split: SplitName, chunk: number, rows: number, dim: number): Float32Array | null;
  write(split: SplitName, chunk: number, values: Float32Array): void;
  dim: number | null;
  pooling: string | null;
  setShape(d: number, pooling: string): void;
}

function chunkStore(key: string): ChunkStore {
  const dir = chunkDir(key);
  mkdirSync(dir, { recursive: true });
  const statePath = join(dir, 'state.json');
  let dim: number | null = null;
  let pooling: string | null = null;
  try {
    const st = JSON.parse(readFileSync(statePath, 'utf8'));
    if (st.key === key && Number.isInteger(st.dim) && typeof st.pooling === 'string') [dim, pooling] = [st.dim, st.pooling];
  } catch {
    // No state yet (or unreadable): start from scratch.
  }
  if (dim === null) for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
  const path = (split: SplitName, chunk: number) => join(dir, `${split}-${String(chunk).padStart(6, '0')}.f32`);
  return {
    dir,
    path,
    get dim() {
      return dim;
    },
    get pooling() {
      return pooling;
    },
    setShape(d: number, p: string) {
      [dim, pooling] = [d, p];
      writeFileSync(statePath, JSON.stringify({ format: CHUNK_FORMAT, key, dim: d, pooling: p }) + '\n');
    },
    read(split, chunk, rows, d) {
      const p = path(split, chunk);
      if (!existsSync(p) || statSync(p).size !== rows * d * 4) return null;
      const b = readFileSync(p);
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    },
    write(split, chunk, values) {
      const p = path(split, chunk);
      const tmp = `${p}.tmp-${process.pid}`;
      const untrack = trackTemp(tmp);
      writeFileSync(tmp, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      renameSync(tmp, p);
      untrack();
    },
  };
}

/** Embeds `opts.column` of every split of the pool and writes the new pool version. */
export async function embedPool(opts: EmbedOptions): Promise<EmbedResult> {
  const pool: Pool = await openPool(opts.pool);
  const m = pool.manifest;
  const feature = m.features.find((f) => f.name === opts.column);
  if (!feature)
    throw new SieveError(`pool "${pool.name}" has no feature column "${opts.column}"`, {
      where: '--column',
      examples: [`columns: ${m.features.map((f) => `${f.name} (${f.kind})`).join(', ')}`],
    });
  if (feature.kind !== 'text' && feature.kind !== 'pixels')
    throw new SieveError(`column "${opts.column}" is ${feature.kind}; sieve embed takes a text or a pixels column`, { where: '--column' });
  const as = opts.as ?? `${opts.column}_emb`;
  if (m.features.some((f) => f.name === as) || m.groups.some((g) => g.name === as) || as === 'id' || as === 'label')
    throw new SieveError(`the pool already has a column "${as}"; name the new one with --as NAME`, { where: '--as' });
  const batch = opts.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw new SieveError(`--batch must be a whole number from 1 to 4096, got ${opts.batch}`, { where: '--batch' });
  const chunkRows = opts.chunkRows ?? batch * Math.ceil(256 / batch);
  if (!Number.isInteger(chunkRows) || chunkRows < batch || chunkRows % batch !== 0) throw new SieveError(`chunk rows must be a multiple of the batch (${batch}), got ${chunkRows}`, { where: 'chunkRows' });
  if (opts.out === undefined && pool.builtin)
    throw new SieveError(`"${pool.name}" is a built-in pool and is never changed in place; say where the new version goes with --out DIR (or --name NAME)`, { where: 'sieve embed' });

  const modality = feature.kind === 'text' ? 'text' : 'image';
  const model = resolveModel(opts.model, { allowDownload: opts.allowDownload });
  if (model.dir && !modelModalities(model.dir).has(modality))
    throw new SieveError(
      `model "${opts.model}" takes ${modality === 'image' ? 'text (it has a tokenizer, no preprocessor_config.json)' : 'images (it has preprocessor_config.json, no tokenizer)'}, but column "${opts.column}" holds ${modality === 'text' ? 'text' : 'pixels'}`,
      { where: model.dir },
    );
  const lib = await loadTransformers();
  configureLibrary(lib, model, !!opts.allowDownload);
  const embedder = await openEmbedder(lib, model, modality, opts.threads);
  // A download (--allow-download) has put the files in place by now.
  if (!model.dir) {
    const found = resolveModel(opts.model);
    model.dir = found.dir;
    model.root = found.root;
  }
  const weights = await modelFiles(model.dir!, model.dtype);

  const splits: SplitName[] = m.files.some((f) => f.role === 'test') ? ['train', 'test'] : ['train'];
  const tables: Partial<Record<SplitName, TableData>> = {};
  let dim = 0;
  let pooling = '';
  const keys: string[] = [];
  let computedRows = 0, modelSeconds = 0, reusedChunks = 0, computedChunks = 0, rows = 0;
  try {
    for (const split of splits) {
      const file = m.files.find((f) => f.role === split)!;
      const raw = await readRawSplitAnyVisibility(pool, split);
      const source = raw.columns.find((c) => c.name === opts.column)!;
      const key = chunkKey({ split, splitSha256: file.sha256, column: opts.column, modelSha256: weights.sha256, dtype: model.dtype, batch, chunkRows, library: lib.version });
      keys.push(key);
      const store = chunkStore(key);
      const n = raw.n;
      const chunks = Math.ceil(n / chunkRows);
      const parts: Float32Array[] = [];
      const label = `embedding ${pool.name}/${split}`;
      // The total counts only rows this run embeds, so a resumed run's rate and time left are its own.
      let toEmbed = n;
      opts.progress?.start(toEmbed, label);
      for (let c = 0; c < chunks; c++) {
        const from = c * chunkRows, to = Math.min(n, from + chunkRows);
        const reused = store.dim !== null ? store.read(split, c, to - from, store.dim) : null;
        if (reused) {
          dim = store.dim!;
          pooling = store.pooling!;
          parts.push(reused);
          reusedChunks++;
          toEmbed -= to - from;
          opts.progress?.start(toEmbed, label);
          opts.onChunk?.({ split, chunk: c, chunks, reused: true });
          continue;
        }
        let values: Float32Array | null = null;
        for (let b = from; b < to; b += batch) {
          if (opts.signal?.aborted) throw new SieveError('sieve embed was interrupted; finished chunks are kept and the next run reuses them', { where: store.dir, exitCode: 130 });
          const e = Math.min(to, b + batch);
          const inputs = modality === 'text' ? (source.values as string[]).slice(b, e) : toImages(lib, source.values as (Uint8Array | null)[], feature, b, e);
          const t0 = performance.now();
          const out = await embedder.embed(inputs);
          modelSeconds += (performance.now() - t0) / 1000;
          if (out.values.length !== (e - b) * out.dim)
            throw new SieveError(`model "${opts.model}" returned ${out.values.length} values for ${e - b} rows of dim ${out.dim}`, { where: model.dir! });
          if (!values) {
            if (dim === 0) dim = out.dim;
            if (out.dim !== dim) throw new SieveError(`model "${opts.model}" returned dim ${out.dim} after ${dim}`, { where: model.dir! });
            if (store.dim === null) store.setShape(dim, out.pooling);
            values = new Float32Array((to - from) * dim);
          }
          for (let k = 0; k < out.values.length; k++)
            if (!Number.isFinite(out.values[k])) throw new SieveError(`model "${opts.model}" returned a non-finite value for row ${b + Math.floor(k / dim) + 1} of ${split}`, { where: model.dir! });
          values.set(out.values, (b - from) * dim);
          pooling = out.pooling;
          computedRows += e - b;
          opts.progress?.tick(e - b);
        }
        store.write(split, c, values!);
        parts.push(values!);
        computedChunks++;
        opts.onChunk?.({ split, chunk: c, chunks, reused: false });
      }
      opts.progress?.stop();
      rows += n;
      const all = new Float32Array(n * dim);
      parts.forEach((p, i) => all.set(p, i * chunkRows * dim));
      const table = toTable(raw, m);
      table.columns.push({ name: as, type: 'FLOAT[]', dim, values: all });
      tables[split] = table;
    }
  } finally {
    await embedder.dispose().catch(() => {});
  }

  const record: EmbeddingRecord = {
    column: as,
    source_column: opts.column,
    modality,
    model: model.id,
    model_sha256: weights.sha256,
    model_files: weights.files,
    dtype: model.dtype,
    pooling,
    normalised: true,
    dim,
    batch,
    library: '@huggingface/transformers',
    library_version: lib.version,
    derived_from: { name: m.name, version: m.version, content_hash: m.content_hash },
  };
  const describe = modality === 'text' ? 'mean-pooled over the tokens, L2-normalised' : `${pooling === 'cls' ? 'first token' : pooling}, L2-normalised`;
  const draft: ManifestDraft = {
    name: opts.name ?? m.name,
    version: nextVersion(m.version),
    description: m.description,
    source: m.source,
    licence: m.licence,
    citation: m.citation,
    task: m.task,
    id_column: m.id_column,
    label_column: m.label_column,
    classes: m.classes,
    features: [...m.features, { name: as, kind: 'embedding', dim, description: `embedding of "${opts.column}" by ${model.id} (${describe})` }],
    groups: m.groups,
    datasheet: {
      ...m.datasheet,
      preprocessing:
        `${m.datasheet.preprocessing}${m.datasheet.preprocessing ? ' ' : ''}` +
        `Column "${as}" (FLOAT[${dim}]) was added by sieve embed ${SIEVE_VERSION}: "${opts.column}" embedded by model ${model.id} (files sha256 ${weights.sha256}, ${model.dtype}) ` +
        `with @huggingface/transformers ${lib.version}, ${describe}, batches of ${batch}; from pool ${m.name} version ${m.version} (content hash ${m.content_hash}).`,
      embeddings: [...(m.datasheet.embeddings ?? []), record],
    },
    ...(m.recipe !== undefined ? { recipe: m.recipe } : {}),
  };
  const truth = await readTruth(pool);
  const extra: { truth?: TableData; duplicates?: TableData } = {};
  if (truth && truth.ids.length)
    extra.truth = {
      n: truth.ids.length,
      columns: [
        { name: 'id', type: 'VARCHAR', values: truth.ids },
        { name: 'clean_label', type: 'VARCHAR', values: Array.from(truth.cleanLabels, (k) => m.classes[k]) },
        { name: 'noisy', type: 'BOOLEAN', values: truth.noisy },
      ],
    };
  if (truth?.duplicatePairs)
    extra.duplicates = {
      n: truth.duplicatePairs.length,
      columns: [
        { name: 'a', type: 'VARCHAR', values: truth.duplicatePairs.map((p) => p.a) },
        { name: 'b', type: 'VARCHAR', values: truth.duplicatePairs.map((p) => p.b) },
        { name: 'kind', type: 'VARCHAR', values: truth.duplicatePairs.map((p) => p.kind) },
        { name: 'cross_split', type: 'BOOLEAN', values: Uint8Array.from(truth.duplicatePairs, (p) => (p.crossSplit ? 1 : 0)) },
      ],
    };
  const testFile = m.files.find((f) => f.role === 'test');
  const out = opts.out ?? pool.dir;
  const manifest = await writePool(
    out,
    { manifest: draft, tables: { train: tables.train!, ...(tables.test ? { test: tables.test } : {}), ...extra }, testVisibility: testFile?.visibility },
    { overwrite: opts.out === undefined ? true : opts.overwrite, progress: opts.progress, option: opts.out === undefined ? 'the pool folder' : '--out' },
  );
  // Written: the chunks have served their purpose.
  for (const key of keys) rmSync(chunkDir(key), { recursive: true, force: true });
  return { manifest, out, record, rows, computedRows, modelSeconds, reusedChunks, computedChunks };
}

/** Offline unless allowed: local files only, no hub cache, quiet ONNX Runtime. */
function configureLibrary(lib: LoadedLibrary, model: ResolvedModel, allowDownload: boolean): void {
  const env = lib.lib.env;
  env.allowLocalModels = true;
  env.useBrowserCache = false;
  if (model.root) {
    env.localModelPath = model.root;
    env.allowRemoteModels = false;
    env.useFSCache = false;
  } else if (allowDownload) {
    // Downloads land where an id is looked up next time (<models>/<id>/...), so later runs are offline.
    const dir = modelSearchDirs()[0];
    mkdirSync(dir, { recursive: true });
    env.localModelPath = dir;
    env.cacheDir = dir;
    env.useFSCache = true;
    env.allowRemoteModels = true;
  }
}
