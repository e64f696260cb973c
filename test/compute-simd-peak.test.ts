import { describe, expect, it } from 'vitest';
import { CHAINS, peakKernels } from '../compute/simd-peak.ts';

describe('compute/simd-peak: the multiply-add peak kernels', () => {
  it('run the documented chains (acc = acc·0.999 + 0.001 from acc = k + 1) in f32 and f64', () => {
    const k = peakKernels();
    const iters = 37;
    const expected = (round: (x: number) => number) => {
      let sum = 0;
      for (let c = 0; c < CHAINS; c++) {
        let acc = c + 1;
        for (let i = 0; i < iters; i++) acc = round(round(acc * round(0.999)) + round(1e-3));
        sum = c === 0 ? acc : round(sum + acc);
      }
      return sum;
    };
    expect(k.peak_f32(iters)).toBe(expected(Math.fround));
    expect(k.peak_f64(iters)).toBe(expected((x) => x));
  });
});
