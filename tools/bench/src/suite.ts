import {
  type BenchOptions,
  type BenchReport,
  BenchmarkError,
  benchModelConfig,
  mergeBenchReports,
  resolveBenchModels,
  resolveBenchSettings,
  openBenchTraining,
  openOnnxEval,
  runBench,
} from '@staircase/benchmark';
import { DEFAULT_PYTHON, measurePytorch, openPytorchSession, type PytorchOptions, type PytorchReport, pytorchUnavailable } from './pytorch.js';
import { measurePairs, type PairedRuns } from './paired.js';
import { combineRounds, type SuiteTargetRow, type TargetRow, targets } from './targets.js';

/** Options of {@link runSuite}: `staircase bench`'s, plus the PyTorch peer (`false`: skip it) and the rounds. */
export interface SuiteOptions extends BenchOptions {
  pytorch?: PytorchOptions | false;
  /** How many times every model is measured, on both sides (default 1). */
  rounds?: number;
  /**
   * Per model and round, WASM training and ONNX Runtime evaluation also timed in this many pairs
   * of short runs alternating with the peer's (default 0: none), reported beside the targets (see
   * {@link PairedRuns}).
   */
  pairs?: number;
}

/** One round: every model measured once by TensorFlow.js (and ONNX Runtime) and once by the peer. */
export interface SuiteRound {
  staircase: BenchReport;
  pytorch: PytorchReport;
  /** Training and evaluation timed in pairs, per model (none without the peer or `pairs`). */
  paired: PairedRuns[];
  targets: TargetRow[];
}

/** The whole bench: each round's measurements and targets, and the targets over all rounds. */
export interface SuiteReport {
  schema: 'staircase-bench-suite/3';
  rounds: SuiteRound[];
  /** Each target over the rounds (median of the speed ratios, worst of the memory figures). */
  targets: SuiteTargetRow[];
}

function mergePeer(parts: readonly PytorchReport[], python: string): PytorchReport {
  const results = parts.flatMap((p) => p.results);
  if (results.some((r) => r.measured)) return { status: 'measured', python, results };
  const reason = parts.map((p) => p.reason).filter(Boolean).join('; ');
  return { status: 'unavailable', python, results, ...(reason ? { reason } : {}) };
}

/**
 * Runs the bench: in each round, model by model, `staircase bench` in-process (TensorFlow.js and
 * ONNX Runtime) and the PyTorch peer on the same model, so that each ratio compares two measurements
 * a minute or two apart rather than the two halves of a whole run (this machine's speed drifts by
 * ±20 % over minutes). Even rounds measure TensorFlow.js first, odd rounds the peer first, so a
 * steady drift does not favour one side. Then, with `pairs` > 0, the model's WASM training and
 * ONNX Runtime evaluation are timed in pairs of short runs with the peer's (see {@link measurePairs}),
 * a cross-check reported beside the targets. The peer's availability is checked once.
 */
export async function runSuite(options: SuiteOptions = {}): Promise<SuiteReport> {
  const { pytorch: peerOptions, rounds: roundCount = 1, pairs = 0, ...benchOptions } = options;
  if (!Number.isInteger(roundCount) || roundCount < 1) throw new BenchmarkError(`--rounds: expected a whole number ≥ 1, got ${roundCount}`);
  if (!Number.isInteger(pairs) || pairs < 0) throw new BenchmarkError(`--pairs: expected a whole number ≥ 0, got ${pairs}`);
  const { size, settings } = resolveBenchSettings(benchOptions);
  const models = resolveBenchModels(benchOptions.kinds);
  const progress = options.onProgress ?? (() => {});
  const python = peerOptions === false ? '' : (peerOptions?.python ?? DEFAULT_PYTHON);
  const unavailable = peerOptions === false ? undefined : await pytorchUnavailable(peerOptions ?? {});
  const notMeasured: PytorchReport =
    peerOptions === false ? { status: 'skipped', reason: 'not requested', python, results: [] } : { status: 'unavailable', reason: unavailable ?? '', python, results: [] };

  const rounds: SuiteRound[] = [];
  for (let r = 0; r < roundCount; r++) {
    const ours: BenchReport[] = [];
    const peers: PytorchReport[] = [];
    const paired: PairedRuns[] = [];
    for (const id of models) {
      if (roundCount > 1) progress(`round ${r + 1} of ${roundCount}: ${id}`);
      const tfjs = async () => ours.push(await runBench({ ...benchOptions, kinds: [id] }));
      const peer = async () => {
        if (peerOptions === false || unavailable !== undefined) return;
        peers.push(await measurePytorch([{ id, config: benchModelConfig(size, id) }], settings, peerOptions ?? {}, progress));
      };
      if (r % 2 === 0) {
        await tfjs();
        await peer();
      } else {
        await peer();
        await tfjs();
      }
      if (pairs > 0 && peerOptions !== false && unavailable === undefined) {
        const report = ours.at(-1)!;
        const config = benchModelConfig(size, id);
        const shape = { batch: settings.batch, length: settings.length };
        // At `tiny` (CI's size, runs of milliseconds) a short settle keeps the test quick.
        const settleMs = size === 'tiny' ? 10 : 500;
        const plan = { pairs, stepsPerRun: Math.max(1, Math.ceil(settings.steps / 8)), warmup: settings.warmup, oursFirst: r % 2 === 0, settleMs };
        const openPeer = () => openPytorchSession(config, shape, peerOptions ?? {});
        if (report.backends.measured.includes('wasm')) {
          progress(`paired training ${id}: ${pairs} pairs of TF.js WASM and PyTorch runs`);
          const openOurs = () => openBenchTraining(config, { backend: 'wasm', workers: settings.workers, ...shape });
          paired.push(await measurePairs(id, 'train', openOurs, openPeer, plan));
        }
        if (report.onnx.status === 'measured') {
          progress(`paired evaluation ${id}: ${pairs} pairs of ONNX Runtime and PyTorch runs`);
          const openOurs = () => openOnnxEval(config, { ...shape, batches: plan.warmup + pairs * plan.stepsPerRun });
          paired.push(await measurePairs(id, 'eval', openOurs, openPeer, plan));
        }
      }
    }
    const staircase = mergeBenchReports(ours);
    const pytorch = peers.length > 0 ? mergePeer(peers, python) : notMeasured;
    rounds.push({ staircase, pytorch, paired, targets: targets(staircase, pytorch) });
  }
  return { schema: 'staircase-bench-suite/3', rounds, targets: combineRounds(rounds.map((x) => x.targets)) };
}
