/**
 * The TensorFlow.js part of the benchmark, and the run that ties it to the ONNX Runtime part: per
 * backend and model, training and evaluation throughput, memory and tensor counts, streaming latency.
 */
import { cpus, loadavg, platform, totalmem } from 'node:os';
import { createModel, type Model, type ModelState, SeededRandom } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import {
  BACKEND_NAMES,
  type BackendName,
  type Batch,
  createParallelTrainer,
  createTrainer,
  disposeReplaced,
  selectBackend,
  type Tensor,
  type Tf,
  type Trainer,
} from '@staircase/backend-tfjs';
import { probeWebGpu } from '@staircase/backend-onnx';
import { BenchmarkError, oneLine } from './errors.js';
import { kindModuleUrls } from './kind-modules.js';
import { mb, round } from './numbers.js';
import { DEFAULT_ONNX_BENCH_DEVICES, type MeasureOnnx, ONNX_BENCH_DEVICES, type OnnxBenchDevice, type OnnxReport, resolveOnnx } from './onnx.js';
import { BENCH_SIZE_SPECS, BENCH_SIZES, type BenchModelId, type BenchSize, type BenchSizeSpec, benchModelConfig, resolveBenchModels } from './sizes.js';
import { interleavedMedians } from './timing.js';

/** Passes `n` (staircase family) or 1, to divide compute per token out of throughput. */
function passesOf(config: Record<string, unknown>): number {
  return typeof config['passes'] === 'number' ? config['passes'] : 1;
}

/** Options of {@link runBench}. Every one has a default; a bad value is a {@link BenchmarkError}. */
export interface BenchOptions {
  /** The size: `tiny` (default; seconds) or `reference` (the issue's size). See {@link BENCH_SIZE_SPECS}. */
  size?: BenchSize;
  /** Model ids or kind names (`staircase` = n 2 and 4, `ladder` = R 2). Default {@link DEFAULT_BENCH_MODELS}. */
  kinds?: readonly string[];
  /**
   * TensorFlow.js backends. Default: the one `auto` picks (a real accelerator, else WASM), WASM, and
   * CPU at `tiny`. Empty: none (only the ONNX part runs).
   */
  backends?: readonly string[];
  /** Measured training and evaluation steps (default 5, tiny 3). */
  steps?: number;
  /** Untimed steps before them (default 3, tiny 1). */
  warmup?: number;
  /**
   * Also measure data-parallel training with this many replicas (`createParallelTrainer`: the
   * calling thread plus worker threads) on the wasm and cpu backends. Default 1 (not measured).
   * The workers load the packages' built `dist/` files: an installed package has them; in a source
   * checkout, build it first (`pnpm build`).
   */
  workers?: number;
  /** Streaming positions (default: the size's). Empty: no streaming measurement. */
  positions?: readonly number[];
  /** Timed single-token calls per position (default 32, tiny 8). */
  streamTokens?: number;
  /**
   * ONNX Runtime measurement: a function of your own, `false` for none, or absent for
   * {@link measureOnnxRuntime} (ONNX Runtime through `@staircase/backend-onnx`; a runtime that is
   * not installed is reported in the results, in one line naming what to install). Whatever it
   * throws is reported as `onnx.status` `failed`, never thrown.
   */
  measureOnnx?: MeasureOnnx | false;
  /**
   * Where ONNX Runtime is measured, in order (default `cpu`, `auto`: the issue's CPU figure, plus
   * WebGPU where a hardware adapter makes it what `auto` picks). Empty: no ONNX measurement.
   */
  onnxDevices?: readonly string[];
  /** Progress lines (default: none). */
  onProgress?: (line: string) => void;
}

/** The machine a bench ran on (`BenchReport.machine`). */
export interface BenchMachine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  tfjs: string;
  date: string;
  /** 1-minute load average when the bench started and when it ended (other work on the machine skews every figure). */
  loadAverage: { start: number; end: number };
  /**
   * The WebGPU adapter (vendor, architecture, device, description), where WebGPU was measured
   * (TensorFlow.js `webgpu` or ONNX Runtime's WebGPU EP): the GPU the figures belong to.
   */
  webgpuAdapter?: string;
}

