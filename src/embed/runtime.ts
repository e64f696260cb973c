/**
 * The optional embedding stack: @huggingface/transformers (with ONNX Runtime for Node) is not
 * a dependency of sieve's default install (it adds about 470 MB). It lives in its own package,
 * `extras/embed/` (own lockfile, every version pinned), installed on demand with
 * EMBED_INSTALL_COMMAND; this module finds it there (or, failing that, next to sieve), and
 * finds models on disk: nothing is downloaded unless the caller allows it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SieveError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';
import { hashFileStreamed } from '../util/hash-cache.ts';
import { userDataDir } from '../pool/resolve.ts';

/** The pinned library version (also in extras/embed/package.json and its lockfile). */
export const TRANSFORMERS_VERSION = '4.3.2';
export const EXTRAS_DIR = join(PACKAGE_ROOT, 'extras', 'embed');

/** The one line that installs the embedding stack, from the working folder. */
export function installCommand(extrasDir = EXTRAS_DIR): string {
  // Relative inside the clone (the README's form), absolute from anywhere else.
  const inClone = relative(PACKAGE_ROOT, process.cwd());
  const cwdInside = inClone === '' || (!inClone.startsWith('..') && !isAbsolute(inClone));
  const where = cwdInside ? relative(process.cwd(), extrasDir) || '.' : extrasDir;
  return `ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix ${where.includes(' ') ? JSON.stringify(where) : where}`;
}

/** Where the optional part puts the library, or null when it is not installed there. */
function extrasEntry(extrasDir = EXTRAS_DIR): string | null {
  const pkgPath = join(extrasDir, 'node_modules', '@huggingface', 'transformers', 'package.json');
  if (!existsSync(pkgPath)) return null;
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  const entry = pkg?.exports?.node?.import?.default;
  if (typeof entry !== 'string') return null;
  return join(dirname(pkgPath), entry);
}

/** What sieve uses of @huggingface/transformers (its types are not installed by default). */
export interface Transformers {
  env: {
    version: string;
    allowRemoteModels: boolean;
    allowLocalModels: boolean;
    localModelPath: string;
    useFSCache: boolean;
    useBrowserCache: boolean;
    cacheDir: string | null;
    logLevel: number;
    backends: { onnx: { logLevel?: string; wasm?: unknown } };
  };
  pipeline(task: string, model: string, options: Record<string, unknown>): Promise<EmbedPipeline>;
  RawImage: new (data: Uint8ClampedArray, width: number, height: number, channels: 1 | 2 | 3 | 4) => unknown;
}

export interface Tensor {
  dims: number[];
  type: string;
  data: Float32Array;
  dispose?(): void;
}

export interface EmbedPipeline {
  (input: unknown[], options: Record<string, unknown>): Promise<Tensor | Record<string, Tensor>>;
  model: (inputs: Record<string, unknown>) => Promise<Record<string, Tensor>>;
  processor?: (images: unknown[]) => Promise<{ pixel_values: Tensor }>;
  tokenizer?: unknown;
  dispose(): Promise<void>;
}

/** A specifier TypeScript does not try to resolve (the package is optional). */
const TRANSFORMERS = '@huggingface/transformers';

export interface LoadedLibrary {
  lib: Transformers;
  version: string;
  /** Where it was loaded from (for the datasheet and messages). */
  from: string;
}

let loaded: Promise<LoadedLibrary> | null = null;

/** True when the embedding stack can be loaded (extras/embed installed, or next to sieve). */
export function embeddingStackInstalled(): boolean {
  if (extrasEntry()) return true;
  try {
    import.meta.resolve(TRANSFORMERS);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads @huggingface/transformers once, or says how to install it. `extrasDir` (tests) looks
 * in another folder than the package's extras/embed, and never falls back to node_modules.
 */
export function loadTransformers(opts: { extrasDir?: string } = {}): Promise<LoadedLibrary> {
  if (opts.extrasDir) return loadFrom(opts.extrasDir, false);
  loaded ??= loadFrom(EXTRAS_DIR, true).catch((err) => {
    loaded = null;
    throw err;
  });
  return loaded;
}

async function loadFrom(extrasDir: string, fallback: boolean): Promise<LoadedLibrary> {
  {
    const entry = extrasEntry(extrasDir);
    let lib: Transformers;
    let from: string;
    if (entry) {
      lib = (await import(pathToFileURL(entry).href)) as Transformers;
      from = dirname(dirname(entry));
    } else {
      try {
        if (!fallback) throw new Error('no fallback');
        lib = (await import(TRANSFORMERS)) as Transformers;
        from = 'node_modules/@huggingface/transformers';
      } catch {
        throw new SieveError(
          `the embedding stack (@huggingface/transformers ${TRANSFORMERS_VERSION} with ONNX Runtime, about 470 MB) is not installed; install it once with:\n    ${installCommand(extrasDir)}`,
          { where: extrasDir, exitCode: 2 },
        );
      }
    }
    const version = String(lib.env?.version ?? 'unknown');
    return { lib, version, from };
  }
}

// ---------------------------------------------------------------------------------------
// Models on disk.

/** Folders searched for a model given by id, nearest first. */
export function modelSearchDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.SIEVE_MODELS) return env.SIEVE_MODELS.split(':').filter(Boolean).map((d) => resolve(d));
  return [join(userDataDir(env), 'models')];
}

export interface ModelFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ResolvedModel {
  /** What the user gave (`--model`). */
  given: string;
  /** The model id transformers.js loads (the folder's name, or the hub id). */
  id: string;
  /** The folder transformers.js reads it from (env.localModelPath), or null before a download. */
  root: string | null;
  /** Absolute path of the model folder, or null before a download. */
  dir: string | null;
  /** ONNX weights variant: fp32 (onnx/model.onnx …) or, when a folder has only those, q8 (onnx/model_quantized.onnx …). */
  dtype: 'fp32' | 'q8';
}

