/**
 * `bench/label-errors-matrix.ts --explore`: candidate flag rules, ranking scores and noise-rate
 * estimates on every cell's out-of-sample probabilities, so that the analyser's defaults are
 * chosen from the whole matrix (docs/analysers.md records the outcome).
 */
import { computeConfidentJoint, findLabelIssues, normalizedMargin, selfConfidence, numLabelIssues, type FilterBy, type LabelledProba } from '../src/analysers/confident-learning.ts';
import { knnAgreement, knnLabelProba } from '../src/analysers/knn-agreement.ts';
import { knnGraph } from '../src/analysers/neighbour-space.ts';
import type { PoolSplit } from '../src/pool/types.ts';
import { auroc, prf } from '../test/fixtures/label-noise.ts';
import { scoreLabelErrors, selfConfidenceMargin } from '../src/analysers/label-errors.ts';

export interface ExploreRow { kind: string; noise: string; what: string; name: string; value: number; truth?: number }

function blend(p: Float32Array, q: Float32Array, w: number): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = (1 - w) * p[i] + w * q[i];
  return out;
}

function offDiagCalibrated(lp: LabelledProba): number {
  const cj = computeConfidentJoint(lp);
  let off = 0;
  for (let a = 0; a < lp.k; a++) for (let b = 0; b < lp.k; b++) if (a !== b) off += cj.joint[a * lp.k + b];
  return off / lp.n;
}

function oneMinusMeanMax(p: Float32Array, n: number, k: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) { let m = 0; for (let j = 0; j < k; j++) m = Math.max(m, p[i * k + j]); s += m; }
  return 1 - s / n;
}

export async function exploreCell(kind: string, noise: string, split: PoolSplit, proba: Float32Array, noisy: Uint8Array, trueRate: number): Promise<ExploreRow[]> {
  const { n, labels } = split;
  const k = split.classNames.length;
  const graph = await knnGraph(split, 10, { seed: 0 });
  const agree = knnAgreement(graph, labels, k).agreement;
  const pk = knnLabelProba(graph, labels, k, 1);
  const lp: LabelledProba = { labels, proba, n, k };
  const out: ExploreRow[] = [];
  const rule = (name: string, mask: Uint8Array) => out.push({ kind, noise, what: 'f1', name, value: prf(mask, noisy).f1 });
  const cl = (p: Float32Array, filterBy: FilterBy = 'prune_by_noise_rate') => findLabelIssues({ labels, proba: p, n, k }, { filterBy });
  const veto = (m: Uint8Array, t: number) => m.map((v, i) => (v && agree[i] <= t ? 1 : 0));
  const base = cl(proba);
  rule('cl', base);
  rule('cl+veto.2', veto(base, 0.2));
  rule('cl+veto.5', veto(base, 0.5));
  rule('cl+veto.7', veto(base, 0.7));
  rule('pbc', cl(proba, 'prune_by_class'));
  rule('both', cl(proba, 'both'));
  rule('lnm', cl(proba, 'low_normalized_margin'));
  for (const w of [0.2, 0.3, 0.5]) {
    const b = blend(proba, pk, w);
    rule(`blend${w}`, cl(b));
    rule(`blend${w} lnm`, cl(b, 'low_normalized_margin'));
    rule(`blend${w} both`, cl(b, 'both'));
  }
  const neighbours = { proba: pk, agreement: agree };
  const auto = scoreLabelErrors(lp, {}, neighbours);
  rule('auto', auto.mask);
  rule('auto lnm', scoreLabelErrors(lp, { filterBy: 'low_normalized_margin' }, neighbours).mask);
  rule('auto both', scoreLabelErrors(lp, { filterBy: 'both' }, neighbours).mask);
  rule('auto veto.5', scoreLabelErrors(lp, { knnMaxAgreement: 0.5 }, neighbours).mask);
  out.push({ kind, noise, what: 'weight', name: 'w', value: auto.knnWeight });
  const score = (name: string, q: Float64Array) => out.push({ kind, noise, what: 'auroc', name, value: auroc(Array.from(q, (x) => 1 - x), noisy) });
  score('nm', normalizedMargin(lp));
  score('sc', selfConfidence(lp));
  for (const w of [0.2, 0.3, 0.5]) {
    const b = { labels, proba: blend(proba, pk, w), n, k };
    score(`nm blend${w}`, normalizedMargin(b));
    score(`sc blend${w}`, selfConfidence(b));
  }
  for (const lam of [0.25, 0.5]) {
    const sc = selfConfidence(lp), nm = normalizedMargin(lp);
    // nm = (sc − other + 1)/2 → other = sc + 1 − 2 nm
    score(`sc-${lam}other`, Float64Array.from(sc, (v, i) => v - lam * (v + 1 - 2 * nm[i])));
    const b = { labels, proba: blend(proba, pk, 0.3), n, k };
    const sb = selfConfidence(b), nb = normalizedMargin(b);
    score(`sc-${lam}other blend0.3`, Float64Array.from(sb, (v, i) => v - lam * (v + 1 - 2 * nb[i])));
  }
  const autoLp = { labels, proba: auto.proba, n, k };
  score('auto scm', auto.quality);
  score('auto sc', selfConfidence(autoLp));
  score('auto nm', normalizedMargin(autoLp));
  score('scm', selfConfidenceMargin(lp));
  const est = (name: string, v: number) => out.push({ kind, noise, what: 'est', name, value: v, truth: trueRate });
  est('auto', auto.estimatedNoise);
  est('calCJ', offDiagCalibrated(lp));
  est('offdiag', numLabelIssues(lp) / n);
  est('flag cl', base.reduce((a, v) => a + v, 0) / n);
  est('1-meanmax', oneMinusMeanMax(proba, n, k));
  for (const w of [0.3, 0.5]) {
    const b = { labels, proba: blend(proba, pk, w), n, k };
    est(`calCJ blend${w}`, offDiagCalibrated(b));
    est(`offdiag blend${w}`, numLabelIssues(b) / n);
    est(`1-meanmax blend${w}`, oneMinusMeanMax(b.proba, n, k));
  }
  return out;
}