/** One model on one backend. Figures are absent where that part failed (see `error`). */
export interface BenchResult {
  backend: BackendName;
  model: BenchModelId;
  kind: string;
  parameters: number;
  layerApplicationsPerToken: number;
  train?: { tokensPerS: number; msPerStep: number; steps: number; warmup: number; firstLoss: number; lastLoss: number };
  /** Data-parallel training (`createParallelTrainer`), when `workers` > 1 on wasm or cpu. */
  trainParallel?: { workers: number; tokensPerS: number; msPerStep: number; steps: number; warmup: number; error?: string };
  eval?: { tokensPerS: number; msPerBatch: number; steps: number };
  memory?: {
    /** Largest resident set seen while this model trained and evaluated (whole process), MiB. */
    peakRssMb: number;
    rssAfterWarmupMb: number;
    rssAfterStepsMb: number;
    /** RSS growth over the measured steps, percent of the value after warm-up. */
    rssGrowthPct: number;
    /** `tf.memory().numTensors` before the trainer existed. */
    tensorsBefore: number;
    tensorsAfterWarmup: number;
    tensorsAfterSteps: number;
    /** Tensors gained over the measured steps (0 = no leak). */
    tensorsGrowth: number;
    /** Tensors still alive after the trainer and every stream state were disposed, minus `tensorsBefore` (0 = no leak). */
    tensorsLeaked: number;
  };
  stream?: {
    /** Median milliseconds per single-token forward call (batch 1, state carried), by position. */
    msPerToken: Record<string, number>;
    /** Latency at the last position ÷ at the first. */
    ratio: number | null;
    tokens: number;
  };
  /** Something to know about the figures (e.g. the global cache's cost grows with the history). */
  note?: string;
  /** What failed, one line. */
  error?: string;
}

/** A derived figure of one model on one backend (`BenchReport.derived`). */
export interface BenchFigure {
  backend: BackendName;
  model: BenchModelId;
  value: number;
}

/**
 * What {@link runBench} returns: settings, machine, results and derived figures, and the ONNX
 * Runtime part. Plain data: it survives `JSON.stringify` / `JSON.parse` unchanged, and
 * {@link benchMarkdown} formats it.
 */
export interface BenchReport {
  schema: 'staircase-bench/1';
  size: BenchSize;
  settings: {
    batch: number;
    length: number;
    vocabSize: number;
    steps: number;
    warmup: number;
    workers: number;
    positions: number[];
    streamTokens: number;
    historySegment: number;
    /** Where ONNX Runtime was asked to measure (see {@link BenchOptions.onnxDevices}). */
    onnxDevices: OnnxBenchDevice[];
  };
  machine: BenchMachine;
  backends: { measured: BackendName[]; skipped: { name: string; why: string }[] };
  models: { id: BenchModelId; config: Record<string, unknown> }[];
  results: BenchResult[];
  derived: {
    /** Staircase tokens/s × n ÷ Transformer-XL tokens/s (training), per backend and staircase model. */
    scheduleOverhead: BenchFigure[];
    /** Streaming latency at the last position ÷ at the first. */
    streamingRatio: BenchFigure[];
  };
  onnx: OnnxReport;
}

/**
 * The TensorFlow.js backends to measure, and why others were left out: the ones named (an unknown
 * name is a {@link BenchmarkError}; an empty list: none), or by default the one `auto` picks, WASM,
 * and CPU at `tiny`.
 */
export async function resolveBenchBackends(
  size: BenchSize,
  backends: readonly string[] | undefined,
): Promise<{ measured: BackendName[]; skipped: { name: string; why: string }[] }> {
  // An explicit empty list measures no TensorFlow.js backend (e.g. ONNX Runtime only).
  if (backends) {
    for (const b of backends) {
      if (!(BACKEND_NAMES as readonly string[]).includes(b)) throw new BenchmarkError(`--backends: unknown backend "${b}"; use ${BACKEND_NAMES.join(', ')}`);
    }
    return { measured: BACKEND_NAMES.filter((b) => backends.includes(b)), skipped: [] };
  }
  const auto = await selectBackend({ backend: 'auto' });
  const measured = new Set<BackendName>([auto.name, 'wasm']);
  if (size === 'tiny') measured.add('cpu');
  const skipped: { name: string; why: string }[] = auto.skipped.map((s) => ({ name: s.name, why: s.why }));
  if (size !== 'tiny' && !measured.has('cpu')) skipped.push({ name: 'cpu', why: 'pure-JS backend, too slow at this size (measured at tiny only; pass --backends cpu)' });
  return { measured: BACKEND_NAMES.filter((b) => measured.has(b)), skipped };
}

