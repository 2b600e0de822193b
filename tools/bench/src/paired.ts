import { median } from '@staircase/benchmark';
import type { PytorchSession } from './pytorch.js';

/**
 * One model timed in short runs on our side and on the PyTorch peer, in turn: each pair's ratio
 * compares two runs seconds apart, where the separate measurements are a minute apart on a machine
 * whose speed drifts. A cross-check, not the targets' source: in short runs alternating with ours
 * the peer measured 0–40 % slower than in its own long runs (Transformer-XL, Ladder and Cached
 * Staircase evaluation most), while ours did not (docs/BENCHMARKS.md, *Paired runs*).
 */
export interface PairedRuns {
  model: string;
  /** `train`: TensorFlow.js training against the peer's; `eval`: ONNX Runtime evaluation against the peer's (no grad). */
  what: 'train' | 'eval';
  /** Our side as the targets name it, e.g. `wasm, 2 workers` or `onnxruntime-node cpu`. */
  ours?: string;
  /** Steps (training) or batches (evaluation) per run, batch × length tokens each. */
  stepsPerRun: number;
  oursMs: number[];
  pytorchMs: number[];
  /** Each pair's PyTorch time ÷ our time: the throughput ratio, ours ÷ PyTorch. */
  ratios: number[];
  /** The median of the pairs' ratios (null when not measured). */
  value: number | null;
  error?: string;
}

/** Our side of a pairing: something that times `steps` steps, already loaded. */
export interface PairTimer {
  readonly label: string;
  time(steps: number): Promise<number>;
  close(): Promise<void> | void;
}

/** How the pairs run: `pairs` pairs of `stepsPerRun` steps, after `warmup` untimed steps on each side. */
export interface PairPlan {
  pairs: number;
  stepsPerRun: number;
  warmup: number;
  /** Whether the first pair starts with our side (then it alternates). */
  oursFirst: boolean;
  /**
   * Milliseconds of idle before every timed run (default 500). Right after an ONNX Runtime run the
   * peer ran ~30 % slower for 100–300 ms (measured: 89.5 ms per Transformer-XL batch straight
   * after, 72 after 300 ms, 68 with no ONNX run before), while ONNX Runtime right after the peer did
   * not; without the pause, pairs favoured our side.
   */
  settleMs?: number;
}

/**
 * Opens both sides, warms both up, then times `plan.pairs` pairs of runs, which side goes first
 * alternating from pair to pair, each run after `plan.settleMs` of idle. Never throws: a failure is
 * reported in `error`, and both sides are closed whatever happens.
 */
export async function measurePairs(
  model: string,
  what: PairedRuns['what'],
  openOurs: () => Promise<PairTimer>,
  openPeer: () => Promise<PytorchSession>,
  plan: PairPlan,
): Promise<PairedRuns> {
  const result: PairedRuns = { model, what, stepsPerRun: plan.stepsPerRun, oursMs: [], pytorchMs: [], ratios: [], value: null };
  let ours: PairTimer | undefined;
  let peer: PytorchSession | undefined;
  try {
    ours = await openOurs();
    result.ours = ours.label;
    peer = await openPeer();
    const [o, p] = [ours, peer];
    await o.time(plan.warmup);
    await p.time(what, plan.warmup);
    const settle = () => new Promise((resolve) => setTimeout(resolve, plan.settleMs ?? 500));
    const runOurs = async () => {
      await settle();
      result.oursMs.push(await o.time(plan.stepsPerRun));
    };
    const runPeer = async () => {
      await settle();
      result.pytorchMs.push(await p.time(what, plan.stepsPerRun));
    };
    for (let k = 0; k < plan.pairs; k++) {
      for (const run of (k % 2 === 0) === plan.oursFirst ? [runOurs, runPeer] : [runPeer, runOurs]) await run();
      result.ratios.push(result.pytorchMs[k]! / result.oursMs[k]!);
    }
    result.value = median(result.ratios);
  } catch (e) {
    result.error = String((e as Error).message ?? e).split('\n')[0]!;
  } finally {
    await ours?.close();
    await peer?.close();
  }
  return result;
}
