/**
 * IDX (MNIST family) cases: an images file and a labels file, raw or gzipped, with header
 * lies (dimensions larger or smaller than the data, huge or zero sizes, bad types and magic),
 * label trouble, gzip bombs and damaged gzip members.
 */
import { deflateRawSync, gzipSync, constants } from 'node:zlib';
import { encodeIdx } from '../../src/pool/formats/idx.ts';
import { between, chance, concat, pick, weighted, type Rng } from './random.ts';
import { pickByteMutation } from './bytes.ts';
import type { FuzzCase, ImportCall } from './cases.ts';
import { ACCEPT, EITHER, afterBytes, reject, type Expect } from './oracle.ts';

/** A gzip stream that inflates to `chunks` MiB (an IDX header, then zeros) in ~1 KiB per MiB, with a bogus CRC. */
function gzipBomb(header: Uint8Array, chunks: number): Uint8Array {
  const mib = new Uint8Array(1 << 20);
  const first = deflateRawSync(concat(header, mib.subarray(header.length)), { finishFlush: constants.Z_FULL_FLUSH });
  const block = deflateRawSync(mib, { finishFlush: constants.Z_FULL_FLUSH });
  const last = Uint8Array.from([0x03, 0x00]); // final empty fixed block
  const head = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const size = (chunks * (1 << 20)) >>> 0;
  const trailer = Uint8Array.from([0, 0, 0, 0, size & 255, (size >>> 8) & 255, (size >>> 16) & 255, size >>> 24]);
  return concat(head, first, ...Array(chunks - 1).fill(block), last, trailer);
}

const IDX_MUTATIONS = [
  'dims-larger', 'dims-smaller', 'dims-huge', 'dims-zero', 'ndim-bad', 'images-1d', 'type-byte', 'labels-int', 'labels-negative',
  'labels-huge', 'labels-float', 'count-mismatch', 'wrong-magic', 'trailing-bytes', 'swap-files', 'no-labels-file', 'same-file',
  'gzip-bomb', 'gzip-truncate', 'gzip-multi-member', 'gzip-garbage-after', 'classes-option', 'classes-too-few', 'empty-file', 'bytes',
] as const;

const FINAL = new Set<string>(['gzip-bomb', 'gzip-truncate', 'gzip-multi-member', 'gzip-garbage-after', 'bytes', 'empty-file', 'swap-files']);

