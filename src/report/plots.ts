import * as vega from 'vega';
import * as vl from 'vega-lite';

/**
 * Server-side rendering of Vega-Lite specs to SVG strings, so the HTML report carries finished
 * pictures and needs no script, font or data request when it is opened.
 */

/** A loader that refuses every request: plot data must be inlined in the spec. */
function offlineLoader(): vega.Loader {
  const refuse = async (uri: string): Promise<never> => {
    throw new Error(`plot specs must inline their data; refusing to load ${JSON.stringify(uri)}`);
  };
  const base = vega.loader();
  return { ...base, load: refuse, sanitize: refuse, http: refuse, file: refuse } as unknown as vega.Loader;
}

const DEFAULT_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 13, anchor: 'start' },
};

/** A Vega logger that keeps messages instead of printing them (the CLI's stderr stays clean). */
function collectingLogger(errors: string[], warnings: string[]) {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  return vega.logger(vega.Warn, undefined, (method, _level, args) => {
    // Vega only warns when data fails to load and then draws an empty chart: treat it as an error.
    if (method === 'error' || /^Loading failed/.test(text(args))) errors.push(text(args));
    else if (method === 'warn') warnings.push(text(args));
  });
}

export interface RenderedPlot {
  svg: string;
  /** Vega and Vega-Lite warnings (e.g. a dropped encoding); the picture was still drawn. */
  warnings: string[];
}

/**
 * Compiles a Vega-Lite spec and renders it headless to an SVG string. The spec's own config
 * wins over the report defaults. Throws when the spec is invalid, asks for external data, or
 * Vega reports an error while drawing (it would otherwise draw an empty chart silently).
 */
export async function renderVegaLite(spec: Record<string, unknown>): Promise<RenderedPlot> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const logger = collectingLogger(errors, warnings);
  const withConfig = { ...spec, config: { ...DEFAULT_CONFIG, ...((spec.config as object) ?? {}) } };
  const compiled = vl.compile(withConfig as vl.TopLevelSpec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: offlineLoader(), logger });
  try {
    const svg = await view.toSVG();
    if (errors.length) throw new Error(errors.join('; '));
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}

export async function renderVegaLiteToSvg(spec: Record<string, unknown>): Promise<string> {
  return (await renderVegaLite(spec)).svg;
}
