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

/**
 * Compiles a Vega-Lite spec and renders it headless to an SVG string. The spec's own config
 * wins over the report defaults. Throws when the spec is invalid or asks for external data.
 */
export async function renderVegaLiteToSvg(spec: Record<string, unknown>): Promise<string> {
  const withConfig = { ...spec, config: { ...DEFAULT_CONFIG, ...((spec.config as object) ?? {}) } };
  const compiled = vl.compile(withConfig as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: offlineLoader() });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
