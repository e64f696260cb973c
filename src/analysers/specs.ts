/**
 * Small Vega-Lite spec builders shared by the analysers. Data is always aggregated first and
 * inlined (`data.values`), so a plot stays a few KB whatever the pool size and the report
 * needs no data request.
 */
import type { PlotSpec, Severity } from './types.ts';

type Row = Record<string, string | number | boolean | null>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Category labels are never cut ("native-country = C…"): no pixel limit, and the report scales
 * a wide SVG down to the page; the tooltip repeats the full label.
 */
const FULL_LABELS = { labelLimit: 0 };

/** Horizontal or vertical bars: one bar per row of `values`. */
export function barChart(opts: {
  title: string; values: Row[]; category: string; value: string; valueTitle?: string;
  color?: string; sortByValue?: boolean; width?: number;
  /** Counts: integer ticks only. */
  integer?: boolean;
}): PlotSpec {
  const color = opts.color
    ? { field: opts.color, type: 'nominal' as const }
    : { value: '#4c78a8' };
  return {
    title: opts.title,
    vegaLite: {
      $schema: SCHEMA,
      width: opts.width ?? 420,
      height: { step: 16 },
      data: { values: opts.values },
      mark: { type: 'bar' },
      encoding: {
        y: { field: opts.category, type: 'nominal', sort: opts.sortByValue ? '-x' : null, title: null, axis: FULL_LABELS },
        x: {
          field: opts.value, type: 'quantitative', title: opts.valueTitle ?? opts.value,
          ...(opts.integer ? { axis: { tickMinStep: 1, format: 'd' } } : {}),
        },
        color,
        tooltip: [{ field: opts.category }, { field: opts.value }],
      },
    },
  };
}

/** Grouped bars: `category` on y, one bar per `series` value, side by side. */
export function groupedBarChart(opts: {
  title: string; values: Row[]; category: string; series: string; value: string; valueTitle?: string;
}): PlotSpec {
  return {
    title: opts.title,
    vegaLite: {
      $schema: SCHEMA,
      width: 420,
      data: { values: opts.values },
      mark: { type: 'bar' },
      encoding: {
        y: { field: opts.category, type: 'nominal', title: null, axis: FULL_LABELS },
        yOffset: { field: opts.series },
        x: { field: opts.value, type: 'quantitative', title: opts.valueTitle ?? opts.value },
        color: { field: opts.series, type: 'nominal', title: opts.series },
        tooltip: [{ field: opts.category }, { field: opts.series }, { field: opts.value }],
      },
    },
  };
}

/**
 * Points with horizontal interval bars (e.g. a metric per group with its bootstrap interval).
 * `shape` names a field whose first value (in sort order) is drawn solid and the others faded,
 * with a legend (e.g. judged vs too small to judge); `offset` dodges series on the same row.
 */
export function intervalChart(opts: {
  title: string; values: Row[]; category: string; value: string; low: string; high: string;
  valueTitle?: string; color?: string; shape?: string; offset?: string; extraTooltip?: string[];
}): PlotSpec {
  const color = opts.color ? { field: opts.color, type: 'nominal' as const } : { value: '#4c78a8' };
  const opacity = opts.shape ? { opacity: { field: opts.shape, type: 'ordinal' as const, scale: { range: [1, 0.3] }, legend: null } } : {};
  const shape = opts.shape ? { shape: { field: opts.shape, type: 'nominal' as const, title: null } } : {};
  const yOffset = opts.offset ? { yOffset: { field: opts.offset, type: 'nominal' as const } } : {};
  const tooltip = [opts.category, ...(opts.offset ? [opts.offset] : []), opts.value, opts.low, opts.high, ...(opts.extraTooltip ?? []), ...(opts.shape ? [opts.shape] : [])]
    .map((field) => ({ field }));
  return {
    title: opts.title,
    vegaLite: {
      $schema: SCHEMA,
      width: 420,
      height: { step: opts.offset ? 12 : 18 },
      data: { values: opts.values },
      encoding: { y: { field: opts.category, type: 'nominal', title: null, sort: null, axis: FULL_LABELS }, ...yOffset },
      layer: [
        {
          mark: { type: 'rule' },
          encoding: {
            x: { field: opts.low, type: 'quantitative', title: opts.valueTitle ?? opts.value, scale: { zero: false } },
            x2: { field: opts.high },
            color,
            ...opacity,
          },
        },
        {
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            x: { field: opts.value, type: 'quantitative' },
            color,
            ...opacity,
            ...shape,
            tooltip,
          },
        },
      ],
    },
  };
}

/** Vertical bars over an ordered category (e.g. a small integer count), in the given order. */
export function columnChart(opts: { title: string; values: Row[]; category: string; value: string; categoryTitle?: string; valueTitle?: string; highlight?: string }): PlotSpec {
  return {
    title: opts.title,
    vegaLite: {
      $schema: SCHEMA,
      width: 420,
      height: 160,
      data: { values: opts.values },
      mark: { type: 'bar' },
      encoding: {
        x: { field: opts.category, type: 'ordinal', sort: null, title: opts.categoryTitle ?? opts.category, axis: { labelAngle: 0 } },
        y: { field: opts.value, type: 'quantitative', title: opts.valueTitle ?? opts.value },
        color: opts.highlight
          ? { field: opts.highlight, type: 'nominal', title: null, scale: { range: ['#4c78a8', '#e45756'] } }
          : { value: '#4c78a8' },
        tooltip: [{ field: opts.category }, { field: opts.value }],
      },
    },
  };
}

