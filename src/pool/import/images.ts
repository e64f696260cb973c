/**
 * `sieve pool import DIR` (one sub-folder per class of PNG, JPEG and WebP files) and
 * `sieve pool import list.csv --kind COL=image` (a CSV naming image files, relative to the
 * CSV's folder): every image is decoded with sharp (libvips), turned upright by its EXIF
 * orientation, resized to the declared `--image-size` (cover: scaled to fill, centre crop),
 * flattened onto white where it has transparency, converted to sRGB or grey, and stored as a
 * pixels column (`image`) of width × height × channels bytes. The audit report draws its
 * thumbnails from these pixels.
 *
 * Every problem is collected before anything is written (unreadable files, corrupt images,
 * formats other than PNG/JPEG/WebP, animations, colour images declared grey, paths outside
 * the folder, stray files), each with its count and first files.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SieveError } from '../../util/errors.ts';
import { checkOutputPath } from '../../util/outpath.ts';
import type { TableData } from '../duckdb.ts';
import type { PoolManifest } from '../manifest.ts';
import { poolReplaceBlocker, writePool } from '../write.ts';
import { ProblemList } from './problems.ts';
import { MAX_EXAMPLES } from './text-scan.ts';
import { poolNameFor, stratifiedParts, type ImportOptions } from './index.ts';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];
const FORMATS = new Set(['png', 'jpeg', 'webp']);

export interface ImageSize {
  width: number;
  height: number;
  channels: number;
}

/** The table importer's options that mean the same here (a CSV list's id column defaults to "id" when present, else the path), plus where the images are. */
export interface ImageImportOptions
  extends Pick<ImportOptions, 'out' | 'name' | 'idColumn' | 'labelColumn' | 'classes' | 'testFraction' | 'hiddenTest' | 'seed' | 'description' | 'licence' | 'source' | 'overwrite' | 'option' | 'progress' | 'onNote'> {
  /** A folder of class folders, or a CSV file listing images. */
  input: string;
  imageSize?: ImageSize;
  /** CSV: the column of image paths (set by `--kind COL=image`). */
  pathColumn?: string;
}

interface Entry {
  id: string;
  label: string;
  /** Absolute path of the file. */
  path: string;
  /** How to name it in messages (relative to the input). */
  shown: string;
}

type Sharp = typeof import('sharp').default;

/** Decodes one file into exactly w × h × c bytes, or says what is wrong with it. */
async function decode(sharp: Sharp, e: Entry, size: ImageSize): Promise<{ pixels: Uint8Array; mode: string } | { problem: string; detail: string }> {
  let buf: Buffer;
  try {
    buf = await readFile(e.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: 'unreadable files', detail: `${e.shown} (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a folder' : code})` };
  }
  if (buf.length === 0) return { problem: 'empty files (0 bytes)', detail: e.shown };
  let meta: Awaited<ReturnType<ReturnType<Sharp>['metadata']>>;
  try {
    meta = await sharp(buf).metadata();
  } catch (err) {
    const msg = shortMessage(err);
    if (/unsupported image format/.test(msg)) return { problem: 'files that are not images sieve can read (PNG, JPEG, WebP)', detail: e.shown };
    return { problem: 'corrupt or truncated images', detail: `${e.shown} (${msg})` };
  }
  if (!meta.format || !FORMATS.has(meta.format)) return { problem: 'images in a format other than PNG, JPEG or WebP', detail: `${e.shown} (${meta.format ?? 'unknown'})` };
  if ((meta.pages ?? 1) > 1) return { problem: 'animated or multi-page images (give one still image per file)', detail: `${e.shown} (${meta.pages} frames)` };
  const space = meta.space === 'cmyk' ? 'cmyk' : (meta.channels ?? 3) <= 2 ? 'grey' : 'rgb';
  const mode = `${meta.format} ${space}${meta.hasAlpha ? '+alpha' : ''}${meta.depth && meta.depth !== 'uchar' ? ` ${meta.depth}` : ''}`;
  try {
    let p = sharp(buf, { failOn: 'error' }).rotate().resize(size.width, size.height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
    if (meta.hasAlpha) p = p.flatten({ background: '#ffffff' });
    const { data, info } = await p.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const n = size.width * size.height;
    if (info.width !== size.width || info.height !== size.height)
      return { problem: 'images the decoder could not resize', detail: `${e.shown} (${info.width}×${info.height})` };
    const rgb = info.channels === 3 ? data : expandToRgb(data, info.channels, n);
    if (size.channels === 3) return { pixels: new Uint8Array(rgb.buffer, rgb.byteOffset, n * 3).slice(), mode };
    const grey = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const [r, g, b] = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]];
      if (r !== g || g !== b) return { problem: 'colour images, but --image-size declares 1 channel (grey): give WxHx3, or convert them first', detail: `${e.shown} (${mode})` };
      grey[i] = r;
    }
    return { pixels: grey, mode };
  } catch (err) {
    return { problem: 'corrupt or truncated images', detail: `${e.shown} (${shortMessage(err)})` };
  }
}

