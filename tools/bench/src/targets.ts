import { type BenchReport, median, onnxLabel, trainingLabel } from '@staircase/benchmark';
import type { PytorchReport } from './pytorch.js';

/** Whether a figure reached its target (`stretch`: also the stretch goal). */
export type Met = 'stretch' | 'yes' | 'no' | 'n/a';

/**
 * How a figure's rounds combine into one value: ratios of speed take the median (the machine's
 * speed drifts, and a median is not moved by one slow stretch), memory figures the worst round
 * (a leak in any round is a leak).
 */
export type Combine = 'median' | 'worst';

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
  combine: Combine;
  note?: string;
}

/** A target over every round of a suite: `value` and `met` combined as `combine` says, plus each round's. */
export interface SuiteTargetRow extends TargetRow {
  /** Each round's value, in order (null: not measured in that round). */
  rounds: (number | null)[];
  /** The worst `met` of any round (`n/a` where a round has no value). */
  metEveryRound: Met;
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
    combine: c.op === '≥' || c.op === '≤' ? 'median' : 'worst',
    ...(note ? { note } : {}),
  };
}

/**
 * The issue's targets, computed from one round (TF.js and the peer measured model by model, each
 * on its own). Paired runs (`SuiteRound.paired`) are reported beside them, not used: see
 * `PairedRuns` in paired.ts.
 */
