/**
 * JSON submissions: an array of ids, an array of {id, label} objects, or {"ids": [...]}.
 * Ids may be strings or integers (kept as the digits written); anything else is reported with
 * its item index. Parsed strictly: bounded depth, no repeated keys.
 */
import { decodeText, moreRowsThanPool } from './text.ts';
import { SubmissionError, type RawSubmission } from './types.ts';

function lineCol(text: string, pos: number): string {
  let line = 1, col = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return `line ${line}, column ${col}`;
}

/** Deepest nesting a JSON submission may have (the real forms need 3). */
export const MAX_JSON_DEPTH = 64;

/** A number exactly as written in the file: ids are compared as the strings the user wrote. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

class JsonSyntax extends Error {
  constructor(message: string, readonly pos: number) {
    super(message);
  }
}

/** The submission's list holds more items than parseStrictJson's maxItems. */
class JsonTooLong extends Error {
  constructor(readonly pos: number) {
    super('too many items');
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * A strict, iterative JSON parser: no recursion (a 200,000-deep array is a clear error, not a
 * stack overflow), nesting bounded by `maxDepth`, a key repeated within one object is an error
 * (JSON.parse would silently keep the last), and numbers are kept as written (JsonNumber).
 * Objects have no prototype, so a "__proto__" key is just a key.
 */
export function parseStrictJson(t: string, maxDepth = MAX_JSON_DEPTH, maxItems = Infinity): JsonValue {
  let i = 0;
  const n = t.length;
  const ws = () => {
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = i;
    i++;
    let escaped = false;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw new JsonSyntax('control character inside a string', i);
      if (c === 0x5c) {
        escaped = true;
        i += 2;
      } else i++;
    }
    if (i >= n) throw new JsonSyntax('a string is never closed', start);
    i++;
    if (!escaped) return t.slice(start + 1, i - 1);
    try {
      return JSON.parse(t.slice(start, i)) as string;
    } catch {
      throw new JsonSyntax('bad escape sequence in a string', start);
    }
  };
  const key = (): string => {
    ws();
    if (t[i] !== '"') throw new JsonSyntax('expected a "key" in double quotes', i);
    const k = str();
    ws();
    if (t[i] !== ':') throw new JsonSyntax('expected ":" after a key', i);
    i++;
    return k;
  };
  type Frame = { arr: JsonValue[] } | { obj: { [key: string]: JsonValue }; keys: Set<string>; key: string };
  const stack: Frame[] = [];
  let current: JsonValue = null;
  let needValue = true;
  for (;;) {
    ws();
    if (needValue) {
      const c = t[i];
      if (c === '[' || c === '{') {
        if (stack.length >= maxDepth) throw new JsonSyntax(`nested deeper than ${maxDepth} levels`, i);
        i++;
        ws();
        if (c === '[') {
          if (t[i] === ']') {
            i++;
            current = [];
            needValue = false;
          } else stack.push({ arr: [] });
        } else {
          const obj = Object.create(null) as { [key: string]: JsonValue };
          if (t[i] === '}') {
            i++;
            current = obj;
            needValue = false;
          } else {
            const k = key();
            stack.push({ obj, keys: new Set([k]), key: k });
          }
        }
        continue;
      }
      if (c === '"') current = str();
      else if (t.startsWith('true', i)) (current = true), (i += 4);
      else if (t.startsWith('false', i)) (current = false), (i += 5);
      else if (t.startsWith('null', i)) (current = null), (i += 4);
      else {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(t);
        if (!m) throw new JsonSyntax(i >= n ? 'unexpected end of the file' : `unexpected ${JSON.stringify(t[i])}`, i);
        current = new JsonNumber(m[0]);
        i += m[0].length;
      }
      needValue = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (!top) {
      if (i < n) throw new JsonSyntax('unexpected text after the JSON value', i);
      return current;
    }
    if ('arr' in top) {
      top.arr.push(current);
      // The submission's own list (the top-level array, or "ids" of the top-level object).
      if (top.arr.length > maxItems && (stack.length === 1 || (stack.length === 2 && 'obj' in stack[0] && stack[0].key === 'ids'))) throw new JsonTooLong(i);
      if (t[i] === ',') (i++, (needValue = true));
      else if (t[i] === ']') (i++, stack.pop(), (current = top.arr));
      else throw new JsonSyntax('expected "," or "]"', i);
      continue;
    }
    top.obj[top.key] = current;
    if (t[i] === ',') {
      i++;
      ws();
      const at = i;
      const k = key();
      if (top.keys.has(k)) throw new JsonSyntax(`duplicate key ${JSON.stringify(k)} in one object`, at);
      top.keys.add(k);
      top.key = k;
      needValue = true;
    } else if (t[i] === '}') (i++, stack.pop(), (current = top.obj));
    else throw new JsonSyntax('expected "," or "}"', i);
  }
}

/** A JSON scalar as an id/label string, or undefined when it cannot be one. */
function scalarText(v: unknown): string | null | undefined {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  // An integer exactly as written (no float rounding, no 1e3 → "1000"): ids are strings.
  if (v instanceof JsonNumber && /^-?\d+$/.test(v.text)) return v.text;
  return undefined;
}

function describe(v: unknown): string {
  if (v instanceof JsonNumber) return v.text;
  const s = JSON.stringify(v, (_k, x) => (x instanceof JsonNumber ? Number(x.text) : x));
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 37) + '...' : s;
}

export function parseJson(bytes: Uint8Array, where: string, limits: { maxRows?: number } = {}): RawSubmission {
  const text = decodeText(bytes, 'json', where);
  if (text.trim() === '') throw new SubmissionError('empty', 'the JSON file holds only whitespace', { where });
  let doc: unknown;
  try {
    doc = parseStrictJson(text, MAX_JSON_DEPTH, limits.maxRows);
  } catch (err) {
    if (err instanceof JsonTooLong) throw moreRowsThanPool('JSON', where, limits.maxRows!, { stoppedAt: `its item [${limits.maxRows}], ${lineCol(text, err.pos)}` });
    if (!(err instanceof JsonSyntax)) throw err;
    throw new SubmissionError('syntax', `invalid JSON: ${err.message}`, { where, examples: [lineCol(text, err.pos)] });
  }
  let items: unknown[];
  let keyPrefix = '';
  if (Array.isArray(doc)) {
    items = doc;
  } else if (doc !== null && typeof doc === 'object' && !(doc instanceof JsonNumber)) {
    const keys = Object.keys(doc);
    const extra = keys.filter((k) => k !== 'ids');
    if (!keys.includes('ids')) {
      throw new SubmissionError('missing-columns', 'a JSON object submission needs an "ids" array ({"ids": [...]})', {
        where,
        examples: keys.length ? [`keys found: ${keys.slice(0, 5).join(', ')}`] : [],
      });
    }
    if (extra.length) {
      throw new SubmissionError('extra-columns', `unexpected key(s) next to "ids": ${extra.join(', ')}`, { where, count: extra.length, examples: extra });
    }
    const ids = (doc as { ids: unknown }).ids;
    if (!Array.isArray(ids)) throw new SubmissionError('syntax', `"ids" must be an array, not ${describe(ids)}`, { where });
    items = ids;
    keyPrefix = 'ids';
  } else {
    throw new SubmissionError('syntax', `a JSON submission is an array or {"ids": [...]}, not ${describe(doc)}`, { where });
  }
  if (!items.length) throw new SubmissionError('empty', 'the JSON submission is an empty array', { where });

  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber);
  const objects = items.filter(isObj).length;
  const origins = Int32Array.from(items, (_, i) => i);
  const itemName = (i: number) => `${keyPrefix}[${i}]`;
  if (objects > 0 && objects < items.length) {
    const firstNon = items.findIndex((v) => !isObj(v));
    throw new SubmissionError('syntax', 'mixed array: some items are {id, label} objects and some are not', {
      where,
      examples: [`${itemName(firstNon)}: ${describe(items[firstNon])}`],
    });
  }

