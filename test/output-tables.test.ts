import { describe, expect, it } from 'vitest';
import { fitTable, wrapCell } from '../src/util/output.ts';

const widest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));

describe('human tables fit the terminal', () => {
  const prose = 'About 18.0% of labels look wrong (126 of 700 rows); confident learning estimates 15.6% label noise. Most confusions: bad labelled good (90).';

  it('leaves a table that fits as it is', () => {
    const f = fitTable(['a', 'b'], [['x', 1], ['yy', 22]], { width: 120 });
    expect(f.text.split('\n')[0]).toBe('┌────┬────┐');
    expect(f).toMatchObject({ droppedColumns: [], droppedRows: 0, elided: false });
  });

  it('wraps prose at spaces and keeps every word of it', () => {
    const f = fitTable(['analyser', 'verdict'], [['label-errors', prose]], { width: 60 });
    expect(widest(f.text)).toBeLessThanOrEqual(60);
    expect(f.elided).toBe(false);
    const words = f.text.replace(/[│┌┐└┘├┤┬┴┼─]/g, ' ').split(/\s+/).filter(Boolean);
    for (const w of prose.split(' ')) expect(words).toContain(w);
  });

  it('cuts single tokens with … rather than breaking them, and says so', () => {
    const sha = 'ed7ee92ec3767a9b787bfb5931210a5df5dfd41fc306686983887e935dd72000';
    const f = fitTable(['file', 'sha256'], [['train.parquet', sha]], { width: 50 });
    expect(widest(f.text)).toBeLessThanOrEqual(50);
    expect(f.elided).toBe(true);
    expect(f.text).toMatch(/│ ed7ee92ec3767a9b[0-9a-f]*… │/);
    expect(f.text).not.toContain(sha);
  });

  it('drops trailing columns (never the kept ones) when even narrow columns cannot fit', () => {
    const head = ['id', 'label', ...Array.from({ length: 30 }, (_, j) => `column_${j}`)];
    const row = ['row-000', 'good', ...Array.from({ length: 30 }, (_, j) => `value ${j}`)];
    const f = fitTable(head, [row], { width: 100, keep: 2 });
    expect(widest(f.text)).toBeLessThanOrEqual(100);
    expect(f.droppedColumns.length).toBeGreaterThan(0);
    expect(f.droppedColumns.at(-1)).toBe('column_29');
    expect(f.text).toContain('row-000');
    expect(f.text).toContain('column_0'); // headers are not cut while they fit
    const tiny = fitTable(head, [row], { width: 10, keep: 2 });
    expect(tiny.droppedColumns).toEqual(head.slice(2));
  });

  it('keeps a wrapped word whole when there is room, cutting only when there is not', () => {
    const rows = [['fashion-debug', 'logistic-regression (PCA-64)', 'balanced_accuracy (max)', 'every train row']];
    const f = fitTable(['name', 'model', 'primary', 'budget'], rows, { width: 70 });
    expect(widest(f.text)).toBeLessThanOrEqual(70);
    expect(f.text).toContain('logistic-regression');
    expect(f.text).toContain('balanced_accuracy');
    expect(f.elided).toBe(false);
  });

  it('shows at most maxRows rows and counts the rest', () => {
    const rows = Array.from({ length: 30 }, (_, i) => [i]);
    const f = fitTable(['n'], rows, { maxRows: 5 });
    expect(f.droppedRows).toBe(25);
    expect(f.text).toContain('│ 4 │');
    expect(f.text).not.toContain('│ 5 │');
  });

  it('wrapCell limits lines and marks the cut', () => {
    const r = wrapCell(prose, 20, 2);
    expect(r.text.split('\n')).toHaveLength(2);
    expect(r.text.endsWith('…')).toBe(true);
    expect(r.elided).toBe(true);
    expect(widest(r.text)).toBeLessThanOrEqual(20);
    // A long word inside prose is broken across lines, not lost.
    const long = wrapCell('see https://example.org/a/very/long/path/that/goes/on for more', 16);
    expect(long.text.replace(/\n/g, '')).toContain('https://example.org/a/very/long/path/that/goes/on'.slice(0, 12));
    expect(widest(long.text)).toBeLessThanOrEqual(16);
  });
});
