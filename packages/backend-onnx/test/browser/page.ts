/**
 * The browser test's page: `runCases(device, cases)` opens each export served next to it
 * (`<file>.onnx`, `<file>.segment.onnx`) on `device` in turn and returns, per case, the segment
 * logits of its tokens, and the step graph's logits of a prompt and of a short greedy continuation.
 * A table on the page shows the progress, and `showDiffs` (called by the test) fills in the
 * differences from Node's, for the screenshot.
 */
import { OnnxModel } from '../../src/index.js';
import { stepAndGreedy } from './steps.js';

/** One export to run (see browser.test.ts). */
export interface PageCase {
  readonly name: string;
  readonly file: string;
  /** Fed to the segment graph in one call (whole segments and maybe a partial one). */
  readonly tokens: number[];
  /** Fed to the step graph, then `greedy` tokens chosen greedily (see steps.ts). */
  readonly prompt: number[];
  readonly greedy: number;
}

export interface PageResult {
  readonly name: string;
  readonly device?: string;
  readonly segment?: number[];
  readonly step?: number[];
  readonly greedy?: number[];
  readonly ms?: number;
  /** Milliseconds: opening both graphs (with their self-checks), the segment run, the step runs. */
  readonly times?: { load: number; segment: number; step: number };
  readonly error?: string;
}

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function run(device: 'wasm' | 'webgpu', c: PageCase): Promise<Omit<PageResult, 'name' | 'ms'>> {
  const files = { step: await bytes(`${c.file}.onnx`), segment: await bytes(`${c.file}.segment.onnx`) };
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - t);
    t = now;
    return ms;
  };
  const model = await OnnxModel.load(files, { device, wasmPaths: '/ort/' });
  const load = lap();
  try {
    const segment = await model.stream(1, 'segment').append(c.tokens, c.tokens.length);
    const segmentMs = lap();
    const { logits: step, greedy } = await stepAndGreedy(model, c.prompt, c.greedy);
    const times = { load, segment: segmentMs, step: lap() };
    return { device: model.device, segment: Array.from(segment), step, greedy, times };
  } finally {
    await model.release();
  }
}

const table = document.createElement('table');
table.style.cssText = 'font: 14px monospace; border-collapse: collapse';
const style = document.createElement('style');
style.textContent = 'td, th { border: 1px solid #999; padding: 2px 8px; text-align: left }';
document.head.append(style);
document.body.append(table);

function row(cells: string[], header = false): HTMLTableRowElement {
  const tr = table.insertRow();
  for (const text of cells) {
    const cell = document.createElement(header ? 'th' : 'td');
    cell.textContent = text;
    tr.append(cell);
  }
  return tr;
}

const rows = new Map<string, HTMLTableRowElement>();

async function runCases(device: 'wasm' | 'webgpu', cases: PageCase[]): Promise<PageResult[]> {
  table.replaceChildren();
  const caption = table.createCaption();
  caption.textContent = `staircase ONNX export in the browser — ${device}`;
  caption.style.cssText = 'font-weight: bold; text-align: left; padding: 4px 0';
  row(['kind', 'tokens (segment graph)', 'device', 'ms', 'segment diff', 'step diff', 'greedy'], true);
  const out: PageResult[] = [];
  for (const c of cases) {
    const tr = row([c.name, String(c.tokens.length), device, 'running…', '', '', '']);
    rows.set(c.name, tr);
    const t0 = performance.now();
    try {
      const r = await run(device, c);
      const ms = Math.round(performance.now() - t0);
      tr.cells[2]!.textContent = r.device ?? '?';
      tr.cells[3]!.textContent = String(ms);
      out.push({ name: c.name, ms, ...r });
    } catch (e) {
      const error = String((e as Error)?.message ?? e);
      tr.cells[3]!.textContent = 'failed';
      tr.cells[4]!.textContent = error;
      out.push({ name: c.name, error });
    }
  }
  return out;
}

/** The test's verdict per case, shown in the table. */
function showDiffs(diffs: { name: string; segment: number; step: number; greedy: boolean; ok: boolean }[]): void {
  for (const d of diffs) {
    const tr = rows.get(d.name);
    if (!tr) continue;
    tr.cells[4]!.textContent = d.segment.toExponential(2);
    tr.cells[5]!.textContent = d.step.toExponential(2);
    tr.cells[6]!.textContent = d.greedy ? 'same' : 'differs';
    tr.style.background = d.ok ? '#dfd' : '#fdd';
  }
}

Object.assign(globalThis, { runCases, showDiffs });