/** Seeded random batches of `batch` rows × `length` tokens (targets are the next tokens). */
function randomBatches(seed: number, batch: number, length: number, vocab: number): () => Batch {
  const rng = new SeededRandom(seed);
  return () => {
    const all = new Int32Array(batch * (length + 1));
    for (let i = 0; i < all.length; i++) all[i] = Math.floor(rng.next() * vocab);
    const tokens = new Int32Array(batch * length);
    const targets = new Int32Array(batch * length);
    for (let r = 0; r < batch; r++) {
      tokens.set(all.subarray(r * (length + 1), r * (length + 1) + length), r * length);
      targets.set(all.subarray(r * (length + 1) + 1, (r + 1) * (length + 1)), r * length);
    }
    return { tokens, targets, batch, length };
  };
}

async function machine(tf: Tf | undefined, loadAtStart: number, date: Date, usedWebGpu: boolean): Promise<BenchMachine> {
  const list = cpus();
  // The adapter WebGPU ran on: navigator.gpu is already set up by then.
  const probe = usedWebGpu ? await probeWebGpu() : undefined;
  const adapter = probe && !probe.error ? probe.description : undefined;
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: round(totalmem() / 2 ** 30, 2),
    platform: `${platform()} ${process.arch}`,
    node: process.version,
    tfjs: tf?.version_core ?? 'unknown',
    date: date.toISOString(),
    loadAverage: { start: round(loadAtStart, 2), end: round(loadavg()[0]!, 2) },
    ...(adapter ? { webgpuAdapter: adapter } : {}),
  };
}

/**
 * The size and settings a run of {@link runBench} with these options uses (defaults filled in,
 * each checked: a bad value is a {@link BenchmarkError}).
 */
export function resolveBenchSettings(options: BenchOptions = {}): { size: BenchSize; settings: BenchReport['settings'] } {
  const size = options.size ?? 'tiny';
  if (!(BENCH_SIZES as readonly string[]).includes(size)) throw new BenchmarkError(`--size ${size}: expected ${BENCH_SIZES.join(' or ')}`);
  const spec = BENCH_SIZE_SPECS[size];
  const tiny = size === 'tiny';
  const steps = options.steps ?? (tiny ? 3 : 5);
  const warmup = options.warmup ?? (tiny ? 1 : 3);
  const streamTokens = options.streamTokens ?? (tiny ? 8 : 32);
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new BenchmarkError(`--workers: expected a whole number ≥ 1, got ${workers}`);
  const positions = [...(options.positions ?? spec.positions)].sort((a, b) => a - b);
  if (steps < 1) throw new BenchmarkError('--steps: expected at least 1');
  for (const p of positions) if (!Number.isInteger(p) || p < 1) throw new BenchmarkError(`--positions: expected whole numbers ≥ 1, got ${p}`);
  const onnxDevices = [...(options.onnxDevices ?? DEFAULT_ONNX_BENCH_DEVICES)];
  for (const d of onnxDevices) {
    if (!(ONNX_BENCH_DEVICES as readonly string[]).includes(d)) throw new BenchmarkError(`--onnx-devices: unknown device "${d}"; use ${ONNX_BENCH_DEVICES.join(', ')}`);
  }
  return {
    size,
    settings: {
      batch: spec.batch,
      length: spec.length,
      vocabSize: spec.vocabSize,
      steps,
      warmup,
      workers,
      positions,
      streamTokens,
      historySegment: spec.historySegment,
      onnxDevices: onnxDevices as OnnxBenchDevice[],
    },
  };
}

