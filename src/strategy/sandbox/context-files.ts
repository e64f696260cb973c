/**
 * The code strategy's context as files: one JSON header (`context.json`) and one raw
 * little-endian typed-array binary per column, written by the parent into the run's private
 * directory. The child (child.ts) maps them back into the StrategyContext of
 * src/strategy/context.ts. The child may read this directory and nothing else, so what is
 * written here is exactly what a strategy can see: train-split participant columns and the
 * findings it is given, never test, truth or variant files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadColumn } from '../../pool/duckdb.ts';
import type { RawSplit } from '../../pool/read.ts';
import { SieveError } from '../../util/errors.ts';
import type { StrategyTask } from '../context.ts';

export const CONTEXT_HEADER = 'context.json';
export const CONTEXT_FORMAT = 'sieve-strategy-context/1';

export type DType = 'f64' | 'f32' | 'i32' | 'u8';

export interface BinaryRef {
  file: string;
  dtype: DType;
  length: number;
}

export type ColumnHeader =
  | { name: string; kind: 'numeric'; data: BinaryRef }
  | { name: string; kind: 'embedding'; dim: number; data: BinaryRef }
  | { name: string; kind: 'pixels'; dim: number; width: number; height: number; channels: number; data: BinaryRef }
  | { name: string; kind: 'categorical'; categories: string[]; data: BinaryRef }
  | { name: string; kind: 'text'; values: string[] };

export interface FindingsHeader {
  columns: { name: string; data: BinaryRef }[];
  skipped: { name: string; reason: string }[];
}

export interface ContextHeader {
  format: typeof CONTEXT_FORMAT;
  task: StrategyTask;
  budget: number;
  seed: number;
  n: number;
  ids: string[];
  classNames: string[];
  labels: BinaryRef;
  columns: ColumnHeader[];
  groups: { name: string; levels: string[]; data: BinaryRef }[];
  /** null until the strategy asks for them (then the parent computes them and runs it again). */
  findings: FindingsHeader | null;
  oosProbabilities: BinaryRef | null;
  /** Most bytes the child may send back (it checks before sending; the parent enforces it). */
  maxResultBytes: number;
  /** Most entries the result may hold. */
  maxRows: number;
}

/** Per-row findings as the parent hands them over: typed columns aligned with the split's rows. */
export interface FindingColumns {
  columns: Record<string, Float64Array | Float32Array | Int32Array | Uint8Array>;
  skipped: { name: string; reason: string }[];
}

export interface ContextInput {
  task: StrategyTask;
  budget: number;
  seed: number;
  classNames: readonly string[];
  split: RawSplit;
  findings?: FindingColumns | null;
  oosProbabilities?: Float32Array | Float64Array | null;
  maxResultBytes: number;
  maxRows: number;
}

type Typed = Float64Array | Float32Array | Int32Array | Uint8Array;

function dtypeOf(a: Typed): DType {
  return a instanceof Float64Array ? 'f64' : a instanceof Float32Array ? 'f32' : a instanceof Int32Array ? 'i32' : 'u8';
}

