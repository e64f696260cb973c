/**
 * `bench/label-errors-matrix.ts --explore`: candidate flag rules, ranking scores and noise-rate
 * estimates on every cell's out-of-sample probabilities, so that the analyser's defaults are
 * chosen from the whole matrix (docs/analysers.md records the outcome).
 */
import { computeConfidentJoint, findLabelIssues, normalizedMargin, predictedAsGiven, selfConfidence, numLabelIssues, type FilterBy, type LabelledProba } from '../src/analysers/confident-learning.ts';
import { knnAgreement, knnLabelProba } from '../src/analysers/knn-agreement.ts';
import { knnGraph } from '../src/analysers/neighbour-space.ts';
import type { PoolSplit } from '../src/pool/types.ts';
import { auroc, prf } from '../test/fixtures/label-noise.ts';
import { fitTemperature, scoreLabelErrors, selfConfidenceMargin, temperatureScale } from '../src/analysers/label-errors.ts';

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
  const score = (name: string, q: Float64Array) => out.push({ kind, noise, what: 'auroc', name, value: auroc(Array.from(q, (x) => 1 - x), noisy) });
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
  {
    // Count rules on the default probabilities (auto's blend) and ranking (its quality score).
    const alp: LabelledProba = { labels, proba: auto.proba, n, k };
    const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => auto.quality[a] - auto.quality[b] || a - b);
    const topM = (m: number, onlyDisagree: boolean) => {
      const mask = new Uint8Array(n);
      let t = 0;
      for (const i of order) { if (t >= m) break; if (onlyDisagree && predictedAsGiven(alp, i)) continue; mask[i] = 1; t++; }
      return mask;
    };
    const nEst = Math.round(auto.estimatedNoise * n);
    rule('sc@est', topM(nEst, false));
    rule('sc@est am', topM(nEst, true));
    // A larger count with the same ranking: the calibrated joint's off-diagonal total.
    const cjC = computeConfidentJoint(alp);
    let offC = 0; for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) if (a !== b) offC += cjC.joint[a * k + b];
    rule('sc@calCJ am', topM(offC, true));
    {
      // cleanlab's per-cell counts and margin order, each cell's count filled among the rows not
      // predicted as their given label (so the argmax rule cannot shorten it).
      const rowsOf: number[][] = Array.from({ length: k }, () => []);
      for (let i = 0; i < n; i++) if (!predictedAsGiven(alp, i)) rowsOf[labels[i]].push(i);
      const mask = new Uint8Array(n);
      const pp = auto.proba;
      for (let g = 0; g < k; g++) for (let t = 0; t < k; t++) {
        const num = t === g ? 0 : cjC.joint[g * k + t];
        if (num <= 0) continue;
        const sorted = rowsOf[g].slice().sort((a, b) => (pp[b * k + t] - pp[b * k + g]) - (pp[a * k + t] - pp[a * k + g]) || a - b);
        for (let x = 0; x < Math.min(num, sorted.length); x++) mask[sorted[x]] = 1;
      }
      rule('pbnr fill', mask);
    }
    // Oracle count (not a rule: it needs the truth): the default ranking cut at the true number
    // of flips, to tell a count problem from a ranking problem.
    let nTrue = 0; for (let i = 0; i < n; i++) nTrue += noisy[i];
    rule('oracle sc@true', topM(nTrue, false));
    // Every row predicted as another class (cleanlab's predicted_neq_given), and confident
    // learning on sharpened probabilities (p^2, renormalised: between the default and that).
    rule('auto pneg', findLabelIssues(alp, { filterBy: 'predicted_neq_given' }));
    rule('auto T0.5', findLabelIssues({ labels, proba: temperatureScale(auto.proba, n, k, 0.5), n, k }));
    // Expected F1 with e_i = 1 − p_given of the temperature-scaled blend.
    const T = fitTemperature(alp);
    const ps = temperatureScale(auto.proba, n, k, T);
    const e = Float64Array.from({ length: n }, (_, i) => 1 - ps[i * k + labels[i]]);
    const eOrder = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => e[b] - e[a] || a - b);
    let total = 0; for (let i = 0; i < n; i++) total += e[i];
    const ef1 = (onlyDisagree: boolean) => {
      let s = 0, m = 0, best = 0, bestM = 0;
      const rows: number[] = [];
      for (const i of eOrder) {
        if (onlyDisagree && predictedAsGiven(alp, i)) continue;
        s += e[i]; m++; rows.push(i);
        const f = (2 * s) / (m + total);
        if (f > best) { best = f; bestM = m; }
      }
      const mask = new Uint8Array(n);
      for (let t = 0; t < bestM; t++) mask[rows[t]] = 1;
      return mask;
    };
    // Confident learning on the temperature-scaled blend (calibrated to the given labels).
    const calLp: LabelledProba = { labels, proba: ps, n, k };
    rule('cal cl', findLabelIssues(calLp));
    // The blend's own margins, with the counts of the joint of the temperature-scaled blend.
    rule('pbnr cj(T)', findLabelIssues(alp, { confident: computeConfidentJoint(calLp) }));
    out.push({ kind, noise, what: 'est', name: 'cal offdiag', value: numLabelIssues(calLp) / n, truth: trueRate });
    out.push({ kind, noise, what: 'weight', name: 'T', value: T });
    rule('ef1', ef1(false));
    rule('ef1 am', ef1(true));
    // Posterior error probabilities through the noise transition T = P(given | true) of the
    // confident joint (calibrated or not): clean posterior c = (Tᵀ)⁻¹ p (clipped, renormalised),
    // P(error) = 1 − c_given T[given][given] / Σ_j c_j T[j][given]; flags maximise expected F1.
    for (const calibrate of [true, false]) {
      const cj = computeConfidentJoint({ labels, proba: ps, n, k }, { calibrate });
      const Tm = new Float64Array(k * k); // Tm[t*k+g] = P(given g | true t)
      for (let t = 0; t < k; t++) { let c = 0; for (let g = 0; g < k; g++) c += cj.joint[g * k + t]; for (let g = 0; g < k; g++) Tm[t * k + g] = c > 0 ? cj.joint[g * k + t] / c : (g === t ? 1 : 0); }
      // M = inverse of Tᵀ (Gauss-Jordan).
      const A = new Float64Array(k * 2 * k);
      for (let r = 0; r < k; r++) { for (let c = 0; c < k; c++) A[r * 2 * k + c] = Tm[c * k + r]; A[r * 2 * k + k + r] = 1; }
      for (let c = 0; c < k; c++) {
        let piv = c; for (let r = c + 1; r < k; r++) if (Math.abs(A[r * 2 * k + c]) > Math.abs(A[piv * 2 * k + c])) piv = r;
        for (let x = 0; x < 2 * k; x++) { const tmp = A[c * 2 * k + x]; A[c * 2 * k + x] = A[piv * 2 * k + x]; A[piv * 2 * k + x] = tmp; }
        const d = A[c * 2 * k + c] || 1e-12;
        for (let x = 0; x < 2 * k; x++) A[c * 2 * k + x] /= d;
        for (let r = 0; r < k; r++) if (r !== c) { const f = A[r * 2 * k + c]; if (f) for (let x = 0; x < 2 * k; x++) A[r * 2 * k + x] -= f * A[c * 2 * k + x]; }
      }
      const pe = new Float64Array(n);
      const cvec = new Float64Array(k);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        let cs = 0;
        for (let r = 0; r < k; r++) { let v = 0; for (let c = 0; c < k; c++) v += A[r * 2 * k + k + c] * ps[i * k + c]; cvec[r] = Math.max(v, 0); cs += cvec[r]; }
        const g = labels[i];
        let den = 0; for (let t = 0; t < k; t++) den += (cs > 0 ? cvec[t] / cs : 1 / k) * Tm[t * k + g];
        const num = (cs > 0 ? cvec[g] / cs : 1 / k) * Tm[g * k + g];
        pe[i] = den > 0 ? 1 - num / den : 0;
        sum += pe[i];
      }
      const tag = calibrate ? 'peC' : 'peU';
      out.push({ kind, noise, what: 'est', name: `${tag} sum`, value: sum / n, truth: trueRate });
      const peOrder = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => pe[b] - pe[a] || a - b);
      for (const onlyDisagree of [false, true]) {
        let sacc = 0, m = 0, best = 0, bestM = 0;
        const rows: number[] = [];
        for (const i of peOrder) {
          if (onlyDisagree && predictedAsGiven(alp, i)) continue;
          sacc += pe[i]; m++; rows.push(i);
          const f = (2 * sacc) / (m + sum);
          if (f > best) { best = f; bestM = m; }
        }
        const mask = new Uint8Array(n);
        for (let t = 0; t < bestM; t++) mask[rows[t]] = 1;
        rule(`${tag} ef1${onlyDisagree ? ' am' : ''}`, mask);
      }
      score(`${tag} pe`, Float64Array.from(pe, (v) => 1 - v));
    }
    out.push({ kind, noise, what: 'est', name: 'sum(1-p) T', value: total / n, truth: trueRate });
  }
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
  if (ws.length) console.log(`\nknn weight (w) and temperature (T) chosen: ${ws.map((r) => `${r.kind} · ${r.noise} ${r.name} ${r.value.toFixed(2)}`).join('; ')}`);
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
