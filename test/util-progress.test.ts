/**
 * Progress off a terminal (issue 13): a plain line on stderr every interval while a long step
 * runs (count, total, rate), nothing for a short step, nothing at all when disabled (--json).
 * The clock is the test's own, so nothing here depends on how fast the machine is.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressBar, progressLine } from '../src/util/progress.ts';

function capture() {
  const lines: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
    { isTTY: false },
  );
  return { stream, lines };
}

describe('progress off a terminal', () => {
  it('prints a line with rows done, total and rate every interval, none for a short step', () => {
    const { stream, lines } = capture();
    let t = 1_000_000;
    const p = progressBar({ stream, intervalMs: 10_000, now: () => t });
    p.start(1000, 'writing pool');
    for (let i = 0; i < 9; i++) {
      t += 1000;
      p.tick(10);
    }
    expect(lines).toEqual([]); // 9 s: a short step says nothing
    t += 1000;
    p.tick(10); // 10 s, 100 rows
    expect(lines).toEqual(['writing pool: 100 / 1,000 (10%), 10/s, about 90 s left']);
    t += 5000;
    p.tick(400);
    expect(lines).toHaveLength(1); // within the interval
    t += 5000;
    p.tick(0);
    expect(lines[1]).toBe('writing pool: 500 / 1,000 (50%), 25/s, about 20 s left');
    p.stop();
  });

  it('a new step starts its count from zero; bytes are shown in MB; a step without ticks says it is running', () => {
    const { stream, lines } = capture();
    let t = 0;
    const p = progressBar({ stream, intervalMs: 10_000, now: () => t });
    p.start(50e6, 'scanning big.csv', 'bytes');
    t += 10_000;
    p.tick(20e6);
    p.start(0, 'reading big.csv into DuckDB');
    t += 10_000;
    p.tick(0);
    expect(lines).toEqual(['scanning big.csv: 20.0 MB / 50.0 MB (40%), 2.0 MB/s, about 15 s left', 'reading big.csv into DuckDB: running for 10 s']);
    p.stop();
  });

  it('a step run again under the same label after stop counts from zero (one per variant pool)', () => {
    const { stream, lines } = capture();
    let t = 0;
    const p = progressBar({ stream, intervalMs: 10_000, now: () => t });
    p.start(100, 'ranking curve fits');
    t += 10_000;
    p.tick(100);
    p.stop();
    p.start(100, 'ranking curve fits');
    t += 10_000;
    p.tick(40);
    expect(lines).toEqual(['ranking curve fits: 100 / 100 (100%), 10/s', 'ranking curve fits: 40 / 100 (40%), 4/s, about 15 s left']);
    p.stop();
  });

  it('prints nothing when disabled (--json)', () => {
    const { stream, lines } = capture();
    let t = 0;
    const p = progressBar({ stream, enabled: false, intervalMs: 10, now: () => t });
    p.start(10, 'x');
    for (let i = 0; i < 10; i++) {
      t += 1000;
      p.tick(1);
    }
    p.stop();
    expect(lines).toEqual([]);
  });

  it('progressLine without a total', () => {
    expect(progressLine('rows', 1500, 0, 3)).toBe('rows: 1,500, 500/s');
  });

  it('a slow step gives the time per unit, not "0/s"; a finished step that is not stopped says so once, not every interval', () => {
    expect(progressLine('fitting', 1, 4, 30)).toBe('fitting: 1 / 4 (25%), 30 s each, about 90 s left');
    expect(progressLine('reading', 0.5e6, 0, 10, 'bytes')).toBe('reading: 0.5 MB, 0.1 MB/s');
    const { stream, lines } = capture();
    let t = 0;
    const p = progressBar({ stream, intervalMs: 10_000, now: () => t });
    p.start(1, 'fitting');
    t += 30_000;
    p.tick(1); // done after 30 s, but the command goes on with unlabelled work
    for (let i = 0; i < 6; i++) { t += 10_000; p.tick(0); }
    expect(lines).toEqual(['fitting: 1 / 1 (100%), 30 s each']);
    // The next step is reported again.
    p.start(10, 'scoring');
    t += 10_000;
    p.tick(5);
    expect(lines.at(-1)).toBe('scoring: 5 / 10 (50%), 2 s each, about 10 s left');
    p.stop();
  });
});