/** Codes and sorted levels (code-unit order, locale-free) of a string column; null is -1. */
export function encodeLevels(values: readonly (string | null)[]): { levels: string[]; codes: Int32Array } {
  const levels = [...new Set(values.filter((v): v is string => v !== null))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(levels.map((l, i) => [l, i]));
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = values[i] === null ? -1 : index.get(values[i] as string)!;
  return { levels, codes };
}

/** Writes the context into `dir` (an existing private directory); returns the bytes written. */
export async function writeContextFiles(dir: string, input: ContextInput): Promise<{ header: ContextHeader; bytes: number }> {
  const { split } = input;
  const n = split.n;
  let count = 0;
  let bytes = 0;
  const writes: Promise<void>[] = [];
  const binary = (a: Typed): BinaryRef => {
    const file = `b${count++}.bin`;
    const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    bytes += view.byteLength;
    writes.push(writeFile(join(dir, file), view, { mode: 0o600 }));
    return { file, dtype: dtypeOf(a), length: a.length };
  };
  const byName = new Map(split.columns.map((c) => [c.name, c]));
  const column = <T extends ReadColumn['type']>(name: string, type: T): Extract<ReadColumn, { type: T }> => {
    const c = byName.get(name);
    if (!c || c.type !== type) throw new SieveError(`pool column "${name}" did not read as ${type}`, { where: split.path });
    return c as Extract<ReadColumn, { type: T }>;
  };

  const ids = column('id', 'VARCHAR').values as string[];
  const labels = binary(column('label', 'INTEGER').values);
  const columns: ColumnHeader[] = [];
  for (const f of split.features) {
    switch (f.kind) {
      case 'numeric': {
        const c = column(f.name, 'DOUBLE');
        const values = Float64Array.from(c.values);
        if (c.nulls) for (let i = 0; i < n; i++) if (c.nulls[i]) values[i] = NaN;
        columns.push({ name: f.name, kind: 'numeric', data: binary(values) });
        break;
      }
      case 'embedding': {
        const c = column(f.name, 'FLOAT[]');
        columns.push({ name: f.name, kind: 'embedding', dim: c.dim, data: binary(c.values) });
        break;
      }
      case 'pixels': {
        const c = column(f.name, 'BLOB');
        const dim = f.width! * f.height! * (f.channels ?? 1);
        const flat = new Uint8Array(n * dim);
        for (let i = 0; i < n; i++) {
          const b = c.values[i];
          if (!b || b.length !== dim)
            throw new SieveError(`row ${i + 1}: pixels "${f.name}" hold ${b ? b.length : 'no'} bytes, expected ${dim}`, { where: split.path });
          flat.set(b, i * dim);
        }
        columns.push({ name: f.name, kind: 'pixels', dim, width: f.width!, height: f.height!, channels: f.channels ?? 1, data: binary(flat) });
        break;
      }
      case 'categorical': {
        const values = column(f.name, 'VARCHAR').values;
        const cats = f.categories!;
        const index = new Map(cats.map((x, j) => [x, j]));
        const codes = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const v = values[i];
          const j = v === null ? -1 : index.get(v);
          if (j === undefined)
            throw new SieveError(`row ${i + 1}: "${f.name}" = ${JSON.stringify(v)} is not among its categories`, { where: split.path });
          codes[i] = j;
        }
        columns.push({ name: f.name, kind: 'categorical', categories: [...cats], data: binary(codes) });
        break;
      }
      case 'text':
        columns.push({ name: f.name, kind: 'text', values: column(f.name, 'VARCHAR').values.map((s) => s ?? '') });
        break;
    }
  }
  const groups = split.groups.map((name) => {
    const { levels, codes } = encodeLevels(column(name, 'VARCHAR').values);
    return { name, levels, data: binary(codes) };
  });

  let findings: FindingsHeader | null = null;
  if (input.findings) {
    findings = { columns: [], skipped: input.findings.skipped };
    for (const [name, values] of Object.entries(input.findings.columns)) {
      if (values.length !== n)
        throw new SieveError(`finding column "${name}" has ${values.length} values for ${n} rows`, { where: 'findings' });
      findings.columns.push({ name, data: binary(values) });
    }
  }
  let oos: BinaryRef | null = null;
  if (input.oosProbabilities) {
    const k = input.classNames.length;
    if (input.oosProbabilities.length !== n * k)
      throw new SieveError(`out-of-sample probabilities hold ${input.oosProbabilities.length} values for ${n} rows × ${k} classes`, { where: 'findings' });
    oos = binary(input.oosProbabilities instanceof Float32Array ? input.oosProbabilities : Float32Array.from(input.oosProbabilities));
  }

  const header: ContextHeader = {
    format: CONTEXT_FORMAT,
    task: input.task,
    budget: input.budget,
    seed: input.seed,
    n,
    ids,
    classNames: [...input.classNames],
    labels,
    columns,
    groups,
    findings,
    oosProbabilities: oos,
    maxResultBytes: input.maxResultBytes,
    maxRows: input.maxRows,
  };
  const json = JSON.stringify(header);
  bytes += Buffer.byteLength(json);
  writes.push(writeFile(join(dir, CONTEXT_HEADER), json, { mode: 0o600 }));
  await Promise.all(writes);
  return { header, bytes };
}
