/**
 * Every event `sieve serve` and `sieve worker` log (one line each; a JSON object with --json),
 * in one list: the log functions take only these names (LogEvent), docs/deploy.md lists them
 * all, and test/server-events.test.ts checks the two agree. Import-free.
 */
export const SERVER_EVENTS = [
  // The queue's slots: the server's own workers and every sieve worker alike (src/server/queue.ts).
  'claimed', 'renewed', 'renew-error', 'files-error', 'done', 'stale-result', 'retry', 'failed', 'stale-failure',
  'released', 'lease-lost', 'write-error', 'claim-error', 'audit-done', 'audit-unavailable',
  // The server: start-up, what it learns through its API, background work (src/server/serve.ts).
  'server-started', 'recovered', 'queued', 'cancelled', 'challenge-skipped', 'leaderboard-error',
  // A sieve worker: start-up, its files (src/server/worker-files.ts), its token (src/server/worker.ts).
  'worker-started', 'pool-fetched', 'cache-evicted', 'cache-over-limit', 'token-rotated', 'token-error',
  // Both, on SIGTERM/SIGINT (src/cli/queue-options.ts).
  'stopping', 'stopped',
] as const;

export type ServerEventName = typeof SERVER_EVENTS[number];

/** One log line: its event name and whatever else describes it (job, attempt, worker, reason, …). */
export type LogEvent = { event: ServerEventName } & Record<string, unknown>;
export type EventLogger = (event: LogEvent) => void;
