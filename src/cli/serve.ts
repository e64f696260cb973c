/**
 * `sieve serve`: the challenge server (docs/server.md). `--init` creates the database and
 * prints the organiser's token once; without it the server starts on an initialised database.
 */
import type { Command } from 'commander';
import { SieveError } from '../util/errors.ts';
import { printJson } from '../util/output.ts';
import { eventLog, intIn, ownFilesOnly, queueOptions, queueSettings, stopOnSignal, type QueueCliOptions } from './queue-options.ts';

interface ServeCliOptions extends QueueCliOptions {
  db: string;
  port: string;
  host: string;
  challenges?: string;
  workers?: string;
  maxUploadMb: string;
  rateLimit: string;
  allowedHosts?: string;
  init?: boolean;
  newOrganiserToken?: boolean;
  listWorkerTokens?: boolean;
  revokeWorkerToken?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run the challenge server: HTTP API, accounts, a crash-safe evaluation queue, leaderboards (docs/server.md)')
    .option('--db <file|url>', 'the server database: a DuckDB file, or PostgreSQL as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE', 'sieve-server.duckdb')
    .option('--port <n>', 'TCP port (0: any free port)', '8080')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--challenges <dir>', 'serve the challenges in the folders of this directory (default: the built-in challenges)')
    .option('--workers <n>', 'evaluation worker processes (default: one per core; 0: none, sieve worker processes evaluate)')
    .option('--max-upload-mb <n>', 'largest submission upload accepted, in MB', '16')
    .option('--allowed-hosts <names>', 'answer only requests whose Host header names one of these (comma-separated; localhost always): stops a DNS-rebinding web page from using a server on your network')
    .option('--rate-limit <n>', 'requests per minute per client address and per API token (0: no limit)', '600')
    .option('--init', 'create the database and print the organiser token (shown once), then exit')
    .option('--new-organiser-token', 'replace a lost organiser token: print a new one (shown once), the old one stops working; then exit')
    .option('--list-worker-tokens', 'list the sieve worker tokens in the database (each good for 15 min at most), then exit')
    .option('--revoke-worker-token <id>', 'revoke a worker token: its id, all, or expired; then exit');
  queueOptions(cmd, { json: 'with --init: print the token as JSON; serving: log the start and every job event as JSON lines', grace: '0' })
    .addHelpText('after', `
Examples:
  sieve serve --init                       # creates sieve-server.duckdb, prints the organiser token once
  sieve serve --port 8080 --workers 2      # then: curl http://127.0.0.1:8080/api/challenges
  sieve serve --challenges ./my-challenges --db class.duckdb
  PGPASSWORD=… sieve serve --init --db postgres://sieve@db.example/sieve   # the state in PostgreSQL (docs/server.md)
  sieve serve --new-organiser-token --db class.duckdb   # a lost organiser token: a new one, the old one revoked`)
    .action(async (opts: ServeCliOptions) => {
      ownFilesOnly(opts.db);
      const serve = await import('../server/serve.ts');
      if (opts.init) {
        const r = await serve.initServer(opts.db);
        if (opts.json) printJson({ database: r.path, schema_version: r.schemaVersion, organiser: r.organiser, token: r.token });
        else {
          console.log(`created ${r.path} (schema version ${r.schemaVersion})`);
          console.log(`organiser token (shown once; the database keeps only a salted hash):\n${r.token}`);
          // A PostgreSQL URL is shown again with its password as ***.
          const { storeKind } = await import('../server/store/open.ts');
          console.log(`next: sieve serve --db ${storeKind(opts.db) === 'postgres' ? r.path : opts.db}`);
        }
        return;
      }
      if (opts.newOrganiserToken) {
        const r = await serve.newOrganiserToken(opts.db);
        if (opts.json) printJson({ database: r.path, organiser: r.organiser, token: r.token, old_token: 'revoked' });
        else console.log(`new organiser token for ${r.path} (shown once; the old token no longer works):\n${r.token}`);
        return;
      }
      if (opts.listWorkerTokens) {
        const r = await serve.listWorkerTokens(opts.db);
        const rows = r.tokens.map((t) => ({ id: t.id, name: t.name, created_at: new Date(t.createdAt).toISOString(), expires_at: new Date(t.expiresAt).toISOString(), state: t.expired ? 'expired' : 'valid' }));
        if (opts.json) printJson({ database: r.path, tokens: rows });
        else if (!rows.length) console.log(`no worker tokens in ${r.path}`);
        else for (const t of rows) console.log(`${t.id}  ${t.state.padEnd(7)}  made ${t.created_at}, good until ${t.expires_at}  ${t.name}`);
        return;
      }
      if (opts.revokeWorkerToken !== undefined) {
        const r = await serve.revokeWorkerTokens(opts.db, opts.revokeWorkerToken);
        if (opts.json) printJson({ database: r.path, revoked: r.revoked });
        else console.log(r.revoked.length ? `revoked ${r.revoked.length} worker token(s): ${r.revoked.join(', ')}` : 'no worker token to revoke');
        return;
      }
      const workers = opts.workers === undefined ? undefined : intIn(opts.workers, '--workers', 0, 256);
      const q = queueSettings(opts);
      const log = eventLog(q.json);
      const running = await serve.startServer({
        db: opts.db,
        port: intIn(opts.port, '--port', 0, 65535),
        host: opts.host,
        challengesDir: opts.challenges,
        workers,
        jobTimeoutSeconds: q.jobTimeoutSeconds,
        leaseMs: q.leaseMs,
        maxUploadBytes: intIn(opts.maxUploadMb, '--max-upload-mb', 1, 256) * 1024 * 1024,
        ratePerMinute: intIn(opts.rateLimit, '--rate-limit', 0, 1_000_000),
        ...(opts.allowedHosts !== undefined ? { allowedHosts: hostList(opts.allowedHosts) } : {}),
        log,
      });
      const r = running.recovered;
      if (q.json) {
        if (r.requeued || r.failed) log({ event: 'recovered', requeued: r.requeued, failed: r.failed });
        log({ event: 'server-started', url: running.url, db: running.location, challenges: running.challenges, workers: running.workers, lease_seconds: q.leaseMs / 1000 });
      } else {
        if (r.requeued || r.failed) console.log(`sieve serve: resumed ${r.requeued} interrupted job(s)${r.failed ? `, ${r.failed} failed after their last attempt` : ''}`);
        console.log(`sieve serve: listening on ${running.url} (${running.challenges.length} challenges: ${running.challenges.join(', ')}; ${running.workers} worker${running.workers === 1 ? '' : 's'})`);
      }
      stopOnSignal(log, { server: running.url }, running.busy, q.graceMs, (g) => running.close(g));
      // Runs until a signal (stopOnSignal); the job children of a second signal's exit follow it (IPC disconnect).
      await new Promise<never>(() => {});
    });
}

/** `--allowed-hosts a.example,b.example`: host names, lower case, without ports. */
function hostList(value: string): string[] {
  const names = value.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const bad = names.filter((h) => !/^[a-z0-9.-]+$|^[0-9a-f:]+$/.test(h));
  if (!names.length || bad.length) throw new SieveError(`--allowed-hosts takes host names separated by commas (no ports or schemes)${bad.length ? `; not one: ${bad.join(', ')}` : ''}`, { where: '--allowed-hosts' });
  return names;
}
