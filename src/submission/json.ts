/**
 * JSON submissions: an array of ids, an array of {id, label} objects, or {"ids": [...]}.
 * Ids may be strings or integers; anything else is reported with its item index.
 */
import { decodeText } from './text.ts';
import { SubmissionError, type RawSubmission } from './types.ts';

function lineCol(text: string, pos: number): string {
  let line = 1, col = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return `line ${line}, column ${col}`;
}

/**
 * Offset of the first syntax error in JSON text (-1 if none). Node 20's JSON.parse does not
 * always say where it failed, and a line number is what a participant needs.
 */
export function jsonErrorOffset(t: string): number {
  let i = 0;
  const ws = () => { while (i < t.length && ' \t\n\r'.includes(t[i])) i++; };
  const fail = (): never => { throw i; };
  const lit = (w: string) => { if (t.startsWith(w, i)) i += w.length; else fail(); };
  const str = () => {
    i++;
    while (i < t.length && t[i] !== '"') {
      if (t.charCodeAt(i) < 0x20) fail();
      if (t[i] === '\\') {
        i++;
        if (t[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 1, i + 5))) fail(); i += 5; }
        else if ('"\\/bfnrt'.includes(t[i] ?? 'x')) i++;
        else fail();
      } else i++;
    }
    if (i >= t.length) fail();
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(t.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = t[i];
    if (c === '{') {
      i++; ws();
      if (t[i] === '}') { i++; return; }
      for (;;) {
        ws(); if (t[i] !== '"') fail(); str(); ws();
        if (t[i] !== ':') fail(); i++; value(); ws();
        if (t[i] === ',') { i++; continue; }
        if (t[i] === '}') { i++; return; }
        fail();
      }
    }
    if (c === '[') {
      i++; ws();
      if (t[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (t[i] === ',') { i++; continue; }
        if (t[i] === ']') { i++; return; }
        fail();
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    return num();
  };
  try {
    value(); ws();
    return i < t.length ? i : -1;
  } catch (pos) {
    return typeof pos === 'number' ? pos : -1;
  }
}

/** A JSON scalar as an id/label string, or undefined when it cannot be one. */
function scalarText(v: unknown): string | null | undefined {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return undefined;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 37) + '...' : s;
}

export function parseJson(bytes: Uint8Array, where: string): RawSubmission {
  const text = decodeText(bytes, 'json', where);
  if (text.trim() === '') throw new SubmissionError('empty', 'the JSON file holds only whitespace', { where });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    const m = /position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : jsonErrorOffset(text);
    throw new SubmissionError('syntax', `invalid JSON: ${msg}`, { where, examples: pos >= 0 ? [lineCol(text, pos)] : [] });
  }
  let items: unknown[];
  let keyPrefix = '';
  if (Array.isArray(doc)) {
    items = doc;
  } else if (doc !== null && typeof doc === 'object') {
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

  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
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
