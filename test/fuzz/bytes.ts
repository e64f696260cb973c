/**
 * Format-blind mutations of a file's bytes: flips, truncation, NULs, invalid UTF-8, BOMs,
 * line-end changes, repeated or deleted lines. Each has a name, recorded in the case so a
 * failure says what was done and the known-failure list can match on it.
 */
import { between, chance, concat, pick, utf8, type Rng } from './random.ts';

export interface ByteMutation {
  name: string;
  /** Text-only mutations are pointless on binary formats (and the reverse). */
  applies: 'text' | 'binary' | 'any';
  /** When acceptance of the result would be wrong whatever the format (e.g. invalid UTF-8 in text). */
  mustReject?: 'text' | 'any';
  apply(rng: Rng, b: Uint8Array): Uint8Array;
}

/** Byte sequences that are not UTF-8: bad lead bytes, overlongs, surrogates, cut sequences. */
export const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xbf],
  [0xc0, 0x80], // overlong NUL
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf], // overlong '/'
  [0xed, 0xa0, 0x80], // UTF-16 surrogate
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xf5, 0x80, 0x80, 0x80],
  [0xe2, 0x82], // cut short
  [0xf0, 0x9f, 0x98], // cut short emoji
  [0xe9], // latin-1 é
];

function insertAt(b: Uint8Array, at: number, ins: Uint8Array | number[]): Uint8Array {
  const x = ins instanceof Uint8Array ? ins : Uint8Array.from(ins);
  return concat(b.subarray(0, at), x, b.subarray(at));
}

/** Offsets of the starts of lines (after each LF), 0 included. */
function lineStarts(b: Uint8Array): number[] {
  const s = [0];
  for (let i = 0; i < b.length; i++) if (b[i] === 10 && i + 1 < b.length) s.push(i + 1);
  return s;
}

function splitLines(b: Uint8Array): Uint8Array[] {
  const starts = lineStarts(b);
  return starts.map((s, i) => b.subarray(s, i + 1 < starts.length ? starts[i + 1] : b.length));
}

export const BYTE_MUTATIONS: ByteMutation[] = [
  {
    name: 'byte-flip',
    applies: 'any',
    apply(rng, b) {
      const out = b.slice();
      const k = between(rng, 1, 8);
      for (let j = 0; j < k && out.length; j++) out[rng.int(out.length)] ^= 1 + rng.int(255);
      return out;
    },
  },
  {
    name: 'truncate',
    applies: 'any',
    apply: (rng, b) => b.slice(0, b.length > 1 ? rng.int(b.length) : 0),
  },
  {
    name: 'truncate-last-byte',
    applies: 'any',
    apply: (_rng, b) => b.slice(0, Math.max(0, b.length - 1)),
  },
  {
    name: 'insert-nul',
    applies: 'any',
    apply: (rng, b) => insertAt(b, rng.int(b.length + 1), Array(between(rng, 1, 3)).fill(0)),
  },
  {
    name: 'invalid-utf8',
    applies: 'text',
    mustReject: 'text',
    apply: (rng, b) => insertAt(b, rng.int(b.length + 1), pick(rng, INVALID_UTF8)),
  },
  {
    name: 'utf8-bom',
    applies: 'text',
    apply: (_rng, b) => concat(Uint8Array.from([0xef, 0xbb, 0xbf]), b),
  },
  {
    name: 'double-bom',
    applies: 'text',
    apply: (_rng, b) => concat(Uint8Array.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), b),
  },
  {
    name: 'utf16-bom',
    applies: 'text',
    mustReject: 'text',
    apply: (rng, b) => concat(Uint8Array.from(chance(rng, 0.5) ? [0xff, 0xfe] : [0xfe, 0xff]), b),
  },
  {
    name: 'utf16le',
    applies: 'text',
    mustReject: 'text',
    apply(_rng, b) {
      const out = new Uint8Array(2 + 2 * b.length);
      out[0] = 0xff;
      out[1] = 0xfe;
      for (let i = 0; i < b.length; i++) out[2 + 2 * i] = b[i];
      return out;
    },
  },
  {
    name: 'crlf',
    applies: 'text',
    apply(_rng, b) {
      const out: number[] = [];
      for (let i = 0; i < b.length; i++) {
        if (b[i] === 10 && b[i - 1] !== 13) out.push(13);
        out.push(b[i]);
      }
      return Uint8Array.from(out);
    },
  },
  {
    name: 'cr-only',
    applies: 'text',
    apply: (_rng, b) => b.map((c) => (c === 10 ? 13 : c)),
  },
  {
    name: 'no-final-newline',
    applies: 'text',
    apply(_rng, b) {
      let n = b.length;
      while (n > 0 && (b[n - 1] === 10 || b[n - 1] === 13)) n--;
      return b.slice(0, n);
    },
  },
  {
    name: 'blank-lines',
    applies: 'text',
    apply(rng, b) {
      const lines = splitLines(b);
      const at = rng.int(lines.length + 1);
      lines.splice(at, 0, utf8(pick(rng, ['\n', '\n\n', '   \n', '\t\n', '\r\n'])));
      return concat(...lines);
    },
  },
  {
    name: 'duplicate-line',
    applies: 'text',
    apply(rng, b) {
      const lines = splitLines(b);
      const i = rng.int(lines.length);
      lines.splice(i, 0, lines[i]);
      return concat(...lines);
    },
  },
  {
    name: 'delete-line',
    applies: 'text',
    apply(rng, b) {
      const lines = splitLines(b);
      lines.splice(rng.int(lines.length), 1);
      return concat(...lines);
    },
  },
  {
    name: 'swap-lines',
    applies: 'text',
    apply(rng, b) {
      const lines = splitLines(b);
      const i = rng.int(lines.length);
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return concat(...lines);
    },
  },
  {
    name: 'insert-junk',
    applies: 'any',
    apply(rng, b) {
      const junk = new Uint8Array(between(rng, 1, 64));
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      return insertAt(b, rng.int(b.length + 1), junk);
    },
  },
  {
    name: 'insert-special-chars',
    applies: 'text',
    apply: (rng, b) =>
      insertAt(b, rng.int(b.length + 1), utf8(pick(rng, ['"', "'", ',', '\t', '\\', '""', '"\n"', '\u2028', '\u00a0', '\u200b', '%', '{', '}', '[', ']', '?', '\u202e', 'é', '😀', '\x1b[31m', '\x7f', '\f', '\v']))),
  },
  {
    name: 'repeat-chunk',
    applies: 'any',
    apply(rng, b) {
      if (!b.length) return b;
      const s = rng.int(b.length);
      const e = Math.min(b.length, s + between(rng, 1, 256));
      const times = between(rng, 2, 50);
      return concat(b.subarray(0, e), ...Array(times).fill(b.subarray(s, e)), b.subarray(e));
    },
  },
  {
    name: 'zero-range',
    applies: 'binary',
    apply(rng, b) {
      const out = b.slice();
      const s = rng.int(Math.max(1, out.length));
      out.fill(0, s, Math.min(out.length, s + between(rng, 1, 64)));
      return out;
    },
  },
  {
    name: 'ff-range',
    applies: 'binary',
    apply(rng, b) {
      const out = b.slice();
      const s = rng.int(Math.max(1, out.length));
      out.fill(0xff, s, Math.min(out.length, s + between(rng, 1, 16)));
      return out;
    },
  },
  {
    name: 'flip-tail',
    applies: 'binary',
    // Footers (Parquet, Arrow) and gzip trailers live at the end.
    apply(rng, b) {
      const out = b.slice();
      const k = between(rng, 1, 4);
      for (let j = 0; j < k && out.length; j++) out[Math.max(0, out.length - 1 - rng.int(Math.min(64, out.length)))] ^= 1 + rng.int(255);
      return out;
    },
  },
  {
    name: 'flip-head',
    applies: 'binary',
    apply(rng, b) {
      const out = b.slice();
      const k = between(rng, 1, 4);
      for (let j = 0; j < k && out.length; j++) out[rng.int(Math.min(64, out.length))] ^= 1 + rng.int(255);
      return out;
    },
  },
];