/**
 * Runs the benchmark: for every backend and model, training and evaluation throughput, memory and
 * tensor counts, and streaming latency per token; then the derived figures and the ONNX part.
 * No figure is asserted; a model that fails on a backend is recorded with its error and the rest go on.
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const { size, settings } = resolveBenchSettings(options);
  const spec = BENCH_SIZE_SPECS[size];
  const { steps, warmup, streamTokens, workers, positions } = settings;
  const models = resolveBenchModels(options.kinds);
  const backends = await resolveBenchBackends(size, options.backends);
  const progress = options.onProgress ?? (() => {});
  const started = new Date();
  const loadAtStart = loadavg()[0]!;

  const results: BenchResult[] = [];
  let lastTf: Tf | undefined;
  for (const backend of backends.measured) {
    let tf: Tf;
    try {
      tf = (await selectBackend({ backend })).tf;
      lastTf = tf;
    } catch (e) {
      backends.skipped.push({ name: backend, why: oneLine(e) });
      continue;
    }
    for (const id of models) {
      progress(`${backend} ${id}: ${warmup} warm-up + ${steps} steps${positions.length ? `, streaming at ${positions.join(', ')}` : ''}`);
      results.push(await measureModel(tf, backend, id, { size, spec, steps, warmup, workers, positions, streamTokens }));
    }
  }
  backends.measured = backends.measured.filter((b) => !backends.skipped.some((s) => s.name === b));

  const onnx = await resolveOnnx(settings.onnxDevices.length === 0 ? false : options.measureOnnx, {
    size,
    models: models.map((id) => ({ id, config: benchModelConfig(size, id) })),
    batch: spec.batch,
    length: spec.length,
    steps,
    warmup,
    positions,
    streamTokens,
    historySegment: spec.historySegment,
    devices: settings.onnxDevices,
  });

  return {
    schema: 'staircase-bench/1',
    size,
    settings,
    machine: await machine(
      lastTf,
      loadAtStart,
      started,
      backends.measured.includes('webgpu') || onnx.results.some((r) => r.executionProvider === 'webgpu' && !r.error),
    ),
    backends,
    models: models.map((id) => ({ id, config: benchModelConfig(size, id) })),
    results,
    derived: derive(size, results),
    onnx,
  };
}

/** The derived figures of a set of results: schedule overhead (needs Transformer-XL on the same backend) and streaming ratios. */
function derive(size: BenchSize, results: readonly BenchResult[]): BenchReport['derived'] {
  const scheduleOverhead: BenchFigure[] = [];
  const streamingRatio: BenchFigure[] = [];
  for (const r of results) {
    if (r.stream?.ratio != null) streamingRatio.push({ backend: r.backend, model: r.model, value: r.stream.ratio });
    const xl = results.find((x) => x.backend === r.backend && x.model === 'transformer-xl');
    if (r.kind === 'staircase' && r.train && xl?.train) {
      const n = passesOf(benchModelConfig(size, r.model));
      scheduleOverhead.push({ backend: r.backend, model: r.model, value: round((r.train.tokensPerS * n) / xl.train.tokensPerS) });
    }
  }
  return { scheduleOverhead, streamingRatio };
}

/**
 * One report from several runs of {@link runBench} with the same size and settings on different
 * models (e.g. one model at a time, so that each can be measured right next to a peer): results,
 * models and ONNX results in order, derived figures recomputed over all of them, the machine's load
 * from the first run's start to the last run's end.
 */
export function mergeBenchReports(parts: readonly BenchReport[]): BenchReport {
  const [first, last] = [parts[0], parts.at(-1)];
  if (!first || !last) throw new Error('mergeBenchReports: no reports');
  for (const p of parts) {
    if (p.size !== first.size || JSON.stringify(p.settings) !== JSON.stringify(first.settings)) {
      throw new Error('mergeBenchReports: the reports differ in size or settings');
    }
  }
  const results = parts.flatMap((p) => p.results);
  const skipped = new Map(parts.flatMap((p) => p.backends.skipped).map((s) => [s.name, s]));
  const onnxParts = parts.map((p) => p.onnx);
  const onnxMeasured = onnxParts.find((o) => o.status === 'measured');
  // Where some parts measured ONNX and others did not, the others' reasons are kept.
  const missed = parts.filter((p) => p.onnx.status !== 'measured').map((p) => `${p.models.map((m) => m.id).join(', ')}: ${p.onnx.status}${p.onnx.reason ? ` (${p.onnx.reason})` : ''}`);
  return {
    ...first,
    machine: { ...first.machine, loadAverage: { start: first.machine.loadAverage.start, end: last.machine.loadAverage.end } },
    backends: { measured: [...new Set(parts.flatMap((p) => p.backends.measured))], skipped: [...skipped.values()] },
    models: parts.flatMap((p) => p.models),
    results,
    derived: derive(first.size, results),
    onnx: onnxMeasured ? { status: 'measured', results: onnxParts.flatMap((o) => o.results), ...(missed.length ? { reason: missed.join('; ') } : {}) } : first.onnx,
  };
}

/** Milliseconds for `count` calls in a row, the memory sampled after each. */
async function timeCalls(count: number, call: () => Promise<unknown>, sample: () => number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    await call();
    sample();
  }
  return performance.now() - t0;
}

interface MeasureSettings {
  size: BenchSize;
  spec: BenchSizeSpec;
  steps: number;
  warmup: number;
  workers: number;
  positions: number[];
  streamTokens: number;
}

