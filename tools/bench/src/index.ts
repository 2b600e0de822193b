import { type BenchOptions, type BenchReport, benchMarkdown, runBench } from '@staircase/trainer';
import { type PytorchOptions, type PytorchReport, runPytorch } from './pytorch.js';

export { REFERENCE_SCRIPT, DEFAULT_PYTHON, pytorchUnavailable, runPytorch } from './pytorch.js';
export type { PytorchOptions, PytorchReport, PytorchResult, PytorchMeasurement } from './pytorch.js';

/** Options of {@link runSuite}: `staircase bench`'s, plus the PyTorch peer (`false`: skip it). */
export interface SuiteOptions extends BenchOptions {
  pytorch?: PytorchOptions | false;
}

/** Whether a figure reached its target (`stretch`: also the stretch goal). */
export type Met = 'stretch' | 'yes' | 'no' | 'n/a';

/** One row of the targets table (the issue's targets). */
export interface TargetRow {
  figure: string;
  backend: string;
  model: string;
  value: number | null;
  /** e.g. `≥ 0.5`. */
  target: string;
  stretch: string;
  met: Met;
  note?: string;
}

/** The whole bench: TensorFlow.js (and ONNX) measurements, the PyTorch peer, and the targets. */
export interface SuiteReport {
  schema: 'staircase-bench-suite/1';
  staircase: BenchReport;
  pytorch: PytorchReport;
  targets: TargetRow[];
}

const round = (x: number, digits = 3) => Number(x.toPrecision(digits));

type Compare = { op: '≥' | '≤' | '<' | '='; target: number; stretch?: number };

function met(value: number | null, c: Compare): Met {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  const ok = (t: number) => (c.op === '≥' ? value >= t : c.op === '≤' ? value <= t : c.op === '<' ? value < t : value === t);
  if (!ok(c.target)) return 'no';
  return c.stretch !== undefined && ok(c.stretch) ? 'stretch' : 'yes';
}

function row(figure: string, backend: string, model: string, value: number | null, c: Compare, note?: string): TargetRow {
  return {
    figure,
    backend,
    model,
    value: value === null ? null : round(value),
    target: `${c.op} ${c.target}`,
    stretch: c.stretch === undefined ? '' : `${c.op} ${c.stretch}`,
    met: met(value, c),
    ...(note ? { note } : {}),
  };
}

/** The issue's targets, computed from one suite run. */
export function targets(staircase: BenchReport, pytorch: PytorchReport): TargetRow[] {
  const rows: TargetRow[] = [];
  const peer = new Map(pytorch.results.filter((r) => r.measured).map((r) => [r.model, r.measured!]));
  const noPeer = pytorch.status === 'measured' ? 'no PyTorch figure for this model' : `pytorch: ${pytorch.status}${pytorch.reason ? ` (${pytorch.reason})` : ''}`;

  for (const r of staircase.results.filter((x) => x.backend === 'wasm')) {
    const p = peer.get(r.model);
    const value = p && r.train ? r.train.tokensPerS / p.train_tokens_per_s : null;
    rows.push(row('TF.js WASM training tokens/s ÷ PyTorch', 'wasm', r.model, value, { op: '≥', target: 0.5, stretch: 1.0 }, p ? undefined : noPeer));
    const par = r.trainParallel;
    if (par) {
      const v = p && !par.error ? par.tokensPerS / p.train_tokens_per_s : null;
      rows.push(row('TF.js WASM training tokens/s ÷ PyTorch', `wasm, ${par.workers} workers`, r.model, v, { op: '≥', target: 0.5, stretch: 1.0 }, par.error ?? (p ? undefined : noPeer)));
    }
  }

  const models = staircase.models.map((m) => m.id);
  if (staircase.onnx.status === 'measured') {
    for (const o of staircase.onnx.results) {
      const p = peer.get(o.model);
      const value = p && o.evalTokensPerS ? o.evalTokensPerS / p.eval_tokens_per_s : null;
      rows.push(
        row('ONNX Runtime evaluation tokens/s ÷ PyTorch (no grad)', `${o.runtime} ${o.executionProvider}`, o.model, value, { op: '≥', target: 1.5, stretch: 2.5 }, p ? o.error : noPeer),
      );
    }
  } else {
    const note = `onnx: ${staircase.onnx.status}${staircase.onnx.reason ? ` (${staircase.onnx.reason})` : ''}`;
    rows.push(row('ONNX Runtime evaluation tokens/s ÷ PyTorch (no grad)', 'onnx', models.join(', '), null, { op: '≥', target: 1.5, stretch: 2.5 }, note));
  }

  for (const f of staircase.derived.scheduleOverhead) {
    rows.push(row('staircase tokens/s × n ÷ Transformer-XL tokens/s (schedule overhead)', f.backend, f.model, f.value, { op: '≥', target: 0.8, stretch: 0.95 }));
  }

  const [first, last] = [staircase.settings.positions[0], staircase.settings.positions.at(-1)];
  for (const f of staircase.derived.streamingRatio) {
    if (f.model === 'global-staircase') continue; // its cost grows with the history by design
    rows.push(row(`streaming latency per token at ${last} ÷ at ${first}`, f.backend, f.model, f.value, { op: '≤', target: 1.1, stretch: 1.02 }));
  }

  // Memory: the worst model of each backend.
  const steps = staircase.settings.steps;
  const over = `over ${steps} measured steps (the target is stated for 1 000)`;
  for (const backend of staircase.backends.measured) {
    const measured = staircase.results.filter((r) => r.backend === backend && r.memory);
    if (measured.length === 0) continue;
    const worst = (figure: string, pick: (m: NonNullable<(typeof measured)[number]['memory']>) => number, c: Compare, note?: string) => {
      const top = measured.reduce((a, b) => (pick(b.memory!) > pick(a.memory!) ? b : a));
      const label = measured.length > 1 ? `worst of ${measured.length}: ${top.model}` : top.model;
      rows.push(row(figure, backend, label, pick(top.memory!), c, note));
    };
    worst('tensors alive: growth over the measured steps', (m) => m.tensorsGrowth, { op: '=', target: 0 }, over);
    worst('tensors alive after dispose (trainer + stream states)', (m) => m.tensorsLeaked, { op: '=', target: 0 });
    worst('RSS growth over the measured steps, %', (m) => m.rssGrowthPct, { op: '<', target: 5 }, over);
  }
  return rows;
}

