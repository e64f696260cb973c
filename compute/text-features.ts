/**
 * The model-free text featuriser: hashed TF-IDF of words and of character n-grams, the one
 * implementation behind every text column (the pool reader turns text columns into these
 * numbers, so the evaluator's models and the analysers see the same features).
 *
 * Per document (after lower-casing):
 * - tokens: maximal runs of word characters: ASCII letters and digits, and every code point
 *   above U+007F that is not a space or punctuation (so "naïve", "日本語" and "🎉" are
 *   words; "e-mail" is two);
 * - word features: each token, hashed into WORD_DIMS buckets;
 * - character features: the 3-, 4- and 5-grams of each token padded with a space on either
 *   side (scikit-learn's `char_wb`), hashed into CHAR_DIMS buckets;
 * - the hash is 32-bit FNV-1a over the UTF-8 bytes of the feature followed by a one-byte
 *   suffix ('w' for a word, '3'…'5' for an n-gram's length); the bucket is its low bits, its top bit a sign
 *   (+1 / −1, as scikit-learn's HashingVectorizer(alternate_sign=True)), so collisions tend
 *   to cancel instead of piling up;
 * - term frequency: the signed count c of each bucket becomes sign(c)·(1 + ln |c|);
 * - inverse document frequency of a bucket: ln((1 + N) / (1 + df)) + 1, with df the number of
 *   the N fitting documents in which some feature hashed to it (scikit-learn's smooth_idf);
 *   fitted on the participant pool (the train split) only and applied unchanged to any other
 *   rows;
 * - the word block and the character block are each L2-normalised and then scaled by 1/√2, so
 *   every row with both has unit norm and both kinds weigh the same; an empty document is a
 *   zero row.
 *
 * Hot loops run on typed arrays: a reused Uint32Array of code points, a Float64Array of
 * bucket counts with a list of touched buckets, CSR output. No per-token strings or objects.
 * Deterministic: the same texts give the same bits.
 */

/** Name and version of the featuriser; recorded with features built by it. Bump on any change to the numbers. */
export const TEXT_FEATURISER = 'sieve-hashed-tfidf/1';
export const WORD_DIMS = 1024;
export const CHAR_DIMS = 1024;
/** Columns a text column contributes: the word block then the character block. */
export const TEXT_DIMS = WORD_DIMS + CHAR_DIMS;
export const CHAR_NGRAM_MIN = 3;
export const CHAR_NGRAM_MAX = 5;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a of a string's UTF-8 bytes (unsigned). Exported for tests and reference values. */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  const cps = Array.from(s, (c) => c.codePointAt(0)!);
  for (const cp of cps) h = hashCodePoint(h, cp);
  return h >>> 0;
}

/** Feeds one code point's UTF-8 bytes into an FNV-1a state. */
function hashCodePoint(h: number, cp: number): number {
  if (cp < 0x80) return Math.imul(h ^ cp, FNV_PRIME);
  if (cp < 0x800) {
    h = Math.imul(h ^ (0xc0 | (cp >>> 6)), FNV_PRIME);
    return Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
  }
  if (cp < 0x10000) {
    h = Math.imul(h ^ (0xe0 | (cp >>> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((cp >>> 6) & 0x3f)), FNV_PRIME);
    return Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
  }
  h = Math.imul(h ^ (0xf0 | (cp >>> 18)), FNV_PRIME);
  h = Math.imul(h ^ (0x80 | ((cp >>> 12) & 0x3f)), FNV_PRIME);
  h = Math.imul(h ^ (0x80 | ((cp >>> 6) & 0x3f)), FNV_PRIME);
  return Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
}

/** Whether a (lower-cased) code point belongs to a word. */
export function isWordCodePoint(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a);
  // Latin-1 punctuation and symbols, the no-break space, soft hyphen.
  if (cp <= 0xbf) return cp === 0xaa || cp === 0xb2 || cp === 0xb3 || cp === 0xb5 || cp === 0xb9 || cp === 0xba;
  if (cp === 0xd7 || cp === 0xf7) return false;
  // General punctuation and spaces, CJK symbols and punctuation, full-width ASCII punctuation, specials.
  if (cp >= 0x2000 && cp <= 0x206f) return false;
  if (cp >= 0x3000 && cp <= 0x303f) return false;
  if ((cp >= 0xff01 && cp <= 0xff0f) || (cp >= 0xff1a && cp <= 0xff20) || (cp >= 0xff3b && cp <= 0xff40) || (cp >= 0xff5b && cp <= 0xff65)) return false;
  if (cp === 0xfeff || (cp >= 0xfff0 && cp <= 0xffff) || cp === 0x1680) return false;
  return true;
}

