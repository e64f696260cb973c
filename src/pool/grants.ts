/**
 * Pool objects the evaluator hands a strategy runner so it may read their train split although
 * the manifest marks it evaluator-only: a challenge's hidden variant pool, on which the
 * strategy is re-run (src/evaluate/variants.ts). Only `grantStrategyRead` in hidden.ts (the
 * evaluator's door) adds to the set; read.ts consults it. A grant covers the train split of
 * that one object: opening the same directory again gives an ungranted pool, which every
 * participant read refuses, and test, truth and duplicates stay refused either way.
 */
const granted = new WeakSet<object>();

export function addGrant(pool: object): void {
  granted.add(pool);
}

export function hasGrant(pool: object): boolean {
  return granted.has(pool);
}