async function measureModel(tf: Tf, backend: BackendName, id: BenchModelId, s: MeasureSettings): Promise<BenchResult> {
  const config = benchModelConfig(s.size, id);
  const model = createModel(config);
  const cost = model.cost();
  const result: BenchResult = {
    backend,
    model: id,
    kind: model.kind,
    parameters: cost.parameters,
    layerApplicationsPerToken: cost.layerApplicationsPerToken,
  };
  if (model.kind === 'global-staircase') result.note = 'global cache: per-token cost grows with the history';
  const { batch, length, vocabSize } = s.spec;
  const tokensPerBatch = batch * length;
  const tensorsBefore = tf.memory().numTensors;
  let trainer: Trainer | undefined;
  let peak = process.memoryUsage().rss;
  const sample = () => {
    const rss = process.memoryUsage().rss;
    if (rss > peak) peak = rss;
    return rss;
  };
  try {
    const t = await benchTrainer(tf, model, 1);
    trainer = t;
    const next = randomBatches(1, batch, length, vocabSize);
    await timeCalls(s.warmup, () => t.step(next()), sample);
    const tensorsAfterWarmup = tf.memory().numTensors;
    const rssAfterWarmup = sample();
    const losses: number[] = [];
    const trainMs = await timeCalls(s.steps, async () => losses.push((await t.step(next())).loss), sample);
    const tensorsAfterSteps = tf.memory().numTensors;
    const rssAfterSteps = sample();
    result.train = {
      tokensPerS: round((tokensPerBatch * s.steps * 1000) / trainMs),
      msPerStep: round(trainMs / s.steps),
      steps: s.steps,
      warmup: s.warmup,
      firstLoss: round(losses[0]!, 4),
      lastLoss: round(losses.at(-1)!, 4),
    };

    const evalBatches = randomBatches(2, batch, length, vocabSize);
    for (let i = 0; i < s.warmup; i++) await t.evaluate(evalBatches());
    const evalMs = await timeCalls(s.steps, () => t.evaluate(evalBatches()), sample);
    result.eval = { tokensPerS: round((tokensPerBatch * s.steps * 1000) / evalMs), msPerBatch: round(evalMs / s.steps), steps: s.steps };

    result.memory = {
      peakRssMb: 0,
      rssAfterWarmupMb: round(mb(rssAfterWarmup)),
      rssAfterStepsMb: round(mb(rssAfterSteps)),
      rssGrowthPct: round(((rssAfterSteps - rssAfterWarmup) / rssAfterWarmup) * 100, 2),
      tensorsBefore,
      tensorsAfterWarmup,
      tensorsAfterSteps,
      tensorsGrowth: tensorsAfterSteps - tensorsAfterWarmup,
      tensorsLeaked: 0,
    };

    if (s.positions.length > 0) {
      t.reset();
      result.stream = await measureStream(tf, model, t, s, sample);
    }
  } catch (e) {
    result.error = oneLine(e);
  } finally {
    trainer?.dispose();
  }
  if (result.memory) {
    result.memory.peakRssMb = round(mb(peak));
    result.memory.tensorsLeaked = tf.memory().numTensors - tensorsBefore;
  }
  // After the leak count: the parallel trainer is measured for speed only.
  if (s.workers > 1 && (backend === 'wasm' || backend === 'cpu') && !result.error) {
    result.trainParallel = await measureParallel(tf, model, s, sample);
  }
  return result;
}

/** The bench's data-parallel trainer (`workers` > 1: `createParallelTrainer`, else `createTrainer`). */
async function benchTrainer(tf: Tf, model: Model, workers: number): Promise<Trainer> {
  const options = { tf, seed: 0, optimizer: { lr: 1e-3, warmupSteps: 0 } };
  return workers > 1 ? createParallelTrainer(model, { ...options, workers, kindModules: await kindModuleUrls() }) : createTrainer(model, options);
}

/** How the bench's targets name a training measurement: the backend, and the workers when more than one (`wasm, 2 workers`). */
export function trainingLabel(backend: string, workers: number): string {
  return workers > 1 ? `${backend}, ${workers} workers` : backend;
}

/** A model's trainer on one backend, for timing short training runs: see {@link openBenchTraining}. */
export interface BenchTrainingSession {
  /** e.g. `wasm, 2 workers`: {@link trainingLabel}. */
  readonly label: string;
  /** Milliseconds for `steps` training steps on random batches, the state carried from step to step. */
  time(steps: number): Promise<number>;
  close(): void;
}