const looksLikePath = (s: string) => s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || isAbsolute(s) || existsSync(s);

/** ONNX files of a dtype: fp32 `<part>.onnx` (model, vision_model, text_model, …), q8 `<part>_quantized.onnx`; with their external data. */
const DTYPE_SUFFIX = /_(quantized|fp16|q4|q4f16|int8|uint8|bnb4)\.onnx/;
function isWeightsFile(name: string, dtype: 'fp32' | 'q8'): boolean {
  const m = /^(.+?\.onnx)(_data(_\d+)?)?$/.exec(name);
  if (!m) return false;
  return dtype === 'q8' ? m[1].endsWith('_quantized.onnx') : !DTYPE_SUFFIX.test(m[1]);
}

function weightsIn(dir: string): 'fp32' | 'q8' | null {
  const files = existsSync(join(dir, 'onnx')) ? readdirSync(join(dir, 'onnx')) : [];
  if (files.some((f) => f.endsWith('.onnx') && isWeightsFile(f, 'fp32'))) return 'fp32';
  if (files.some((f) => f.endsWith('.onnx') && isWeightsFile(f, 'q8'))) return 'q8';
  return null;
}

function howToProvide(given: string, searched: string[], env?: NodeJS.ProcessEnv): string[] {
  const home = modelSearchDirs(env)[0];
  const id = !looksLikePath(given) && given.includes('/') ? given : '<owner>/<name>';
  return [
    `looked in: ${searched.join(', ')}`,
    'a model folder holds config.json, tokenizer.json + tokenizer_config.json (text) or preprocessor_config.json (images), and onnx/model.onnx',
    `give it with --model DIR, or copy it to ${join(home, id)} (or set $SIEVE_MODELS)`,
    'or fetch it once with --allow-download, on a machine with internet access (docs/embeddings.md)',
  ];
}

/** Finds `--model` on disk: a folder, or an id under the model folders. */
export function resolveModel(given: string, opts: { allowDownload?: boolean; env?: NodeJS.ProcessEnv } = {}): ResolvedModel {
  const searched: string[] = [];
  const candidates: string[] = [];
  if (looksLikePath(given)) candidates.push(resolve(given.replace(/^~(?=\/)/, process.env.HOME ?? '~')));
  else for (const d of modelSearchDirs(opts.env)) candidates.push(join(d, given));
  for (const dir of candidates) {
    searched.push(dir);
    if (!existsSync(dir)) continue;
    if (!statSync(dir).isDirectory()) throw new SieveError(`--model ${given}: ${dir} is a file, not a model folder`, { where: dir, examples: howToProvide(given, searched, opts.env) });
    if (!existsSync(join(dir, 'config.json')))
      throw new SieveError(`--model ${given}: ${dir} has no config.json, so it is not a transformers.js model folder`, { where: dir, examples: howToProvide(given, searched, opts.env) });
    const dtype = weightsIn(dir);
    if (!dtype)
      throw new SieveError(`--model ${given}: ${dir} has no ONNX weights (onnx/model.onnx, or another onnx/*.onnx such as vision_model.onnx, or their _quantized forms)`, { where: dir, examples: howToProvide(given, searched, opts.env) });
    const id = looksLikePath(given) ? basename(dir) : given;
    const root = looksLikePath(given) ? dirname(dir) : dir.slice(0, dir.length - given.length - 1);
    return { given, id, root, dir, dtype };
  }
  if (opts.allowDownload && !looksLikePath(given)) return { given, id: given, root: null, dir: null, dtype: 'fp32' };
  throw new SieveError(`model "${given}" not found${looksLikePath(given) ? '' : ' (nothing is downloaded without --allow-download)'}`, {
    where: searched.join(', '),
    examples: howToProvide(given, searched, opts.env),
  });
}

/**
 * The files of a model folder that transformers.js may read (the JSON and text files at the
 * top, and every ONNX file of the chosen dtype with its external data: a CLIP folder's
 * vision_model.onnx as well as model.onnx), each with its sha256, and one sha256 over the
 * list: what the datasheet records.
 */
export async function modelFiles(dir: string, dtype: 'fp32' | 'q8'): Promise<{ files: ModelFile[]; sha256: string }> {
  const paths = readdirSync(dir)
    .filter((f) => /\.(json|txt|model)$/.test(f) && statSync(join(dir, f)).isFile())
    .sort();
  const onnxDir = join(dir, 'onnx');
  const onnx = readdirSync(onnxDir)
    .filter((f) => isWeightsFile(f, dtype))
    .sort()
    .map((f) => `onnx/${f}`);
  const files: ModelFile[] = [];
  for (const p of [...paths, ...onnx]) {
    const { sha256, bytes } = await hashFileStreamed(join(dir, p));
    files.push({ path: p, bytes, sha256 });
  }
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.sha256}  ${f.path}\n`);
  return { files, sha256: h.digest('hex') };
}

/**
 * What inputs a model folder can prepare: text with a tokenizer, images with an image
 * preprocessor (a CLIP folder has both). A folder with neither is taken as text, where
 * transformers.js names the tokenizer file it misses.
 */
export function modelModalities(dir: string): Set<'text' | 'image'> {
  const out = new Set<'text' | 'image'>();
  if (existsSync(join(dir, 'tokenizer.json')) || existsSync(join(dir, 'tokenizer_config.json'))) out.add('text');
  if (existsSync(join(dir, 'preprocessor_config.json'))) out.add('image');
  if (!out.size) out.add('text');
  return out;
}
