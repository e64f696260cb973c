import { describe, expect, it } from 'vitest';
import { flaggedCell } from '../src/cli/audit.js';

type R = Parameters<typeof flaggedCell>[0];
const result = (flags: boolean[]) => ({ findings: flags.map((flagged, i) => ({ id: `r${i}`, score: 0, flagged })) }) as unknown as R;

describe('the terminal table\'s flagged-rows cell', () => {
  it('counts flagged rows against the rows of the scope, not against the findings listed', () => {
    // Duplicates lists only clustered rows: 2 of 4 listed are copies, in a pool of 20,000.
    expect(flaggedCell(result([true, false, true, false]), 20000)).toBe('2 / 20,000');
    // Class-imbalance flags every row it lists; the share is of the scope, not "X / X".
    expect(flaggedCell(result([true, true, true]), 300)).toBe('3 / 300');
  });
  it('shows a dash for analysers that judge the pool as a whole', () => {
    expect(flaggedCell(result([]), 100)).toBe('–');
  });
});