/** Hashed term frequencies of documents, one CSR row per document (before IDF and normalisation). */
export interface HashedCounts {
  n: number;
  /** Row i's entries are indptr[i] … indptr[i+1]−1. */
  indptr: Int32Array;
  /** Bucket of each entry (0 … TEXT_DIMS − 1), increasing within a row. */
  indices: Int32Array;
  /** Signed sublinear term frequency of each entry. */
  values: Float32Array;
}

/** Growable CSR buffers. */
class CsrBuilder {
  indices = new Int32Array(1 << 16);
  values = new Float32Array(1 << 16);
  size = 0;
  push(j: number, v: number): void {
    if (this.size === this.indices.length) {
      const cap = this.indices.length * 2;
      const i2 = new Int32Array(cap); i2.set(this.indices); this.indices = i2;
      const v2 = new Float32Array(cap); v2.set(this.values); this.values = v2;
    }
    this.indices[this.size] = j;
    this.values[this.size++] = v;
  }
}

/** Hashes every document into signed sublinear term frequencies (CSR). */
export function hashTexts(texts: readonly string[]): HashedCounts {
  const n = texts.length;
  const indptr = new Int32Array(n + 1);
  const out = new CsrBuilder();
  const counts = new Float64Array(TEXT_DIMS);
  const touched = new Uint8Array(TEXT_DIMS);
  const list = new Int32Array(TEXT_DIMS);
  let cps = new Uint32Array(1024);
  const wordMask = WORD_DIMS - 1;
  const charMask = CHAR_DIMS - 1;
  for (let d = 0; d < n; d++) {
    const text = texts[d].toLowerCase();
    if (cps.length < text.length + 2) cps = new Uint32Array(text.length * 2 + 2);
    // Code points of the document; surrogate pairs combined.
    let len = 0;
    for (let k = 0; k < text.length; k++) {
      let cp = text.charCodeAt(k);
      if (cp >= 0xd800 && cp <= 0xdbff && k + 1 < text.length) {
        const lo = text.charCodeAt(k + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) { cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00); k++; }
      }
      cps[len++] = cp;
    }
    let nTouched = 0;
    let p = 0;
    while (p < len) {
      while (p < len && !isWordCodePoint(cps[p])) p++;
      if (p >= len) break;
      const start = p;
      while (p < len && isWordCodePoint(cps[p])) p++;
      const end = p; // token is cps[start … end)
      let h = FNV_OFFSET;
      for (let t = start; t < end; t++) h = hashCodePoint(h, cps[t]);
      h = Math.imul(h ^ 0x77, FNV_PRIME); // suffix 'w'
      let bucket = h & wordMask;
      if (!touched[bucket]) { touched[bucket] = 1; list[nTouched++] = bucket; }
      counts[bucket] += h < 0 ? -1 : 1;
      // Character n-grams of " token ": padded positions 0 … L+1 (0 and L+1 are the spaces),
      // every length CHAR_NGRAM_MIN … CHAR_NGRAM_MAX from each start in one running hash.
      const padded = end - start + 2;
      for (let s = 0; s + CHAR_NGRAM_MIN <= padded; s++) {
        let hc = FNV_OFFSET;
        const last = Math.min(padded, s + CHAR_NGRAM_MAX);
        for (let t = s; t < last; t++) {
          hc = hashCodePoint(hc, t === 0 || t === padded - 1 ? 0x20 : cps[start - 1 + t]);
          const g = t - s + 1;
          if (g < CHAR_NGRAM_MIN) continue;
          const hg = Math.imul(hc ^ (0x30 + g), FNV_PRIME); // suffix '3' … '5'
          bucket = WORD_DIMS + (hg & charMask);
          if (!touched[bucket]) { touched[bucket] = 1; list[nTouched++] = bucket; }
          counts[bucket] += hg < 0 ? -1 : 1;
        }
      }
    }
    const row = list.subarray(0, nTouched).sort();
    for (let t = 0; t < nTouched; t++) {
      const j = row[t];
      const c = counts[j];
      // A bucket whose signs cancelled is still a touched bucket (it counts for df) but holds 0.
      out.push(j, c === 0 ? 0 : Math.sign(c) * (1 + Math.log(Math.abs(c))));
      counts[j] = 0;
      touched[j] = 0;
    }
    indptr[d + 1] = out.size;
  }
  return { n, indptr, indices: out.indices.slice(0, out.size), values: out.values.slice(0, out.size) };
}