/**
 * Creates the trainer `staircase bench` measures (`config` as `createModel` takes it; seed 0,
 * AdamW lr 1e-3) on `backend` with `workers` data-parallel workers, so that a caller can time short
 * training runs in turn with another toolkit's.
 */
export async function openBenchTraining(
  config: Readonly<Record<string, unknown>>,
  options: { backend: BackendName; workers: number; batch: number; length: number },
): Promise<BenchTrainingSession> {
  const model = createModel({ ...config });
  const tf = (await selectBackend({ backend: options.backend })).tf;
  const trainer = await benchTrainer(tf, model, options.workers);
  const next = randomBatches(1, options.batch, options.length, model.config.vocabSize);
  return {
    label: trainingLabel(options.backend, options.workers),
    async time(steps) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await trainer.step(next());
      return performance.now() - t0;
    },
    close: () => trainer.dispose(),
  };
}

/** Data-parallel training throughput with `createParallelTrainer`; failures are reported, not thrown. */
async function measureParallel(tf: Tf, model: Model, s: MeasureSettings, sample: () => number): Promise<NonNullable<BenchResult['trainParallel']>> {
  const base = { workers: s.workers, steps: s.steps, warmup: s.warmup };
  let trainer: Trainer | undefined;
  try {
    const t = await benchTrainer(tf, model, s.workers);
    trainer = t;
    const { batch, length, vocabSize } = s.spec;
    const next = randomBatches(1, batch, length, vocabSize);
    for (let i = 0; i < s.warmup; i++) await t.step(next());
    const ms = await timeCalls(s.steps, () => t.step(next()), sample);
    return { ...base, tokensPerS: round((batch * length * s.steps * 1000) / ms), msPerStep: round(ms / s.steps) };
  } catch (e) {
    return { ...base, tokensPerS: 0, msPerStep: 0, error: oneLine(e) };
  } finally {
    trainer?.dispose();
  }
}

/**
 * Streaming latency: batch 1, one stream per position, each fed its history in segments of
 * `historySegment` tokens up to a few tokens before its position and then a few untimed
 * single-token calls; then `streamTokens` rounds of one timed single-token forward call per stream,
 * taken in turn (see {@link interleavedMedians}), each carrying its state and reading its logits
 * back as generation does. Each position's figure is the median of its calls.
 */
async function measureStream(
  tf: Tf,
  model: Model,
  trainer: Trainer,
  s: MeasureSettings,
  sample: () => number,
): Promise<NonNullable<BenchResult['stream']>> {
  const { ops, params } = trainer;
  const rng = new SeededRandom(3);
  const token = () => Math.floor(rng.next() * s.spec.vocabSize);
  const streams = s.positions.map(() => ({ state: null as ModelState<Tensor> | null, position: 0 }));
  const call = async (stream: (typeof streams)[number], count: number) => {
    const previous = stream.state;
    const ids = Array.from({ length: count }, token);
    const out = tf.tidy(() => {
      const { logits, state: st } = model.forward(ops, params, ops.constantInt(ids, [1, count]), previous);
      return { last: tf.slice(logits, [0, count - 1, 0], [1, 1, -1]), st: st as unknown as Tensor };
    });
    await out.last.data();
    out.last.dispose();
    stream.state = out.st as unknown as ModelState<Tensor>;
    disposeReplaced(previous, stream.state);
    stream.position += count;
  };
  const untimed = 2;
  const msPerToken: Record<string, number> = {};
  try {
    for (const [k, target] of s.positions.entries()) {
      const stream = streams[k]!;
      while (stream.position < target - untimed) await call(stream, Math.min(s.spec.historySegment, target - untimed - stream.position));
      while (stream.position < target) await call(stream, 1);
      sample();
    }
    const medians = await interleavedMedians(
      s.streamTokens,
      streams.map((stream) => () => call(stream, 1)),
    );
    sample();
    for (const [k, target] of s.positions.entries()) msPerToken[String(target)] = round(medians[k]!);
  } finally {
    for (const stream of streams) disposeReplaced(stream.state, null);
  }
  const first = msPerToken[String(s.positions[0])];
  const last = msPerToken[String(s.positions.at(-1))];
  return { msPerToken, ratio: s.positions.length > 1 && first && last ? round(last / first) : null, tokens: s.streamTokens };
}