function expandToRgb(data: Buffer, channels: number, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const g = data[i * channels];
    out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = g;
  }
  return out;
}

/** sharp's message on one line: "Input buffer has " dropped, libvips' repeated lines once each. */
const shortMessage = (err: unknown) =>
  [...new Set(String((err as Error)?.message ?? err).replace(/^Input (buffer|file) (contains|has) /, '').split('\n').map((l) => l.trim().replace(/:$/, '')).filter(Boolean))]
    .join('; ')
    .slice(0, 160);

const toPosix = (p: string) => p.split(sep).join('/');

/** A folder of class folders: every image, in class then name order. `where` names the folder as the user gave it. */
async function scanFolder(dir: string, where: string, problems: ProblemList): Promise<{ entries: Entry[]; classes: string[]; ignored: string[] }> {
  const names = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const classes: string[] = [];
  const stray: string[] = [];
  const ignored: string[] = [];
  for (const d of names) {
    if (d.name.startsWith('.')) ignored.push(d.name);
    else if (d.isDirectory()) classes.push(d.name);
    else stray.push(d.name);
  }
  if (stray.length)
    problems.add({ message: 'files directly in the folder (every image goes in the folder of its class)', where, count: stray.length, examples: stray.slice(0, MAX_EXAMPLES) });
  const entries: Entry[] = [];
  const strangers: string[] = [];
  const nested: string[] = [];
  const outside: string[] = [];
  const root = await realpath(dir);
  for (const cls of classes) {
    const files = (await readdir(join(dir, cls), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const f of files) {
      const shown = `${cls}/${f.name}`;
      if (f.name.startsWith('.')) {
        ignored.push(shown);
        continue;
      }
      if (f.isDirectory()) {
        nested.push(shown + '/');
        continue;
      }
      if (!IMAGE_EXTENSIONS.includes(f.name.slice(f.name.lastIndexOf('.')).toLowerCase())) {
        strangers.push(shown);
        continue;
      }
      const abs = join(dir, cls, f.name);
      if (f.isSymbolicLink()) {
        const real = await realpath(abs).catch(() => null);
        if (real && !inside(root, real)) {
          outside.push(`${shown} → ${real}`);
          continue;
        }
      }
      entries.push({ id: shown, label: cls, path: abs, shown });
    }
  }
  if (nested.length) problems.add({ message: 'folders inside class folders (one level of class folders only)', where, count: nested.length, examples: nested });
  if (strangers.length)
    problems.add({ message: `files without an image extension (${IMAGE_EXTENSIONS.join(', ')})`, where, count: strangers.length, examples: strangers });
  if (outside.length) problems.add({ message: 'symbolic links to files outside the folder', where, count: outside.length, examples: outside });
  return { entries, classes, ignored };
}

const inside = (root: string, p: string) => {
  const r = relative(root, p);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
};

/** A CSV naming images: id (optional), label and path columns. */
async function scanList(csv: string, opts: ImageImportOptions, problems: ProblemList): Promise<{ entries: Entry[]; labels: string[] }> {
  const { openDb, queryColumns, sqlString } = await import('../duckdb.ts');
  const db = await openDb({ threads: 1 });
  let cols: { name: string; values: (string | null)[] }[];
  try {
    const r = await queryColumns(db.conn, `SELECT * FROM read_csv(${sqlString(csv)}, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"', strict_mode = true)`).catch((err) => {
      throw new SieveError(`cannot read the image list: ${shortMessage(err)}`, { where: csv });
    });
    cols = r.columns as { name: string; values: (string | null)[] }[];
  } finally {
    db.close();
  }
  const byName = new Map(cols.map((c) => [c.name, c]));
  const pathCol = opts.pathColumn!;
  const labelCol = opts.labelColumn ?? 'label';
  const idCol = opts.idColumn ?? (byName.has('id') ? 'id' : undefined);
  const missing = [pathCol, labelCol, ...(idCol ? [idCol] : [])].filter((c) => !byName.has(c));
  if (missing.length) throw new SieveError(`unknown columns: ${missing.join(', ')}`, { where: csv, examples: [`available: ${cols.map((c) => c.name).join(', ')}`] });
  const extra = cols.map((c) => c.name).filter((c) => ![pathCol, labelCol, idCol].includes(c));
  if (extra.length) throw new SieveError(`the image list has columns that are neither id, label nor the image path: ${extra.join(', ')}`, { where: csv });
  const paths = byName.get(pathCol)!.values;
  const labels = byName.get(labelCol)!.values;
  const ids = idCol ? byName.get(idCol)!.values : paths;
  const base = dirname(resolve(csv));
  const root = await realpath(base);
  const entries: Entry[] = [];
  const bad: Record<string, string[]> = {};
  const push = (k: string, v: string) => (bad[k] ??= []).push(v);
  for (let i = 0; i < paths.length; i++) {
    const line = `line ${i + 2}`;
    const p = paths[i];
    if (!p) {
      push('missing image paths', line);
      continue;
    }
    if (!labels[i]) push('missing labels', line);
    if (!ids[i]) push('missing ids', line);
    if (isAbsolute(p) || p.split(/[\\/]/).includes('..')) {
      push(`image paths outside the list's folder (${base})`, `${line}: ${JSON.stringify(p)}`);
      continue;
    }
    const abs = resolve(base, p);
    const real = await realpath(abs).catch(() => null);
    if (real && !inside(root, real)) {
      push(`image paths outside the list's folder (${base})`, `${line}: ${JSON.stringify(p)} → ${real}`);
      continue;
    }
    if (!IMAGE_EXTENSIONS.includes(p.slice(p.lastIndexOf('.')).toLowerCase())) push(`image paths without an image extension (${IMAGE_EXTENSIONS.join(', ')})`, `${line}: ${JSON.stringify(p)}`);
    entries.push({ id: ids[i] ?? '', label: labels[i] ?? '', path: abs, shown: `${line}: ${p}` });
  }
  const seen = new Map<string, number>();
  const dup: string[] = [];
  entries.forEach((e, i) => {
    const prev = seen.get(e.id);
    if (prev !== undefined && e.id) dup.push(`${JSON.stringify(e.id)} at ${entries[prev].shown.split(':')[0]} and ${e.shown.split(':')[0]}`);
    else seen.set(e.id, i);
  });
  if (dup.length) bad['duplicate ids'] = dup;
  for (const [message, rows] of Object.entries(bad)) problems.add({ message, where: csv, count: rows.length, examples: rows });
  return { entries, labels: [...new Set(entries.map((e) => e.label).filter(Boolean))].sort() };
}

/** Runs `fn` over `items` with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>, tick?: () => void): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
      tick?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Imports a folder of class folders, or a CSV list of images, as a pool with a pixels column. */
export async function importImages(opts: ImageImportOptions): Promise<PoolManifest> {
  const size = opts.imageSize;
  if (!size)
    throw new SieveError('say the size the images are stored at: --image-size WIDTHxHEIGHTxCHANNELS (channels 3 for colour, 1 for grey), e.g. --image-size 32x32x3', { where: '--image-size' });
  if (size.channels !== 1 && size.channels !== 3) throw new SieveError(`--image-size: channels must be 1 (grey) or 3 (colour), got ${size.channels}`, { where: '--image-size' });
  if (size.width > 1024 || size.height > 1024) throw new SieveError(`--image-size: at most 1024×1024, got ${size.width}×${size.height}`, { where: '--image-size' });
  if (opts.testFraction !== undefined && !(opts.testFraction > 0 && opts.testFraction < 1))
    throw new SieveError(`--test-fraction must be between 0 and 1 (exclusive), got ${opts.testFraction}`, { where: '--test-fraction' });
  await checkOutputPath(opts.out, { kind: 'dir', overwrite: opts.overwrite, option: opts.option, replaceable: poolReplaceBlocker });

  const input = resolve(opts.input);
  const st = await stat(input).catch((err) => {
    throw new SieveError(`cannot read ${opts.input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as NodeJS.ErrnoException).code}`, { where: opts.input });
  });
  const folder = st.isDirectory();
  if (!folder && !opts.pathColumn) throw new SieveError('an image list (CSV) needs --kind COL=image naming its column of image paths', { where: opts.input });
  const problems = new ProblemList();
  let entries: Entry[];
  let classNames: string[];
  let ignored: string[] = [];
  if (folder) {
    const s = await scanFolder(input, opts.input, problems);
    entries = s.entries;
    classNames = s.classes;
    ignored = s.ignored;
  } else {
    const s = await scanList(input, opts, problems);
    entries = s.entries;
    classNames = s.labels;
  }
  // A class folder without an image would be a class of no rows: scored as a class the model
  // never sees (macro averages over it), as torchvision's ImageFolder refuses it. Classes meant
  // to be empty are declared with --classes.
  const empty = folder && !opts.classes ? classNames.filter((c) => !entries.some((e) => e.label === c)) : [];
  if (empty.length)
    problems.add({
      message: 'class folders without an image (remove them, or declare every class with --classes to keep a class of no rows)',
      where: opts.input,
      count: empty.length,
      examples: empty.map((c) => `${c}/`),
    });
  if (opts.classes) {
    const extra = classNames.filter((c) => !opts.classes!.includes(c));
    if (extra.length) problems.add({ message: `${folder ? 'class folders' : 'labels'} not among --classes (${opts.classes.join(', ')})`, where: opts.input, count: extra.length, examples: extra });
    classNames = opts.classes;
  }
  if (!entries.length && !problems.any) throw new SieveError(`no images found (${IMAGE_EXTENSIONS.join(', ')})${folder ? ' in class folders' : ''}`, { where: opts.input });
  if (classNames.length < 2 && !problems.any) throw new SieveError(`a classification pool needs at least two classes, found ${classNames.length}${folder ? ' class folder' : ''}`, { where: opts.input });

  const { default: sharp } = (await import('sharp')) as unknown as { default: Sharp };
  sharp.cache(false);
  opts.progress?.start(entries.length, `decoding ${entries.length.toLocaleString('en')} images`);
  const per = size.width * size.height * size.channels;
  const decoded = await mapLimit(entries, Math.max(2, availableParallelism()), (e) => decode(sharp, e, size), () => opts.progress?.tick(1));
  opts.progress?.stop();
  const grouped = new Map<string, string[]>();
  const modes = new Map<string, number>();
  for (const d of decoded) {
    if ('problem' in d) (grouped.get(d.problem) ?? grouped.set(d.problem, []).get(d.problem)!).push(d.detail);
    else modes.set(d.mode, (modes.get(d.mode) ?? 0) + 1);
  }
  for (const [message, files] of grouped) problems.add({ message, where: opts.input, count: files.length, examples: files });
  problems.throwIfAny();

  const pixels = new Uint8Array(entries.length * per);
  const hash = createHash('sha256');
  decoded.forEach((d, i) => {
    pixels.set((d as { pixels: Uint8Array }).pixels, i * per);
    hash.update(`${entries[i].id}\n`);
  });
  const labelIdx = Int32Array.from(entries, (e) => classNames.indexOf(e.label));
  const seed = opts.seed ?? 0;
  const part = opts.testFraction !== undefined ? stratifiedParts(labelIdx, classNames, opts.testFraction, seed) : new Int32Array(entries.length);
  const table = (which: number): TableData => {
    const rows = [...part.keys()].filter((i) => part[i] === which);
    const px = new Uint8Array(rows.length * per);
    rows.forEach((r, k) => px.set(pixels.subarray(r * per, (r + 1) * per), k * per));
    return {
      n: rows.length,
      columns: [
        { name: 'id', type: 'VARCHAR', values: rows.map((r) => entries[r].id) },
        { name: 'label', type: 'VARCHAR', values: rows.map((r) => entries[r].label) },
        { name: 'image', type: 'BLOB', bytesPerRow: per, values: px },
      ],
    };
  };
  const train = table(0);
  const test = opts.testFraction !== undefined ? table(1) : undefined;
  if (test && test.n === 0) throw new SieveError(`--test-fraction ${opts.testFraction} leaves the test split empty (${entries.length} images)`, { where: '--test-fraction' });
  const versions = (sharp as unknown as { versions: Record<string, string> }).versions;
  const modeList = [...modes].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m}: ${n}`).join(', ');
  if (ignored.length) opts.onNote?.(`ignored ${ignored.length} hidden file${ignored.length > 1 ? 's' : ''} (${ignored.slice(0, 3).join(', ')}${ignored.length > 3 ? ', …' : ''})`);
  opts.onNote?.(`decoded ${entries.length} images (${modeList}) to ${size.width}×${size.height}×${size.channels}`);
  const name = basename(input);
  const geometry = `${size.width}×${size.height}×${size.channels}`;
  const splitNote = test ? `test split: ${opts.testFraction} of each class held out at random (stratified, seed ${seed})` : 'no test split';
  return writePool(
    opts.out,
    {
      manifest: {
        name: poolNameFor(opts),
        version: '1',
        description: opts.description ?? `Images imported from ${name}${folder ? ' (one folder per class)' : ' (an image list)'}`,
        source: opts.source ?? name,
        licence: opts.licence ?? 'not stated (imported data; check the licence of the source)',
        citation: '',
        task: 'classification',
        id_column: 'id',
        label_column: 'label',
        classes: classNames,
        features: [{ name: 'image', kind: 'pixels', width: size.width, height: size.height, channels: size.channels, description: `${size.channels === 3 ? 'sRGB' : 'grey'} pixels, ${geometry}` }],
        groups: [],
        datasheet: {
          motivation: `Imported with sieve pool import from ${folder ? `the image folder ${name} (one sub-folder per class)` : `the image list ${name}`}.`,
          composition: `${train.n} train images${test ? `, ${test.n} test images` : ''}; ${classNames.length} classes; one pixels feature "image" (${geometry}). Ids are the ${folder ? 'files\' paths inside the folder (class/file)' : opts.idColumn ?? 'list\'s id column, else the paths'}; sha256 of the id list ${hash.digest('hex')}.`,
          collection: 'Not recorded: the importer only knows the files it was given.',
          preprocessing:
            `Decoded with sharp ${versions.sharp} (libvips ${versions.vips}): EXIF orientation applied, resized to ${size.width}×${size.height} (cover: scaled to fill, centre crop, lanczos3), ` +
            `transparency flattened onto white, converted to ${size.channels === 3 ? 'sRGB (grey images repeated over the three channels)' : 'grey (colour images refused)'}, 8 bits per channel. ` +
            `Input modes: ${modeList}. ${ignored.length ? `${ignored.length} hidden files ignored. ` : ''}${splitNote}.`,
          uses: 'Auditing and data-centric experiments with sieve; `sieve embed` adds an image embedding column.',
          known_issues: [],
        },
      },
      tables: { train, ...(test ? { test } : {}) },
      testVisibility: opts.hiddenTest ? 'evaluator' : 'participant',
    },
    { overwrite: opts.overwrite, progress: opts.progress, option: opts.option },
  );
}
