import Table from 'cli-table3';

/** Prints rows as a terminal table (human output). */
export function printTable(head: string[], rows: (string | number | null | undefined)[][]): void {
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