export function targets(staircase: BenchReport, pytorch: PytorchReport): TargetRow[] {
  const rows: TargetRow[] = [];
  const peer = new Map(pytorch.results.filter((r) => r.measured).map((r) => [r.model, r.measured!]));
  const noPeer = pytorch.status === 'measured' ? 'no PyTorch figure for this model' : `pytorch: ${pytorch.status}${pytorch.reason ? ` (${pytorch.reason})` : ''}`;
  const training = (model: string, ours: string, value: number | null, note: string | undefined) =>
    rows.push(row('TF.js WASM training tokens/s ÷ PyTorch', ours, model, value, { op: '≥', target: 0.5, stretch: 1.0 }, note));

  for (const r of staircase.results.filter((x) => x.backend === 'wasm')) {
    const p = peer.get(r.model);
    training(r.model, trainingLabel('wasm', 1), p && r.train ? r.train.tokensPerS / p.train_tokens_per_s : null, p ? undefined : noPeer);
    const par = r.trainParallel;
    if (par) training(r.model, trainingLabel('wasm', par.workers), p && !par.error ? par.tokensPerS / p.train_tokens_per_s : null, par.error ?? (p ? undefined : noPeer));
  }

  const models = staircase.models.map((m) => m.id);
  if (staircase.onnx.status === 'measured') {
    // The issue's figure is ONNX Runtime on the CPU (Node); WebGPU and WASM results are reported
    // with the others, not held against a CPU peer.
    for (const o of staircase.onnx.results.filter((r) => r.executionProvider === 'cpu')) {
      const p = peer.get(o.model);
      const value = p && o.evalTokensPerS ? o.evalTokensPerS / p.eval_tokens_per_s : null;
      rows.push(
        row('ONNX Runtime evaluation tokens/s ÷ PyTorch (no grad)', onnxLabel(o), o.model, value, { op: '≥', target: 1.5, stretch: 2.5 }, p ? o.error : noPeer),
      );
      // Like for like at int8: not the issue's float32 figure, reported beside it.
      if (o.evalInt8TokensPerS !== undefined || o.int8Error !== undefined || p?.eval_int8_tokens_per_s) {
        const int8 = p?.eval_int8_tokens_per_s && o.evalInt8TokensPerS ? o.evalInt8TokensPerS / p.eval_int8_tokens_per_s : null;
        const note = o.int8Error ? `int8: ${o.int8Error}` : p ? (p.eval_int8_tokens_per_s ? `PyTorch: ${p.eval_int8_threads} threads` : 'no PyTorch int8 figure') : noPeer;
        rows.push(row('int8 weights on both sides: ONNX Runtime evaluation tokens/s ÷ PyTorch (no grad)', onnxLabel(o), o.model, int8, { op: '≥', target: 1.5, stretch: 2.5 }, note));
      }
    }
  } else {
    const note = `onnx: ${staircase.onnx.status}${staircase.onnx.reason ? ` (${staircase.onnx.reason})` : ''}`;
    rows.push(row('ONNX Runtime evaluation tokens/s ÷ PyTorch (no grad)', 'onnx', models.join(', '), null, { op: '≥', target: 1.5, stretch: 2.5 }, note));
  }

  if (staircase.onnx.status === 'measured') streamingTargets(staircase, peer, noPeer, rows);

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

/**
 * Issue 22's streaming targets (reported, never asserted): ONNX Runtime's one-token step graph of
 * the 2-pass staircase at each position, against the peer's streaming and against ONNX Runtime's
 * Transformer-XL on the same device (CPU and WASM).
 */
function streamingTargets(
  staircase: BenchReport,
  peer: Map<string, NonNullable<PytorchReport['results'][number]['measured']>>,
  noPeer: string,
  rows: TargetRow[],
): void {
  const model = 'staircase-n2';
  const results = staircase.onnx.results;
  for (const o of results.filter((r) => r.model === model && (r.executionProvider === 'cpu' || r.executionProvider === 'wasm'))) {
    const xl = results.find((r) => r.model === 'transformer-xl' && r.executionProvider === o.executionProvider);
    const p = peer.get(model);
    for (const [position, ms] of Object.entries(o.streamMsPerToken ?? {})) {
      if (o.executionProvider === 'cpu') {
        const theirs = p?.stream_ms_per_token?.[position];
        rows.push(
          row(`ONNX Runtime streaming ms/token at ${position} ÷ PyTorch`, onnxLabel(o), model, theirs ? ms / theirs : null, { op: '≤', target: 0.5 }, p ? undefined : noPeer),
        );
      }
      const base = xl?.streamMsPerToken?.[position];
      rows.push(
        row(`ONNX Runtime streaming ms/token at ${position} ÷ ONNX Runtime Transformer-XL`, onnxLabel(o), model, base ? ms / base : null, { op: '≤', target: 2.5 }, base ? undefined : 'no Transformer-XL figure on this device'),
      );
    }
  }
}

const MET_ORDER: readonly Met[] = ['n/a', 'no', 'yes', 'stretch'];


/**
 * Combines the targets of several rounds into one row per figure, backend and model (memory rows,
 * which name the worst model of a round, per figure and backend). The combined `met` is judged on
 * the combined value, with the row's own comparison; `metEveryRound` is the worst round's.
 */
export function combineRounds(rounds: readonly (readonly TargetRow[])[]): SuiteTargetRow[] {
  const key = (t: TargetRow) => (t.combine === 'worst' ? `${t.figure}\u0000${t.backend}` : `${t.figure}\u0000${t.backend}\u0000${t.model}`);
  const order: string[] = [];
  const byKey = new Map<string, (TargetRow | undefined)[]>();
  for (const [i, rows] of rounds.entries()) {
    for (const t of rows) {
      const k = key(t);
      if (!byKey.has(k)) {
        byKey.set(k, new Array<TargetRow | undefined>(rounds.length).fill(undefined));
        order.push(k);
      }
      byKey.get(k)![i] = t;
    }
  }
  return order.map((k) => {
    const cells = byKey.get(k)!;
    const present = cells.filter((t): t is TargetRow => t !== undefined);
    const base = present[0]!;
    const values = cells.map((t) => t?.value ?? null);
    const measured = present.filter((t) => t.value !== null);
    let pick: TargetRow = base;
    let value: number | null = null;
    if (measured.length > 0) {
      if (base.combine === 'worst') {
        pick = measured.reduce((a, b) => (b.value! > a.value! ? b : a));
        value = pick.value;
      } else value = round(median(measured.map((t) => t.value!)));
    }
    const [op, target] = base.target.split(' ') as [Compare['op'], string];
    const stretch = base.stretch ? Number(base.stretch.split(' ')[1]) : undefined;
    const combined = met(value, { op, target: Number(target), ...(stretch !== undefined ? { stretch } : {}) });
    const worstMet = cells.reduce<Met>((w, t) => (t === undefined || MET_ORDER.indexOf(t.met) < MET_ORDER.indexOf(w) ? (t?.met ?? 'n/a') : w), 'stretch');
    const notes = [...new Set(present.map((t) => t.note).filter((n): n is string => !!n))];
    return {
      ...pick,
      value,
      met: combined,
      rounds: values,
      metEveryRound: worstMet,
      ...(notes.length ? { note: notes.join('; ') } : {}),
    };
  });
}
