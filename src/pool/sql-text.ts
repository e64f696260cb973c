/**
 * SQL text helpers with no DuckDB behind them, so that a module can build queries without
 * loading the database (src/pool/read.ts loads DuckDB only when it reads a file).
 */

/** A single-quoted SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier (column names like `group` are reserved words). */
export function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}