/** A histogram from pre-computed bins (bin_start, bin_end, count). */
export function histogram(opts: { title: string; bins: { start: number; end: number; count: number }[]; xTitle: string; rule?: number; ruleTitle?: string }): PlotSpec {
  const bars = {
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'start', type: 'quantitative', bin: { binned: true }, title: opts.xTitle },
      x2: { field: 'end' },
      y: { field: 'count', type: 'quantitative', title: 'rows' },
    },
  };
  const layer: Record<string, unknown>[] = [bars];
  if (opts.rule !== undefined) {
    layer.push({
      data: { values: [{ threshold: opts.rule, label: opts.ruleTitle ?? 'threshold' }] },
      mark: { type: 'rule', color: '#e45756', strokeDash: [4, 3] },
      encoding: { x: { field: 'threshold', type: 'quantitative' }, tooltip: [{ field: 'label' }, { field: 'threshold' }] },
    });
  }
  return {
    title: opts.title,
    vegaLite: { $schema: SCHEMA, width: 420, height: 160, data: { values: opts.bins }, layer },
  };
}

/**
 * A heatmap over two nominal axes (e.g. given × suggested label) with every cell's figure
 * printed on it: `text` names the field to print (default the value itself). Cells whose
 * value is null are drawn grey with their text (e.g. "n=4, too small").
 */
export function heatmap(opts: {
  title: string; values: Row[]; x: string; y: string; value: string; xTitle?: string; yTitle?: string; text?: string; extraTooltip?: string[];
  /** Colour scale from 0 (counts; default) or from the smallest value (rates that differ little). */
  zero?: boolean;
  /** The categories of both axes in this order (e.g. the pool's class order); default alphabetical. */
  order?: string[];
}): PlotSpec {
  const zero = opts.zero ?? true;
  let max = -Infinity, min = Infinity;
  for (const r of opts.values) { const v = r[opts.value]; if (typeof v === 'number') { if (v > max) max = v; if (v < min) min = v; } }
  const lo = zero ? 0 : min;
  const dark = Number.isFinite(max) ? lo + 0.6 * (max - lo) : 0;
  const text = opts.text ?? opts.value;
  const cols = new Set(opts.values.map((r) => String(r[opts.x]))).size;
  const tooltip = [opts.y, opts.x, opts.value, ...(opts.extraTooltip ?? [])].map((field) => ({ field }));
  const has = `isValid(datum[${JSON.stringify(opts.value)}])`;
  return {
    title: opts.title,
    vegaLite: {
      $schema: SCHEMA,
      width: { step: Math.max(34, Math.min(90, Math.floor(640 / Math.max(cols, 1)))) },
      height: { step: 22 },
      data: { values: opts.values },
      encoding: {
        x: { field: opts.x, type: 'nominal', title: opts.xTitle ?? opts.x, axis: { ...FULL_LABELS, labelAngle: -40 }, ...(opts.order ? { sort: opts.order } : {}) },
        y: { field: opts.y, type: 'nominal', title: opts.yTitle ?? opts.y, axis: FULL_LABELS, ...(opts.order ? { sort: opts.order } : {}) },
        tooltip,
      },
      layer: [
        {
          transform: [{ filter: has }],
          mark: { type: 'rect' },
          encoding: { color: { field: opts.value, type: 'quantitative', title: opts.value, scale: { scheme: 'blues', zero } } },
        },
        { transform: [{ filter: `!${has}` }], mark: { type: 'rect', color: '#e6e6e6' } },
        {
          mark: { type: 'text', fontSize: 10 },
          encoding: {
            text: { field: text, ...(text === opts.value ? { type: 'quantitative' as const } : {}) },
            color: { condition: { test: `${has} && datum[${JSON.stringify(opts.value)}] > ${dark}`, value: 'white' }, value: '#222' },
          },
        },
      ],
    },
  };
}

/** Equal-width bins of finite values between their min and max. */
export function bin(values: ArrayLike<number>, bins = 30): { start: number; end: number; count: number }[] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [];
  if (hi === lo) return [{ start: lo, end: lo + 1, count: values.length }];
  const w = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  }
  return counts.map((count, b) => ({ start: lo + b * w, end: lo + (b + 1) * w, count }));
}

/** The first severity whose upper bound the value stays below, scanning ok → info → warning. */
export function severityFor(value: number, bounds: { ok: number; info: number; warning: number }): Severity {
  if (value < bounds.ok) return 'ok';
  if (value < bounds.info) return 'info';
  if (value < bounds.warning) return 'warning';
  return 'problem';
}

/** "12.3%"; a share that is not 0 (or not 1) never reads as one: "<0.1%", ">99.9%" ("3 of 16,000 rows (0.0%)" read as none). */
export function pct(x: number, digits = 1): string {
  const text = (100 * x).toFixed(digits);
  const step = 10 ** -digits;
  if (x > 0 && Number(text) === 0) return `<${step.toFixed(digits)}%`;
  if (x < 1 && x > 0.5 && Number(text) === 100) return `>${(100 - step).toFixed(digits)}%`;
  return `${text}%`;
}

/** "1,234" */
export function count(x: number): string {
  return x.toLocaleString('en-US');
}

/** "1 row", "2 rows", "1,200 rows": a count with its noun (plural with an s unless given). */
export function counted(x: number, noun: string, plural = `${noun}s`): string {
  return `${count(x)} ${x === 1 ? noun : plural}`;
}

/** Seconds since `t0` (performance.now() milliseconds). */
export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}
