/**
 * A live line chart of validation error (or loss) against training steps, one line per model.
 * Redrawn from the points so far at each update; small enough that no plotting library is worth it.
 */
import { svg } from './svg.js';

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { step: number; value: number }[];
}

const W = 520;
const H = 260;
const M = { left: 48, right: 12, top: 12, bottom: 34 };

/** Draws `series` on shared axes: x from 0 to `maxStep`, y from 0 to the largest value (or `yMax`). */
export function drawCurves(series: readonly Series[], options: { maxStep: number; yLabel: string; yMax?: number }): SVGSVGElement {
  const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': options.yLabel });
  const all = series.flatMap((s) => s.points.map((p) => p.value));
  const yMax = options.yMax ?? Math.max(1e-9, ...all) * 1.05;
  const x = (step: number) => M.left + ((W - M.left - M.right) * step) / Math.max(1, options.maxStep);
  const y = (v: number) => H - M.bottom - ((H - M.top - M.bottom) * Math.min(v, yMax)) / yMax;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    root.append(svg('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: 'grid' }));
    root.append(svg('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, yMax <= 1.5 ? `${Math.round(100 * v)}%` : v.toFixed(2)));
  }
  for (let i = 0; i <= 4; i++) {
    const step = Math.round((options.maxStep * i) / 4);
    root.append(svg('text', { x: x(step), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'axis' }, String(step)));
  }
  root.append(svg('text', { x: (W + M.left) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis' }, 'training step'));
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
      root.append(svg('path', { d, fill: 'none', stroke: s.color, 'stroke-width': 2 }));
    }
    root.append(svg('rect', { x: M.left + 10, y: M.top + 4 + 16 * i, width: 10, height: 10, fill: s.color }));
    root.append(svg('text', { x: M.left + 26, y: M.top + 13 + 16 * i, class: 'legend' }, s.name));
  });
  return root;
}
