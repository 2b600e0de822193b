/**
 * Draws the staircase schedule — rows × chunks, each cell the pass that chunk gets in that row —
 * from `rowsFor`, the same function the model's forward pass runs, so the picture is the schedule.
 */
import { rowsFor } from '@staircase/staircase';
import { svg } from './svg.js';

const CELL = 34;
const PAD = { left: 56, top: 26 };
// One hue per pass, light to dark: deeper passes are darker (more processed).
const passColor = (pass: number, passes: number) => `hsl(212 70% ${88 - (60 * (pass - 1)) / Math.max(1, passes - 1)}%)`;

/** The schedule of `chunks` chunks of `chunk` tokens with `passes` passes, as an SVG element. */
export function drawSchedule(chunk: number, passes: number, chunks: number): SVGSVGElement {
  const rows = rowsFor(0, chunk * chunks, chunk, passes);
  const width = PAD.left + chunks * CELL + 8;
  const height = PAD.top + rows.length * CELL + 8;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `staircase schedule, F = ${chunk}, n = ${passes}` });
  for (let c = 0; c < chunks; c++) {
    root.append(svg('text', { x: PAD.left + c * CELL + CELL / 2, y: PAD.top - 8, 'text-anchor': 'middle', class: 'axis' }, `C${c}`));
  }
  rows.forEach((row, i) => {
    const y = PAD.top + i * CELL;
    root.append(svg('text', { x: PAD.left - 8, y: y + CELL / 2 + 4, 'text-anchor': 'end', class: 'axis' }, `row ${row.row}`));
    for (const e of row.entries) {
      const x = PAD.left + e.chunk * CELL;
      const cell = svg('rect', { x: x + 1, y: y + 1, width: CELL - 2, height: CELL - 2, rx: 4, fill: passColor(e.pass, passes), class: 'cell' });
      cell.append(svg('title', {}, `row ${row.row}: chunk ${e.chunk} (tokens ${e.start}–${e.end - 1}), pass ${e.pass} of ${passes}${e.pass === passes ? ' — finished after this row' : ''}`));
      root.append(cell, svg('text', { x: x + CELL / 2, y: y + CELL / 2 + 4, 'text-anchor': 'middle', class: e.pass > passes / 2 ? 'pass dark' : 'pass' }, String(e.pass)));
    }
  });
  return root;
}

/** One line under the drawing: what it costs. */
export function describeSchedule(chunk: number, passes: number, layers: number): string {
  return `F = ${chunk}, n = ${passes}: every token gets ${passes} passes of the same ${layers} layers (${passes * layers} layer applications), each row attends over at most ${passes * chunk} tokens (S = n·F).`;
}
