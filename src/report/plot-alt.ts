/**
 * A plot's text alternative for screen readers, from the data its Vega-Lite spec inlines: the
 * title, then up to `maxItems` data rows as "field value" pairs. Without it a reader got the
 * SVG's axis ticks ("0 50 100 … 500 rows good bad") or raw mark labels with 16 digits.
 */
import type { PlotSpec } from '../analysers/types.ts';

type Row = Record<string, unknown>;

/** The inline data rows of a spec: its own `data.values`, else its first layer's that has some. */
function inlineRows(spec: Record<string, unknown>): Row[] | null {
  const data = spec.data as { values?: unknown } | undefined;
  if (data && Array.isArray(data.values)) return data.values as Row[];
  for (const key of ['layer', 'hconcat', 'vconcat', 'concat']) {
    const parts = spec[key];
    if (Array.isArray(parts)) for (const p of parts) { const r = inlineRows(p as Record<string, unknown>); if (r) return r; }
  }
  return null;
}

const shown = (v: unknown): string =>
  typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : Number(v.toPrecision(3)).toString()) : v === null || v === undefined ? '–' : String(v);

export function plotAltText(plot: PlotSpec, maxItems = 12): string {
  const rows = inlineRows(plot.vegaLite);
  if (!rows || rows.length === 0) return plot.title;
  const items = rows.slice(0, maxItems).map((r) => Object.entries(r).map(([k, v]) => `${k.replace(/_/g, ' ')} ${shown(v)}`).join(', '));
  const more = rows.length > maxItems ? `; and ${(rows.length - maxItems).toLocaleString('en-US')} more (the tables hold every value)` : '';
  return `${plot.title}: ${items.join('; ')}${more}`;
}