export function idxCase(seed: number, rng: Rng, gz: boolean): FuzzCase {
  const n = between(rng, 4, 30);
  const h = between(rng, 1, 6);
  const w = between(rng, 1, 6);
  const channels = chance(rng, 0.1) ? between(rng, 1, 3) : 0;
  const dims = channels ? [n, h, w, channels] : [n, h, w];
  const nClasses = between(rng, 2, 4);
  const pix = new Uint8Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < pix.length; i++) pix[i] = rng.int(256);
  const labs = Array.from({ length: n }, (_, i) => (i < nClasses ? i : rng.int(nClasses)));
  let images = encodeIdx('ubyte', dims, pix);
  let labels = encodeIdx('ubyte', [n], labs);
  const call: ImportCall = { kind: 'import', input: 'images-idx3-ubyte', labels: 'labels-idx1-ubyte', format: 'idx' };
  let expect: Expect = ACCEPT;
  const mutations: string[] = [];
  const setDim = (b: Uint8Array, i: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(4 + 4 * i, v >>> 0, false);
  let compressImages = gz;
  let compressLabels = gz && chance(rng, 0.7);

  const k = weighted(rng, [[0, 1], [1, 6], [2, 2]]);
  const chosen = Array.from({ length: k }, () => pick(rng, IDX_MUTATIONS.filter((x) => gz || !x.startsWith('gzip'))));
  // Header edits work on the IDX bytes, so the ones that compress or damage whole files come last, once.
  const last = chosen.filter((m) => FINAL.has(m)).slice(0, 1);
  for (const m of [...chosen.filter((x) => !FINAL.has(x)), ...last]) {
    mutations.push(m);
    const onImages = chance(rng, 0.6);
    switch (m) {
      case 'dims-larger': {
        const b = onImages ? images : labels;
        const d = onImages ? rng.int(dims.length) : 0;
        setDim(b, d, (onImages ? dims[d] : n) + between(rng, 1, 1000));
        expect = reject('IDX dimensions larger than the data');
        break;
      }
      case 'dims-smaller': {
        const b = onImages ? images : labels;
        const d = onImages ? rng.int(dims.length) : 0;
        setDim(b, d, Math.max(0, (onImages ? dims[d] : n) - between(rng, 1, 3)));
        expect = reject('IDX dimensions smaller than the data');
        break;
      }
      case 'dims-huge': {
        const b = onImages ? images : labels;
        setDim(b, onImages ? rng.int(dims.length) : 0, pick(rng, [0xffffffff, 0x7fffffff, 0x80000000, 1 << 24]));
        expect = reject('IDX dimensions far larger than the data');
        break;
      }
      case 'dims-zero':
        setDim(images, 0, 0);
        setDim(labels, 0, 0);
        images = images.subarray(0, 4 + 4 * dims.length);
        labels = labels.subarray(0, 8);
        expect = reject('no items');
        break;
      case 'ndim-bad': {
        const b = (onImages ? images : labels).slice();
        b[3] = pick(rng, [0, 9, 200, 255]);
        onImages ? (images = b) : (labels = b);
        expect = reject('bad IDX dimension count');
        break;
      }
      case 'images-1d':
        images = encodeIdx('ubyte', [n], labs);
        expect = reject('one-dimensional images');
        break;
      case 'type-byte': {
        const b = (onImages ? images : labels).slice();
        b[2] = pick(rng, [0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0x07, 0xff]);
        onImages ? (images = b) : (labels = b);
        expect = onImages ? reject('images not unsigned bytes') : EITHER;
        break;
      }
      case 'labels-int':
        labels = encodeIdx('int', [n], labs);
        break;
      case 'labels-negative':
        labels = encodeIdx(pick(rng, ['int', 'byte', 'short'] as const), [n], labs.map((x, i) => (i === n - 1 ? -1 : x)));
        expect = reject('a negative label');
        break;
      case 'labels-huge':
        labels = encodeIdx('int', [n], labs.map((x, i) => (i === 0 ? 2147483647 : x)));
        expect = EITHER;
        break;
      case 'labels-float':
        labels = encodeIdx(pick(rng, ['float', 'double'] as const), [n], labs.map((x, i) => (i === 0 ? pick(rng, [0.5, NaN, Infinity, -0, 1e30]) : x)));
        expect = EITHER;
        break;
      case 'count-mismatch':
      {
        const m2 = n + pick(rng, [-1, 1, 5]);
        labels = encodeIdx('ubyte', [m2], Array.from({ length: m2 }, (_, i) => labs[i % n]));
      }
        expect = reject('images and labels counts differ');
        break;
      case 'wrong-magic': {
        const b = (onImages ? images : labels).slice();
        b[rng.int(2)] = 1 + rng.int(255);
        onImages ? (images = b) : (labels = b);
        expect = reject('not IDX magic');
        break;
      }
      case 'trailing-bytes':
        onImages ? (images = concat(images, new Uint8Array(between(rng, 1, 100)))) : (labels = concat(labels, new Uint8Array(between(rng, 1, 100))));
        expect = reject('trailing bytes');
        break;
      case 'swap-files':
        [images, labels] = [labels, images];
        expect = reject('images and labels files swapped');
        break;
      case 'no-labels-file':
        delete call.labels;
        expect = reject('no labels file');
        break;
      case 'same-file':
        call.labels = call.input;
        expect = reject('the images file given as its own labels');
        break;
      case 'gzip-bomb': {
        // A header that declares a few images, then a gigabyte or two of zeros.
        images = gzipBomb(images.subarray(0, 4 + 4 * dims.length), pick(rng, [1200, 2048]));
        compressImages = false;
        expect = reject('gzip bomb: far more data than the header declares');
        break;
      }
      case 'gzip-truncate': {
        const z = gzipSync(onImages ? images : labels);
        const cut = z.subarray(0, between(rng, 2, z.length - 1));
        onImages ? ((images = cut), (compressImages = false)) : ((labels = cut), (compressLabels = false));
        expect = reject('truncated gzip');
        break;
      }
      case 'gzip-multi-member': {
        const b = onImages ? images : labels;
        const cut = between(rng, 1, b.length - 1);
        const z = concat(gzipSync(b.subarray(0, cut)), gzipSync(b.subarray(cut)));
        onImages ? ((images = z), (compressImages = false)) : ((labels = z), (compressLabels = false));
        break;
      }
      case 'gzip-garbage-after': {
        const z = concat(gzipSync(onImages ? images : labels), Uint8Array.from([1, 2, 3, 4, 5]));
        onImages ? ((images = z), (compressImages = false)) : ((labels = z), (compressLabels = false));
        expect = EITHER;
        break;
      }
      case 'classes-option':
        call.classes = ['zero', 'one', 'two', 'three', 'four'].slice(0, nClasses + rng.int(2));
        break;
      case 'classes-too-few':
        call.classes = ['only'];
        expect = reject('fewer --classes than labels');
        break;
      case 'empty-file':
        onImages ? (images = new Uint8Array(0)) : (labels = new Uint8Array(0));
        compressImages = compressImages && !onImages;
        compressLabels = compressLabels && onImages;
        expect = reject('an empty file');
        break;
      case 'bytes': {
        const bm = pickByteMutation(rng, 'binary');
        mutations[mutations.length - 1] = bm.name;
        const b = onImages ? images : labels;
        const zb = (onImages ? compressImages : compressLabels) ? gzipSync(b) : b;
        const out = bm.apply(rng, zb);
        onImages ? ((images = out), (compressImages = false)) : ((labels = out), (compressLabels = false));
        expect = bm.name === 'truncate' || bm.name === 'truncate-last-byte' ? reject('truncated IDX') : afterBytes(expect, bm, 'binary');
        break;
      }
    }
  }
  if (compressImages) images = gzipSync(images);
  if (compressLabels) labels = gzipSync(labels);
  const files = [{ name: call.input, bytes: images }];
  if (call.labels && call.labels !== call.input) files.push({ name: call.labels, bytes: labels });
  return { family: 'import', format: gz ? 'idx-gz' : 'idx', seed, mutations: mutations.length ? mutations : ['valid'], files, call, expect };
}
