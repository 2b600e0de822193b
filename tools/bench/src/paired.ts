import type { PytorchSession } from './pytorch.js';

/**
 * One model timed in short runs on our side and on the PyTorch peer, in turn: each pair's ratio
 * compares two runs seconds apart. This machine's speed swings by ±30 % from one second to the
 * next and drifts over minutes, so two separate measurements a minute apart can differ by more
 * than the figure being measured; the median of many pairs does not.
 */
export interface PairedRuns {
  model: string;
  /** `train`: TensorFlow.js training against the peer's; `eval`: ONNX Runtime evaluation against the peer's (no grad). */
  what: 'train' | 'eval';
  /** Our side as the targets name it, e.g. `wasm, 2 workers` or `onnxruntime-node 1.30.0 cpu`. */
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
}

/**
 * Opens both sides, warms both up, then times `plan.pairs` pairs of runs, which side goes first
 * alternating from pair to pair. Never throws: a failure is reported in `error`, and both sides
 * are closed whatever happens.
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
    const runOurs = async () => result.oursMs.push(await o.time(plan.stepsPerRun));
    const runPeer = async () => result.pytorchMs.push(await p.time(what, plan.stepsPerRun));
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

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
