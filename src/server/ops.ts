/**
 * What monitors read: `/healthz` (the database answers and has this sieve's schema: 200, else
 * 503) and `/metrics` (Prometheus text format 0.0.4: queue depth, jobs running, the oldest
 * queued job's age, results in the last minute and in all, attempts by outcome, workers
 * holding a live lease). Every figure comes from the store, so one server's /metrics shows the
 * whole queue, whichever machines' workers run it. Counts only: no ids, names or scores.
 */
import { Hono } from 'hono';
import type { QueueStats, ServerStore } from './store/types.ts';

const started = Date.now();

/** The metrics text of one moment's queue statistics. */
export function metricsText(s: QueueStats, now: number, schemaVersion: number): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, values: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of values) out.push(`${name}${labels} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
  };
  metric('sieve_up', 'gauge', 'The server answers and its database is reachable.', [['', 1]]);
  metric('sieve_schema_version', 'gauge', 'Schema version of the server database.', [['', schemaVersion]]);
  metric('sieve_jobs', 'gauge', 'Evaluation jobs by state.', Object.entries(s.jobs).map(([k, v]) => [`{state="${k}"}`, v]));
  metric('sieve_queue_depth', 'gauge', 'Jobs waiting to be claimed by a worker (queued, or running under an expired lease).', [['', s.jobs.queued + s.leaseExpired]]);
  metric('sieve_jobs_running', 'gauge', 'Jobs leased to a worker now (live leases).', [['', s.jobs.running - s.leaseExpired]]);
  metric('sieve_jobs_lease_expired', 'gauge', 'Running jobs whose worker\'s lease ran out: its worker died or lost the database; the next claim takes them.', [['', s.leaseExpired]]);
  metric('sieve_oldest_queued_job_age_seconds', 'gauge', 'Age of the oldest job waiting to be claimed (0 when none waits).', [['', s.oldestQueuedAt === null ? 0 : Math.max(0, (now - s.oldestQueuedAt) / 1000)]]);
  metric('sieve_results_last_minute', 'gauge', 'Results written in the last 60 seconds.', [['', s.resultsLastMinute]]);
  metric('sieve_results_total', 'counter', 'Results written.', [['', s.resultsTotal]]);
  metric('sieve_attempts_total', 'counter', 'Ended evaluation attempts by outcome (failed attempts count toward a job\'s attempts; interrupted, expired and released ones do not).', Object.entries(s.attempts).map(([k, v]) => [`{outcome="${k}"}`, v]));
  metric('sieve_workers_active', 'gauge', 'Workers holding a live lease.', [['', s.workersActive]]);
  metric('sieve_process_uptime_seconds', 'gauge', 'Seconds since this server process started.', [['', (now - started) / 1000]]);
  return `${out.join('\n')}\n`;
}

export function opsApp(store: ServerStore): Hono {
  const app = new Hono();
  app.get('/healthz', async (c) => {
    try {
      const version = await store.currentVersion();
      const ok = version === store.schemaVersion;
      // A newer schema: this process reads nothing more from it (the store refuses), so no counts.
      if (version > store.schemaVersion) return c.json({ ok, database: 'reachable', schema_version: version, expected_schema_version: store.schemaVersion, error: 'the database was upgraded by a newer sieve: this process no longer reads or writes it; upgrade and restart it' }, 503);
      return c.json({ ok, database: 'reachable', schema_version: version, ...(ok ? {} : { expected_schema_version: store.schemaVersion }), jobs: await store.countJobs(), jobs_lease_expired: (await store.queueStats()).leaseExpired }, ok ? 200 : 503);
    } catch (err) {
      return c.json({ ok: false, database: 'unreachable', error: (err as Error).message.split('\n')[0] }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    let text: string;
    try {
      // Live leases by the database's clock (as the workers judge them); ages by this server's, which stamps submissions.
      text = metricsText(await store.queueStats(), Date.now(), await store.currentVersion());
    } catch (err) {
      return c.text(`# the server database cannot be reached: ${(err as Error).message.split('\n')[0]}\nsieve_up 0\n`, 503, { 'content-type': 'text/plain; version=0.0.4' });
    }
    return c.text(text, 200, { 'content-type': 'text/plain; version=0.0.4' });
  });
  return app;
}
