import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx } from '../src/pool/formats/idx.ts';
import { parseArff } from '../src/pool/formats/arff.ts';
import { SieveError } from '../src/util/errors.ts';

/** Runs fn, expects a SieveError, returns it for closer inspection. */
function sieveError(fn: () => unknown): SieveError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SieveError);
    return err as SieveError;
  }
  throw new Error('expected a SieveError, nothing was thrown');
}

describe('parseIdx', () => {
  // Two 2×3 "images" written byte by byte as the IDX spec lays them out.
  const images = Uint8Array.from([
    0, 0, 0x08, 3, // magic: ubyte, 3 dims
    0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, // sizes 2, 2, 3 (big-endian)
    1, 2, 3, 4, 5, 6, 250, 251, 252, 253, 254, 255,
  ]);

  it('reads an uncompressed ubyte file: dims and row-major values', () => {
    const a = parseIdx(images);
    expect(a.type).toBe('ubyte');
    expect(a.dims).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 250, 251, 252, 253, 254, 255]);
  });

  it('reads the same file gzipped', () => {
    const a = parseIdx(gzipSync(images));
    expect(a.dims).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual(Array.from(parseIdx(images).data));
  });

  it('decodes big-endian multi-byte types', () => {
    const ints = parseIdx(Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff, 0xfe]));
    expect(ints.type).toBe('int');
    expect(Array.from(ints.data)).toEqual([256, -2]);
    const shorts = parseIdx(encodeIdx('short', [3], [-300, 0, 300]));
    expect(Array.from(shorts.data)).toEqual([-300, 0, 300]);
    const floats = parseIdx(encodeIdx('float', [2], [1.5, -0.25]));
    expect(Array.from(floats.data)).toEqual([1.5, -0.25]);
    const doubles = parseIdx(encodeIdx('double', [1, 2], [Math.PI, -1e300]));
    expect(doubles.dims).toEqual([1, 2]);
    expect(Array.from(doubles.data)).toEqual([Math.PI, -1e300]);
    const bytes = parseIdx(encodeIdx('byte', [2], [-128, 127]));
    expect(Array.from(bytes.data)).toEqual([-128, 127]);
  });

  it('reads a labels file (1 dim)', () => {
    const labels = parseIdx(encodeIdx('ubyte', [5], [9, 0, 0, 3, 1]));
    expect(labels.dims).toEqual([5]);
    expect(Array.from(labels.data)).toEqual([9, 0, 0, 3, 1]);
  });

  it('rejects bad magic, naming the bytes found', () => {
    const bad = images.slice();
    bad[0] = 0x50; bad[1] = 0x4b; // a zip file, say
    const e = sieveError(() => parseIdx(bad, 'x.idx'));
    expect(e.message).toMatch(/magic starts with 0x50 0x4B, expected 0x00 0x00/);
    expect(e.where).toBe('x.idx, byte 0');
  });

  it('rejects an unknown element type', () => {
    const bad = images.slice();
    bad[2] = 0x0a;
    expect(sieveError(() => parseIdx(bad)).message).toMatch(/unknown IDX element type 0x0A/);
  });

  it('rejects truncated data, saying expected and actual bytes', () => {
    const e = sieveError(() => parseIdx(images.subarray(0, images.length - 5), 'img.idx'));
    expect(e.message).toMatch(/truncated IDX data/);
    expect(e.message).toMatch(/need 28 bytes \(16 header \+ 12 data\), file has 23 \(5 missing\)/);
  });

  it('rejects a truncated header and a file too short for any header', () => {
    expect(sieveError(() => parseIdx(images.subarray(0, 10))).message).toMatch(
      /truncated IDX header: 3 dimensions need 16 header bytes, file has 10/,
    );
    expect(sieveError(() => parseIdx(new Uint8Array([0, 0]))).message).toMatch(/too short/);
    expect(sieveError(() => parseIdx(new Uint8Array(0))).message).toMatch(/0 bytes/);
  });

  it('rejects trailing junk, saying how many bytes and where they start', () => {
    const junk = new Uint8Array(images.length + 3);
    junk.set(images);
    const e = sieveError(() => parseIdx(junk, 'img.idx'));
    expect(e.message).toMatch(/trailing bytes after IDX data.*need 28 bytes, file has 31 \(3 extra\)/);
    expect(e.where).toBe('img.idx, byte 28');
  });

  it('rejects a corrupt gzip stream', () => {
    const gz = gzipSync(images);
    expect(sieveError(() => parseIdx(gz.subarray(0, gz.length - 8))).message).toMatch(/gzip data is corrupt or truncated/);
  });

  it('rejects zero dimensions', () => {
    expect(sieveError(() => parseIdx(new Uint8Array([0, 0, 8, 0]))).message).toMatch(/declares 0 dimensions/);
  });
});

