/**
 * class-agreement: drop the rows whose embedding agrees least with their class, sample the rest (DataComp's CLIP-score filter).
 *
 * What: the rows become unit vectors: the pool's embedding columns when it has any (`sieve
 * embed`), else all its features (ctx.helpers.featureRows, projected to at most 256
 * dimensions). A row's score is the cosine between it and the mean of the other rows of its
 * class (its class prototype, the row itself left out). The 30% of each class that agree
 * least are dropped, and the budget is drawn at random, equally per class, from the rest.
 * When it helps: pools with wrong labels and off-topic rows, which sit far from their class;
 * DataComp keeps the image-caption pairs CLIP finds most alike for the same reason. On a
 * clean pool it only narrows the sample. Tasks: selection.
 */
import type { StrategyContext } from '../src/strategy/context.ts';

export function select(ctx: StrategyContext): number[] {
  const h = ctx.helpers;
  const embeddings = Object.fromEntries(Object.entries(ctx.columns).filter(([, c]) => c.kind === 'embedding'));
  const source = Object.keys(embeddings).length ? embeddings : ctx.columns;
  const { rows, dim } = h.featureRows(source, ctx.n, { maxDim: 256, seed: ctx.seed });
  for (let i = 0; i < ctx.n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += rows[i * dim + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) rows[i * dim + j] *= inv;
  }
  const k = ctx.classNames.length;
  const sums = new Float64Array(k * dim);
  for (let i = 0; i < ctx.n; i++) for (let j = 0; j < dim; j++) sums[ctx.labels[i] * dim + j] += rows[i * dim + j];
  const score = new Float64Array(ctx.n);
  for (let i = 0; i < ctx.n; i++) {
    const c = ctx.labels[i];
    let dot = 0, norm = 0;
    for (let j = 0; j < dim; j++) {
      const x = rows[i * dim + j], p = sums[c * dim + j] - x; // the prototype without row i
      dot += x * p;
      norm += p * p;
    }
    score[i] = norm > 0 ? dot / Math.sqrt(norm) : 0;
  }
  // DataComp filters by score, then trains on what is left: drop each class's least typical
  // DROP share, then draw the budget at random, equally per class, from the rest (diversity kept).
  const DROP = 0.3;
  const strata = new Int32Array(ctx.n).fill(-1);
  for (let c = 0; c < k; c++) {
    const members: number[] = [];
    for (let i = 0; i < ctx.n; i++) if (ctx.labels[i] === c) members.push(i);
    members.sort((a, b) => score[b] - score[a] || a - b);
    for (const i of members.slice(0, Math.max(1, Math.ceil(members.length * (1 - DROP))))) strata[i] = c;
  }
  return Array.from(h.stratifiedSample(strata, ctx.budget, ctx.random));
}