export function byteMutation(name: string): ByteMutation {
  const m = BYTE_MUTATIONS.find((x) => x.name === name);
  if (!m) throw new Error(`no byte mutation ${name}`);
  return m;
}

/** Picks a byte mutation that suits the format kind. */
export function pickByteMutation(rng: Rng, kind: 'text' | 'binary'): ByteMutation {
  const ok = BYTE_MUTATIONS.filter((m) => m.applies === 'any' || m.applies === kind);
  return pick(rng, ok);
}

/** Every spelling of NaN and infinity a parser might accept as a number. */
export const NONFINITE_SPELLINGS: readonly string[] = [
  'NaN', 'nan', 'NAN', '-nan', '+nan', '-NaN', 'nan(0x1)', 'NaN1',
  'inf', 'Inf', 'INF', '-inf', '+inf', '-Inf', '+INF',
  'infinity', 'Infinity', 'INFINITY', '-Infinity', '+Infinity', '-infinity',
  '1e999', '-1e999', '1e309', '-2e308', '1.8e308', '∞', '-∞', '+∞',
  ' inf', 'inf ', ' NaN ', '.nan', '.inf', '-.inf', '1.#INF', '-1.#IND', '1.#QNAN',
];

/** Finite but awkward numbers: huge, tiny, negative zero, long, hex and octal-looking. */
export const ODD_NUMBERS: readonly string[] = [
  '1e308', '-1e308', '1.7976931348623157e308', '4.9e-324', '-4.9e-324', '1e-320', '-0', '-0.0', '+0',
  '9007199254740993', '-9007199254740993', '123456789012345678901234567890', '-99999999999999999999',
  '0.1e-999', '1e-400', '00012', '0x10', '0o17', '0b101', '1_000', '1,5', '1.', '.5', '+.5', '5e', '1e+', '--1', '1-', '١٢٣',
  '2147483648', '-2147483649', '4294967296', '18446744073709551616',
];

/** Line-end normalisation: the generators write LF; CRLF is a mutation. */
export function lines(rows: string[]): string {
  return rows.join('\n') + '\n';
}