/** The fitted inverse document frequencies of one text column. */
export interface TextIdf {
  featuriser: typeof TEXT_FEATURISER;
  /** Documents the IDF was fitted on. */
  documents: number;
  /** ln((1 + N) / (1 + df)) + 1 per bucket. */
  idf: Float64Array;
}

/** Fits the IDF on hashed documents (the participant pool's). */
export function fitIdf(h: HashedCounts): TextIdf {
  const df = new Float64Array(TEXT_DIMS);
  for (let e = 0; e < h.indptr[h.n]; e++) df[h.indices[e]]++;
  const idf = new Float64Array(TEXT_DIMS);
  for (let j = 0; j < TEXT_DIMS; j++) idf[j] = Math.log((1 + h.n) / (1 + df[j])) + 1;
  return { featuriser: TEXT_FEATURISER, documents: h.n, idf };
}

/**
 * TF-IDF rows written into `out` (row-major, `stride` values per row) at column `offset`:
 * both blocks L2-normalised and scaled by 1/√2. `out` must be zero there.
 */
export function writeTfidf(h: HashedCounts, idf: TextIdf, out: Float32Array, stride: number, offset: number): void {
  if (out.length < h.n * stride || offset + TEXT_DIMS > stride) throw new RangeError(`text features: ${out.length} values for ${h.n} rows of ${stride} (offset ${offset})`);
  const w = idf.idf;
  for (let i = 0; i < h.n; i++) {
    const a = h.indptr[i], b = h.indptr[i + 1];
    let sw = 0, sc = 0;
    for (let e = a; e < b; e++) {
      const v = h.values[e] * w[h.indices[e]];
      if (h.indices[e] < WORD_DIMS) sw += v * v; else sc += v * v;
    }
    const fw = sw > 0 ? Math.SQRT1_2 / Math.sqrt(sw) : 0;
    const fc = sc > 0 ? Math.SQRT1_2 / Math.sqrt(sc) : 0;
    const base = i * stride + offset;
    for (let e = a; e < b; e++) {
      const j = h.indices[e];
      out[base + j] = h.values[e] * w[j] * (j < WORD_DIMS ? fw : fc);
    }
  }
}

/** Names of the columns a text column contributes: `body#w0` … `body#c1023`. */
export function textFeatureNames(column: string): string[] {
  const names: string[] = [];
  for (let j = 0; j < WORD_DIMS; j++) names.push(`${column}#w${j}`);
  for (let j = 0; j < CHAR_DIMS; j++) names.push(`${column}#c${j}`);
  return names;
}
