/** Bookkeeping of what a case must do, as mutations are applied one after another. */
import type { FuzzCase } from './cases.ts';
import type { ByteMutation } from './bytes.ts';

export type Expect = FuzzCase['expect'];

export const ACCEPT: Expect = { outcome: 'accept' };
export const EITHER: Expect = { outcome: 'either' };
export const reject = (why: string): Expect => ({ outcome: 'reject', why });

/**
 * After a cell-level mutation: its own reason wins; one without a reason may have undone an
 * earlier one's evidence (renamed, overwritten), so the outcome becomes open.
 */
export function afterCell(prev: Expect, reason: string | null): Expect {
  if (reason) return reject(reason);
  return EITHER;
}

/** Byte mutations that keep a file's meaning (line ends, final newline). */
const MEANING_KEEPING = new Set(['crlf', 'no-final-newline']);

/** After a byte-level mutation of a file of kind `kind`. */
export function afterBytes(prev: Expect, m: ByteMutation, kind: 'text' | 'binary', keeps: Set<string> = MEANING_KEEPING): Expect {
  if (m.mustReject === 'any' || (m.mustReject === 'text' && kind === 'text')) return reject(`${m.name} in a ${kind} file`);
  if (keeps.has(m.name)) return prev;
  return EITHER;
}