/** Runs `staircase bench` in-process, then the PyTorch peer on the same models, then the targets. */
export async function runSuite(options: SuiteOptions = {}): Promise<SuiteReport> {
  const { pytorch: peerOptions, ...benchOptions } = options;
  const staircase = await runBench(benchOptions);
  const s = staircase.settings;
  const pytorch: PytorchReport =
    peerOptions === false
      ? { status: 'skipped', reason: 'not requested', python: '', results: [] }
      : await runPytorch(
          staircase.models,
          { batch: s.batch, length: s.length, steps: s.steps, warmup: s.warmup, positions: s.positions, streamTokens: s.streamTokens, historySegment: s.historySegment },
          peerOptions ?? {},
          options.onProgress,
        );
  return { schema: 'staircase-bench-suite/1', staircase, pytorch, targets: targets(staircase, pytorch) };
}

const fmt = (x: number | null | undefined) => (x == null ? '–' : x >= 100 ? Math.round(x).toLocaleString('en') : String(round(x)));

/** The suite as markdown: the TensorFlow.js table, the PyTorch table and the targets table. */
export function suiteMarkdown(report: SuiteReport): string {
  const out: string[] = ['### TensorFlow.js (`staircase bench`)', '', benchMarkdown(report.staircase).trimEnd(), '', '### PyTorch peer', ''];
  const p = report.pytorch;
  if (p.status !== 'measured') out.push(`pytorch: ${p.status}${p.reason ? ` (${p.reason})` : ''}`);
  else {
    const positions = report.staircase.settings.positions;
    const first = p.results.find((r) => r.measured)?.measured;
    if (first) out.push(`PyTorch ${first.torch}, BLAS ${first.blas}, ${first.threads} torch thread(s) + ${first.blas_threads ?? first.threads} OpenBLAS thread(s) (\`${p.python}\`).`, '');
    out.push(`| model | train tok/s | eval tok/s (no grad) | ${positions.map((x) => `stream ms/token @${x}`).join(' | ')} | peak RSS MiB |`);
    out.push(`|${'---|'.repeat(4 + positions.length)}`);
    for (const r of p.results) {
      const m = r.measured;
      if (!m) {
        out.push(`| ${r.model} | failed: ${r.error} |${' |'.repeat(2 + positions.length)}`);
        continue;
      }
      out.push(
        `| ${r.model} | ${fmt(m.train_tokens_per_s)} | ${fmt(m.eval_tokens_per_s)} | ${positions.map((x) => fmt(m.stream_ms_per_token?.[String(x)])).join(' | ')} | ${fmt(m.peak_rss_mb)} |`,
      );
    }
  }
  out.push('', '### Targets', '', '| figure | backend | model | value | target | stretch | met | note |', '|---|---|---|---|---|---|---|---|');
  for (const t of report.targets) out.push(`| ${t.figure} | ${t.backend} | ${t.model} | ${fmt(t.value)} | ${t.target} | ${t.stretch || '–'} | ${t.met} | ${t.note ?? ''} |`);
  return `${out.join('\n')}\n`;
}
