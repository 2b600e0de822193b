import type { TopLevelSpec } from 'vega-lite';
import { MissingPackageError, importOptional, pinned } from './optional.js';

/** vega and vega-lite are optional peers: plots are drawn when they are installed. */
type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');

let renderer: Promise<{ vega: Vega; vegaLite: VegaLite }> | undefined;

/** The one line said when vega or vega-lite is missing. */
export const PLOTS_NEED = `SVG plots need vega and vega-lite: npm i ${pinned('vega')} ${pinned('vega-lite')}`;

function loadVega(): Promise<{ vega: Vega; vegaLite: VegaLite }> {
  renderer ??= (async () => {
    const vega = await importOptional<Vega>('vega', PLOTS_NEED);
    const vegaLite = await importOptional<VegaLite>('vega-lite', PLOTS_NEED);
    return { vega, vegaLite };
  })();
  renderer.catch(() => {
    renderer = undefined;
  });
  return renderer;
}

/** Whether the plots can be drawn here (vega and vega-lite installed); false after saying why is the caller's job. */
export async function plotsAvailable(): Promise<boolean> {
  try {
    await loadVega();
    return true;
  } catch (e) {
    if (e instanceof MissingPackageError) return false;
    throw e;
  }
}

/** What every chart here shares: schema, title, size and the data. */
const frame = (title: string, values: object[]) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title,
  width: 560,
  height: 300,
  data: { values },
});

/** One point of a curve. */
export interface CurvePoint {
  step: number;
  value: number;
  series: string;
}

/** Renders a line chart of `points` (one line per series) to an SVG string with Vega-Lite. */
export async function lineChartSvg(title: string, yTitle: string, points: CurvePoint[]): Promise<string> {
  const spec: TopLevelSpec = {
    ...frame(title, points),
    mark: { type: 'line', point: points.length < 60 },
    encoding: {
      // Steps are whole numbers: integer ticks only, however few steps there are.
      x: { field: 'step', type: 'quantitative', title: 'step', axis: { format: 'd', tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  return renderSvg(spec);
}

/** One point of a band chart: a series' mean and its spread (e.g. min and max over seeds) at `x`. */
export interface BandPoint {
  x: number;
  mean: number;
  lo: number;
  hi: number;
  series: string;
}

/**
 * Renders lines of means with shaded bands (one colour per series) to SVG, e.g. a metric against
 * tokens with the seeds' spread as the band.
 */
export async function bandChartSvg(title: string, axes: { x: string; y: string; logX?: boolean }, points: BandPoint[]): Promise<string> {
  const x = { field: 'x', type: 'quantitative' as const, title: axes.x, ...(axes.logX ? { scale: { type: 'log' as const } } : {}) };
  const color = { field: 'series', type: 'nominal' as const, title: null };
  const spec: TopLevelSpec = {
    ...frame(title, points),
    layer: [
      { mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      {
        mark: { type: 'line', point: points.length < 80 },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: axes.y, scale: { zero: false } }, color },
      },
    ],
  };
  return renderSvg(spec);
}

/**
 * Renders a Vega-Lite spec to an SVG string (headless, no browser). Throws a
 * {@link MissingPackageError} (one line: what to install) when vega or vega-lite is not installed.
 */
async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await loadVega();
  const { compile } = vegaLite;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
