/**
 * What a waiting `sieve submit` says about its job (src/server/client.ts jobWaitLine,
 * jobWaitReporter): a queued job how long it has waited, a running one how long its attempt has
 * run, never "queued: running for"; each state (or attempt) counts from zero; off a terminal a
 * line every interval, none for a short wait; on a terminal one line rewritten; nothing under
 * --json. The clock is the test's own. (The command itself, through execFile: server-cli.test.ts.)
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { jobWaitLine, jobWaitReporter } from '../src/server/client.ts';

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(new Writable({ write(chunk, _enc, done) { chunks.push(String(chunk)); done(); } }), { isTTY });
  return { stream, chunks };
}

describe('the waiting job line', () => {
  it('says how long a queued job has waited and how long a running attempt has run', () => {
    expect(jobWaitLine({ state: 'queued', attempts: 0 }, 10.4)).toBe('queued: waiting for 10 s');
    expect(jobWaitLine({ state: 'queued', attempts: 1 }, 3)).toBe('queued again for attempt 2: waiting for 3 s');
    expect(jobWaitLine({ state: 'running', attempts: 1 }, 12.6)).toBe('running attempt 1: evaluating for 13 s');
    expect(jobWaitLine({ state: 'running', attempts: 3 }, 0)).toBe('running attempt 3: evaluating for 0 s');
  });

  it('off a terminal: a line every interval while a state lasts, none for a short one; a new state or attempt counts from zero', () => {
    const { stream, chunks } = capture(false);
    let t = 5_000_000;
    const r = jobWaitReporter({ stream, intervalMs: 10_000, now: () => t });
    const poll = (state: 'queued' | 'running', attempts: number, seconds: number) => {
      for (let i = 0; i < seconds; i++) { r.update({ state, attempts }); t += 1000; }
    };
    poll('queued', 0, 10); // polled at 0..9 s: nothing yet
    expect(chunks).toEqual([]);
    poll('queued', 0, 11); // 10 s and 20 s
    poll('running', 1, 11); // from zero: 10 s into the attempt
    poll('queued', 1, 4); // a short wait for the retry: nothing
    poll('running', 2, 11);
    r.stop();
    expect(chunks).toEqual([
      'queued: waiting for 10 s\n',
      'queued: waiting for 20 s\n',
      'running attempt 1: evaluating for 10 s\n',
      'running attempt 2: evaluating for 10 s\n',
    ]);
    expect(chunks.join('')).not.toMatch(/queued[^\n]*running for/);
  });

  it('on a terminal: one line rewritten at every poll and cleared at the end; nothing when disabled', () => {
    const tty = capture(true);
    let t = 0;
    const ci = process.env.CI;
    delete process.env.CI; // under CI a terminal counts as none (as for progress bars)
    try {
      const r = jobWaitReporter({ stream: tty.stream, now: () => t });
      r.update({ state: 'queued', attempts: 0 });
      t += 2000;
      r.update({ state: 'queued', attempts: 0 });
      t += 1000;
      r.update({ state: 'running', attempts: 1 });
      r.stop();
    } finally {
      if (ci !== undefined) process.env.CI = ci;
    }
    expect(tty.chunks).toEqual(['\r\x1b[Kqueued: waiting for 0 s', '\r\x1b[Kqueued: waiting for 2 s', '\r\x1b[Krunning attempt 1: evaluating for 0 s', '\r\x1b[K']);
    const off = capture(false);
    const quiet = jobWaitReporter({ stream: off.stream, enabled: false, intervalMs: 1, now: () => (t += 1000) });
    for (let i = 0; i < 5; i++) quiet.update({ state: 'queued', attempts: 0 });
    quiet.stop();
    expect(off.chunks).toEqual([]);
  });
});
