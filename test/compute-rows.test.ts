import { describe, expect, it } from 'vitest';
import { gatherRows } from '../compute/rows.ts';

describe('compute/rows gatherRows', () => {
  it('copies the named rows in order, keeping the array type', () => {
    const X = Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]);
    const g = gatherRows(X, 2, Int32Array.from([3, 0, 3]));
    expect(g).toBeInstanceOf(Float32Array);
    expect(Array.from(g)).toEqual([30, 31, 0, 1, 30, 31]);
    expect(g.buffer).not.toBe(X.buffer);
  });
  it('gathers labels (width 1), bytes, and only the first `count` rows when asked', () => {
    expect(Array.from(gatherRows(Int32Array.from([5, 6, 7]), 1, [2, 1]))).toEqual([7, 6]);
    const px = gatherRows(Uint8Array.from([1, 2, 3, 4, 5, 6]), 3, [1, 0], 1);
    expect(px).toBeInstanceOf(Uint8Array);
    expect(Array.from(px)).toEqual([4, 5, 6]);
  });
});