  if (objects === 0) {
    const bad: string[] = [];
    const ids = items.map((v, i) => {
      const s = scalarText(v);
      if (s === undefined) bad.push(`${itemName(i)}: ${describe(v)}`);
      return s ?? null;
    });
    if (bad.length) {
      throw new SubmissionError('syntax', `${bad.length} id(s) are neither strings nor integers`, { where, count: bad.length, examples: bad.slice(0, 5) });
    }
    return { format: 'json', columns: ['id'], ids, labels: null, origins, originKind: 'item' };
  }

  // Objects: the union of their keys are the columns; every object must have all of them.
  const columns: string[] = [];
  for (const v of items) for (const k of Object.keys(v as object)) if (!columns.includes(k)) columns.push(k);
  const lacking: string[] = [];
  items.forEach((v, i) => {
    const missing = columns.filter((c) => !(c in (v as object)));
    if (missing.length) lacking.push(`${itemName(i)} lacks ${missing.join(', ')}`);
  });
  if (lacking.length) {
    throw new SubmissionError('missing-columns', `${lacking.length} object(s) lack keys that others have`, {
      where,
      count: lacking.length,
      examples: lacking.slice(0, 5),
    });
  }
  const column = (name: string): (string | null)[] | null => {
    if (!columns.includes(name)) return null;
    const bad: string[] = [];
    const out = items.map((v, i) => {
      const raw = (v as Record<string, unknown>)[name];
      const s = scalarText(raw);
      if (s === undefined) bad.push(`${itemName(i)}.${name}: ${describe(raw)}`);
      return s ?? null;
    });
    if (bad.length) {
      throw new SubmissionError('syntax', `${bad.length} value(s) of "${name}" are neither strings nor integers`, {
        where,
        count: bad.length,
        examples: bad.slice(0, 5),
      });
    }
    return out;
  };
  return { format: 'json', columns, ids: column('id') ?? [], labels: column('label'), origins, originKind: 'item' };
}
