/**
 * The pages' plots, drawn as the audit report draws its own: Vega-Lite specs (the analysers'
 * interval chart where it fits) rendered on the server to inline SVG (src/report/plots.ts),
 * so a page needs no script and no data request. Loaded only when a page has a plot to draw
 * (vega is heavy for the server's start-up).
 */
import type { MetricSummary } from '../../../evaluator/aggregate.ts';
import type { PlotSpec } from '../../analysers/types.ts';
import { splitMetricName } from '../../challenge/schema.ts';

export interface DrawnPlot {
  title: string;
  /** The SVG, ids scoped to this plot; null when drawing failed (then `error` says why). */
  svg: string | null;
  error?: string;
  /** Alternative text: what the plot shows, for screen readers. */
  alt: string;
}

let counter = 0;

export async function draw(plot: PlotSpec, alt: string): Promise<DrawnPlot> {
  const [{ renderVegaLiteToSvg }, { scopeSvgIds }] = await Promise.all([import('../../report/plots.ts'), import('../../report/html.ts')]);
  try {
    const svg = await renderVegaLiteToSvg(plot.vegaLite);
    return { title: plot.title, svg: scopeSvgIds(svg, `pg${++counter}`), alt };
  } catch (err) {
    return { title: plot.title, svg: null, error: (err as Error).message, alt };
  }
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Ranking: test accuracy after k fixes, each seed light and their mean dark on top, the clean-pool accuracy dashed. */
export function rankingCurveSpec(curve: { fraction: number[]; accuracy: number[]; per_seed?: number[][] }, clean: number | null, part: string): PlotSpec {
  const x = { field: 'fixed', type: 'quantitative', title: 'fraction of the pool fixed', axis: { format: '%' } };
  const y = { field: 'accuracy', type: 'quantitative', title: `test accuracy (${part} test rows)`, scale: { zero: false } };
  const tooltip = [{ field: 'series' }, { field: 'fixed', format: '.1%' }, { field: 'accuracy', format: '.4f' }];
  const seeds = (curve.per_seed ?? []).flatMap((s, j) => s.map((a, p) => ({ fixed: curve.fraction[p], accuracy: a, series: `seed ${j + 1}` })));
  const layer: Record<string, unknown>[] = [];
  if (seeds.length) {
    layer.push({ data: { values: seeds }, mark: { type: 'line', color: '#b9c8dc', strokeWidth: 1 }, encoding: { x, y, detail: { field: 'series' }, tooltip } });
  }
  layer.push({
    data: { values: curve.fraction.map((f, p) => ({ fixed: f, accuracy: curve.accuracy[p], series: 'mean over seeds' })) },
    mark: { type: 'line', color: '#1f4e8c', strokeWidth: 2.5, point: curve.fraction.length <= 40 },
    encoding: { x, y, tooltip },
  });
  if (clean !== null) {
    layer.push({
      data: { values: [{ accuracy: clean, series: 'clean-pool model' }] },
      mark: { type: 'rule', color: '#e45756', strokeDash: [4, 3] },
      encoding: { y: { field: 'accuracy', type: 'quantitative' }, tooltip: [{ field: 'series' }, { field: 'accuracy', format: '.4f' }] },
    });
  }
  const key = [seeds.length ? 'dark: mean over seeds; light: each seed' : 'the mean over seeds', ...(clean !== null ? ['dashed: the clean-pool model'] : [])].join('; ');
  return { title: `Ranking curve (${key})`, vegaLite: { $schema: SCHEMA, width: 460, height: 220, layer } };
}

/**
 * The per-class (`f1[Shirt]`) and per-group (`group_accuracy[sex=female]`) metrics of a
 * record, one interval plot per family, each row with its 95% interval. A figure the
 * evaluator marked (a group too small to judge) is drawn faded and says so; none is dropped.
 */
export async function perItemPlots(metrics: Record<string, MetricSummary>, part: string): Promise<DrawnPlot[]> {
  const { intervalChart } = await import('../../analysers/specs.ts');
  const families = new Map<string, { item: string; mean: number; low: number; high: number; judged: string }[]>();
  for (const [name, m] of Object.entries(metrics)) {
    const { family, arg } = splitMetricName(name);
    if (arg === undefined || !['precision', 'recall', 'f1', 'group_accuracy'].includes(family)) continue;
    if (!Number.isFinite(m.mean) || !m.ci95 || !Number.isFinite(m.ci95[0])) continue;
    const rows = families.get(family) ?? [];
    rows.push({ item: arg, mean: m.mean, low: m.ci95[0], high: m.ci95[1], judged: m.note ? 'noted (see table)' : 'judged' });
    families.set(family, rows);
  }
  const out: DrawnPlot[] = [];
  for (const [family, rows] of families) {
    const per = family === 'group_accuracy' ? 'group' : 'class';
    const title = `${family} per ${per}, ${part} test rows (95% intervals)`;
    // A figure carrying a note (e.g. a group too small to judge) is drawn faded: the metric table gives the note.
    const marked = rows.some((r) => r.judged !== 'judged');
    const spec = intervalChart({ title, values: rows, category: 'item', value: 'mean', low: 'low', high: 'high', valueTitle: family, ...(marked ? { shape: 'judged' } : {}) });
    out.push(await draw(spec, `${title}: ${rows.map((r) => `${r.item} ${r.mean.toFixed(3)} [${r.low.toFixed(3)}, ${r.high.toFixed(3)}]`).join('; ')}`));
  }
  return out;
}

/** Drawn leaderboard plots by what they show (a board read again draws nothing again); the last few kept. */
const boardPlots = new Map<string, DrawnPlot>();

/** The leaderboard's primary metric per entry with its 95% interval, in rank order, on the public or (after close) the private test rows. */
export async function leaderboardPlot(entries: { rank: number; participant: string; primary: { mean: number | null; ci95: [number, number] | null } }[], metric: string, part: 'public' | 'private' = 'public'): Promise<DrawnPlot | null> {
  const rows = entries.filter((e) => e.primary.mean !== null && e.primary.ci95).map((e) => ({
    entry: `${e.rank}. ${e.participant}`, mean: e.primary.mean!, low: e.primary.ci95![0], high: e.primary.ci95![1],
  }));
  if (!rows.length) return null;
  const key = JSON.stringify([metric, part, rows]);
  const hit = boardPlots.get(key);
  if (hit) return hit;
  const drawn = await drawBoard(rows, metric, part);
  if (drawn.svg !== null) {
    boardPlots.set(key, drawn);
    if (boardPlots.size > 32) boardPlots.delete(boardPlots.keys().next().value!);
  }
  return drawn;
}

async function drawBoard(rows: { entry: string; mean: number; low: number; high: number }[], metric: string, part: string): Promise<DrawnPlot> {
  const { intervalChart } = await import('../../analysers/specs.ts');
  const title = `${metric} per entry, ${part} test rows (95% intervals)`;
  return draw(intervalChart({ title, values: rows, category: 'entry', value: 'mean', low: 'low', high: 'high', valueTitle: metric }),
    `${title}: ${rows.map((r) => `${r.entry} ${r.mean.toFixed(4)} [${r.low.toFixed(4)}, ${r.high.toFixed(4)}]`).join('; ')}`);
}