export function printExplore(rows: ExploreRow[]): void {
  const ws = rows.filter((r) => r.what === 'weight');
  if (ws.length) console.log(`\nknn weight chosen: ${ws.map((r) => `${r.kind} · ${r.noise} ${r.value}`).join('; ')}`);
  for (const what of ['f1', 'auroc', 'est'] as const) {
    const sel = rows.filter((r) => r.what === what);
    const names = [...new Set(sel.map((r) => r.name))];
    const cells = [...new Set(sel.map((r) => `${r.kind} · ${r.noise}`))];
    console.log(`\nexplore ${what}${what === 'est' ? ' (relative error)' : ''}:`);
    console.log(['cell'.padEnd(34), ...names.map((x) => x.padStart(Math.max(9, x.length)))].join(' '));
    for (const c of cells) {
      const v = names.map((nm) => {
        const r = sel.find((x) => `${x.kind} · ${x.noise}` === c && x.name === nm)!;
        const val = what === 'est' ? (r.value - r.truth!) / r.truth! : r.value;
        return (what === 'est' ? `${val >= 0 ? '+' : ''}${(val * 100).toFixed(0)}%` : val.toFixed(3)).padStart(Math.max(9, nm.length));
      });
      console.log([c.padEnd(34), ...v].join(' '));
    }
    if (what !== 'est') {
      const ref = what === 'f1' ? 'cl' : 'sc';
      const summary = names.map((nm) => {
        const d = cells.map((c) => {
          const a = sel.find((x) => `${x.kind} · ${x.noise}` === c && x.name === nm)!.value;
          const b = sel.find((x) => `${x.kind} · ${x.noise}` === c && x.name === ref)!.value;
          return a - b;
        });
        return `${nm}: mean ${(d.reduce((s, x) => s + x, 0) / d.length).toFixed(3)} min ${Math.min(...d).toFixed(3)}`;
      });
      console.log(`  vs ${ref}: ${summary.join('; ')}`);
    } else {
      console.log('  mean |relative error|: ' + names.map((nm) => {
        const e = sel.filter((x) => x.name === nm).map((r) => Math.abs(r.value - r.truth!) / r.truth!);
        return `${nm} ${(e.reduce((s, x) => s + x, 0) / e.length * 100).toFixed(0)}% (within 25%: ${e.filter((x) => x <= 0.25).length}/${e.length})`;
      }).join('; '));
    }
  }
}
