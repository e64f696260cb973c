import { createRequire } from 'node:module';
import type TableModule from 'cli-table3';

// cli-table3 is loaded on the first table, so `--help` and --json output never load it.
const require = createRequire(import.meta.url);
let Table: typeof TableModule | undefined;

/** Prints rows as a terminal table (human output). */
export function printTable(head: string[], rows: (string | number | null | undefined)[][]): void {
  Table ??= require('cli-table3') as typeof TableModule;
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((v) => (v === null || v === undefined ? '' : String(v))));
  console.log(t.toString());
}

/** Prints a value as pretty JSON on stdout (machine output for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Rounds for display only; stored figures keep full precision. */
export function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}
