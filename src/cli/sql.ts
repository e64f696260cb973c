/**
 * `sieve sql <database | pool> "SELECT …"`: one read-only DuckDB SELECT over an audit
 * database or a pool's participant splits (src/sql/query.ts), printed as a table, JSON or CSV.
 */
import type { Command } from 'commander';
import { parseCount } from './pool-head.ts';
import { printJson, printTable } from '../util/output.ts';
import { SieveError } from '../util/errors.ts';

export function register(program: Command): void {
  program
    .command('sql')
    .description('run one read-only DuckDB SELECT over an audit database (sieve audit --db) or a pool\'s participant splits')
    .argument('<target>', 'a DuckDB file written by `sieve audit --db`, or a pool (built-in name, workspace name or directory)')
    .argument('<query>', 'one SELECT (also WITH …, FROM …, DESCRIBE t, SHOW TABLES, SUMMARIZE t)')
    .option('--json', 'print the rows as a JSON array of objects (every row, full values)')
    .option('--csv', 'print the rows as CSV with a header line (every row, full values)')
    .option('--max-rows <n>', 'rows shown in the table (--json and --csv print every row)', '40')
    .addHelpText('after', `
Tables: an audit database has audit, summary, figures, findings_<analyser> and the analysers'
extra tables (docs/audit.md, "DuckDB tables"); a pool has train, and test only where the test
split is participant-visible (your own imported data). Nothing else can be read: the query
runs read-only, with DuckDB's external access off (no read_csv, read_parquet, COPY, ATTACH,
extensions or network) and its configuration locked.

Examples:
  sieve sql audit.duckdb "SELECT analyser, severity, flagged, verdict FROM summary"
  sieve sql audit.duckdb "SELECT id, suggested_label FROM findings_label_errors WHERE flagged ORDER BY score DESC"
  sieve sql german-credit "SELECT label, sex, count(*) AS n FROM train GROUP BY ALL ORDER BY ALL"
  sieve sql audit.duckdb "SELECT id FROM findings_label_errors WHERE NOT flagged" --csv > clean-ids.csv`)
    .action(async (target: string, query: string, opts: { json?: boolean; csv?: boolean; maxRows: string }) => {
      if (opts.json && opts.csv) throw new SieveError('--json and --csv are alternatives: give one', { where: '--csv' });
      const maxRows = parseCount(opts.maxRows, '--max-rows');
      const { runSql, displayCell, csvCell } = await import('../sql/query.ts');
      const r = await runSql(target, query);
      if (opts.json) return printJson(r.rows);
      const names = r.columns.map((c) => c.name);
      if (opts.csv) {
        const lines = [names.map(csvCell).join(',')];
        for (const row of r.rows) lines.push(names.map((n) => csvCell(row[n])).join(','));
        process.stdout.write(lines.join('\n') + '\n');
        return;
      }
      if (!r.rows.length) return console.log(`(no rows; columns: ${names.join(', ')})`);
      printTable(names, r.rows.map((row) => r.columns.map((c) => displayCell(c.type, row[c.name]))), {
        maxRows,
        maxCellLines: 4,
        more: '--json or --csv print every row and value in full (or narrow the query: SELECT a, b … LIMIT n)',
      });
      console.log(`${r.rows.length.toLocaleString('en-US')} row${r.rows.length === 1 ? '' : 's'}`);
    });
}