/** A hand-copied snippet of credit-g.arff: same header structure, three real data rows. */
const CREDIT_SNIPPET = `% Description of the German credit dataset.
%
@relation german_credit

@attribute checking_status { '<0', '0<=X<200', '>=200', 'no checking'}
@attribute duration numeric
@attribute purpose { 'new car', 'used car', furniture/equipment, radio/tv, 'domestic appliance', repairs, education, vacation, retraining, business, other}
@attribute credit_amount numeric
@attribute personal_status { 'male div/sep', 'female div/dep/mar', 'male single', 'male mar/wid', 'female single'}
@attribute age numeric
@attribute foreign_worker { yes, no}
@attribute class { good, bad}
@data
'<0',6,radio/tv,1169,'male single',67,yes,good
'0<=X<200',48,radio/tv,5951,'female div/dep/mar',22,yes,bad
% a comment between rows
'no checking',12,education,2096,'male single',49,yes,good
`;

describe('parseArff', () => {
  it('reads the credit-g structure: relation, typed attributes, quoted nominal values', () => {
    const a = parseArff(CREDIT_SNIPPET);
    expect(a.relation).toBe('german_credit');
    expect(a.rows).toBe(3);
    expect(a.attributes.map((x) => `${x.name}:${x.type}`)).toEqual([
      'checking_status:nominal', 'duration:numeric', 'purpose:nominal', 'credit_amount:numeric',
      'personal_status:nominal', 'age:numeric', 'foreign_worker:nominal', 'class:nominal',
    ]);
    const checking = a.attributes[0];
    expect(checking.type === 'nominal' && checking.values).toEqual(['<0', '0<=X<200', '>=200', 'no checking']);
    const purpose = a.attributes[2];
    expect(purpose.type === 'nominal' && purpose.values.slice(0, 4)).toEqual(['new car', 'used car', 'furniture/equipment', 'radio/tv']);
    const cols = Object.fromEntries(a.columns.map((c) => [c.name, c]));
    expect(Array.from((cols.duration as { values: Float64Array }).values)).toEqual([6, 48, 12]);
    expect(Array.from((cols.age as { values: Float64Array }).values)).toEqual([67, 22, 49]);
    expect(cols.personal_status.values).toEqual(['male single', 'female div/dep/mar', 'male single']);
    expect(cols.class.values).toEqual(['good', 'bad', 'good']);
    // Line numbers of rows skip the comment line.
    expect(Array.from(a.lineOfRow)).toEqual([14, 15, 17]);
  });

  it('treats ? as missing but a quoted "?" as a value, and reads string attributes', () => {
    const a = parseArff(`@RELATION t
@ATTRIBUTE 'the x' REAL
@attribute n integer
@attribute note string
@attribute c {'a b', "c,d", e}
@DATA
1.5, ?, 'it\\'s', 'a b'
?, 3, '?', "c,d" % trailing comment
-2e3, -4, "say \\"hi\\"", ?
`);
    const [x, n, note, c] = a.columns;
    expect(x.name).toBe('the x');
    expect(x.type === 'numeric' && Array.from(x.missing)).toEqual([0, 1, 0]);
    expect(x.type === 'numeric' && x.values[2]).toBe(-2000);
    expect(n.type === 'numeric' && Array.from(n.missing)).toEqual([1, 0, 0]);
    expect(note.values).toEqual(["it's", '?', 'say "hi"']);
    expect(c.values).toEqual(['a b', 'c,d', null]);
  });

  it('reads sparse rows with defaults for unlisted attributes', () => {
    const a = parseArff(`@relation s
@attribute a numeric
@attribute b numeric
@attribute c {x, y}
@attribute s string
@data
{1 5, 2 y}
{0 7, 3 'a, b'}
`);
    expect(Array.from((a.columns[0] as { values: Float64Array }).values)).toEqual([0, 7]);
    expect(Array.from((a.columns[1] as { values: Float64Array }).values)).toEqual([5, 0]);
    expect(a.columns[2].values).toEqual(['y', 'x']);
    expect(a.columns[3].values).toEqual(['', 'a, b']);
  });

  it('names the line of a row with the wrong number of values', () => {
    const bad = CREDIT_SNIPPET.replace("'<0',6,radio/tv,1169,'male single',67,yes,good", "'<0',6,radio/tv,1169,'male single',67,good");
    const e = sieveError(() => parseArff(bad, 'credit.arff'));
    expect(e.message).toBe('expected 8 values (one per @attribute), found 7');
    expect(e.where).toBe('credit.arff, line 14');
  });

  it('rejects a nominal value that was not declared, with the line and the allowed values', () => {
    const bad = CREDIT_SNIPPET.replace("'male single',49", "'female single ',49");
    const e = sieveError(() => parseArff(bad));
    expect(e.message).toMatch(/value "female single " of nominal attribute "personal_status" is not one of its declared values/);
    expect(e.where).toMatch(/line 17$/);
    expect(e.examples).toContain('female single');
  });

  it('rejects a non-numeric value of a numeric attribute', () => {
    const e = sieveError(() => parseArff(CREDIT_SNIPPET.replace(',5951,', ',59x1,')));
    expect(e.message).toMatch(/value "59x1" of numeric attribute "credit_amount" is not a number/);
    expect(e.where).toMatch(/line 15$/);
  });

  it('rejects non-integers in integer attributes', () => {
    const e = sieveError(() => parseArff('@relation r\n@attribute k integer\n@attribute c {a,b}\n@data\n1,a\n2.5,b\n'));
    expect(e.message).toMatch(/not an integer/);
    expect(e.where).toMatch(/line 6$/);
  });

  it('rejects unterminated quotes, empty values and trailing commas with line numbers', () => {
    expect(sieveError(() => parseArff(CREDIT_SNIPPET.replace("'male single',67", "'male single,67"))).where).toMatch(/line 14$/);
    const empty = sieveError(() => parseArff('@relation r\n@attribute a numeric\n@attribute b numeric\n@data\n1,,\n'));
    expect(empty.message).toMatch(/empty value at column 3/);
    expect(empty.where).toMatch(/line 5$/);
    expect(sieveError(() => parseArff('@relation r\n@attribute a numeric\n@attribute b numeric\n@data\n1,\n')).message).toMatch(/ends with a comma/);
  });

  it('rejects doubled quotes (ARFF escapes with a backslash) instead of misreading them', () => {
    const e = sieveError(() => parseArff("@relation r\n@attribute s string\n@data\n'it''s'\n"));
    expect(e.message).toMatch(/unexpected text after a quoted value/);
    expect(e.where).toMatch(/line 4$/);
  });

  it('rejects broken headers: unknown type, duplicate attribute, missing @data, no @relation', () => {
    expect(sieveError(() => parseArff('@relation r\n@attribute a flt\n@data\n')).message).toMatch(/unknown type "flt"/);
    const dup = sieveError(() => parseArff('@relation r\n@attribute a numeric\n@attribute a real\n@data\n'));
    expect(dup.message).toMatch(/duplicate attribute name "a"/);
    expect(dup.where).toMatch(/line 3$/);
    expect(sieveError(() => parseArff('@relation r\n@attribute a numeric\n1\n')).message).toMatch(/expected an @relation, @attribute or @data/);
    expect(sieveError(() => parseArff('@relation r\n@attribute a numeric\n')).message).toBe('no @data section');
    expect(sieveError(() => parseArff('a,b,c\n1,2,3\n')).where).toMatch(/line 1$/);
    expect(sieveError(() => parseArff('')).message).toMatch(/no @relation/);
    expect(sieveError(() => parseArff('@relation r\n@attribute c {a, a}\n@data\n')).message).toMatch(/declares value "a" twice/);
  });

  it('reads CRLF line endings and a BOM', () => {
    const a = parseArff('\ufeff' + CREDIT_SNIPPET.replace(/\n/g, '\r\n'));
    expect(a.rows).toBe(3);
    expect(a.columns[7].values).toEqual(['good', 'bad', 'good']);
  });
});
