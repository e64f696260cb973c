// Preloaded by the audit benchmarks (`node --import ./bench/_peak-rss.mjs bin/sieve.mjs …`):
// writes the process's peak resident set size (KiB, worker threads included: one process) to
// $SIEVE_BENCH_RSS_FILE when it exits.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.SIEVE_BENCH_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
