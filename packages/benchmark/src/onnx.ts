/**
 * The ONNX Runtime part of the benchmark.
 *
 * By default {@link measureOnnxRuntime} measures through `@staircase/backend-onnx`, which loads
 * ONNX Runtime (`onnxruntime-node` for `cpu`, `onnxruntime-web` for `wasm` and `webgpu`; optional
 * peers) when first asked: a runtime that is not installed makes that device's results carry one
 * line naming what to install, and the rest of the report stands. A caller of `runBench` can pass
 * its own `measureOnnx` function (or `false` to skip ONNX).
 */
import { createModel, initParams } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { exportModel, type ExportedModel, OnnxModel, type OnnxProfile, type ProfileOptions, type Quantization } from '@staircase/backend-onnx';
import { oneLine } from './errors.js';
import { interleavedMedians } from './timing.js';

/** What the ONNX measurement is asked to do: the same models, shapes and step counts as the TensorFlow.js part. */
export interface OnnxBenchRequest {
  readonly size: string;
  /** Model configs exactly as `createModel` takes them (vocabSize and seed included; weights from `initParams` with that seed). */
  readonly models: readonly { readonly id: string; readonly config: Readonly<Record<string, unknown>> }[];
  readonly batch: number;
  readonly length: number;
  /** Measured evaluation batches (forward only), after `warmup` untimed ones. */
  readonly steps: number;
  readonly warmup: number;
  /** Streaming positions (batch 1), ascending; empty = no streaming measurement. */
  readonly positions: readonly number[];
  /** Timed single-token calls per position. */
  readonly streamTokens: number;
  /** Tokens per call while the stream is brought to a position. */
  readonly historySegment: number;
  /** Where to measure, in order (default {@link DEFAULT_ONNX_BENCH_DEVICES}). */
  readonly devices?: readonly OnnxBenchDevice[];
}

/**
 * A device the ONNX part measures on, as `OnnxModel.load` takes it: `cpu` (onnxruntime-node in
 * Node), `wasm` and `webgpu` (onnxruntime-web), or `auto`, what a user gets by default: WebGPU on a
 * hardware adapter, else `cpu`. A device reached twice (`auto` on a machine without a GPU) is
 * measured once.
 */
export type OnnxBenchDevice = 'cpu' | 'wasm' | 'webgpu' | 'auto';

/** Every {@link OnnxBenchDevice}, for option parsing. */
export const ONNX_BENCH_DEVICES: readonly OnnxBenchDevice[] = ['cpu', 'wasm', 'webgpu', 'auto'];

/**
 * `cpu` (the figure: onnxruntime-node against PyTorch) and `auto`, so that the same command
 * also measures ONNX Runtime's WebGPU inference on a machine with a GPU.
 */
export const DEFAULT_ONNX_BENCH_DEVICES: readonly OnnxBenchDevice[] = ['cpu', 'auto'];

/** One model measured on ONNX Runtime. */
export interface OnnxBenchResult {
  readonly model: string;
  /** e.g. `onnxruntime-node`. */
  readonly runtime: string;
  /** e.g. `cpu`, `webgpu`, `wasm`. */
  readonly executionProvider: string;
  /** Forward-only tokens per second at batch × length. */
  readonly evalTokensPerS?: number;
  /** The same with the weight products in int8 (`exportModel`'s `quantize: 'int8'`). */
  readonly evalInt8TokensPerS?: number;
  /** Relative error (L2) of the int8 export's logits against float32's on the first batch. */
  readonly int8LogitsRelError?: number;
  /** Why the int8 measurement failed (the float32 figures stand). */
  readonly int8Error?: string;
  /** Milliseconds per single-token call, by position. */
  readonly streamMsPerToken?: Readonly<Record<string, number>>;
  readonly threads?: number;
  readonly error?: string;
}

/** Measures the models of a request on ONNX Runtime (the `measureOnnx` option of `runBench`). */
export type MeasureOnnx = (request: OnnxBenchRequest) => Promise<readonly OnnxBenchResult[]>;

/** The ONNX part of a bench report. */
export interface OnnxReport {
  status: 'measured' | 'not installed' | 'skipped' | 'failed';
  reason?: string;
  results: OnnxBenchResult[];
}

/** How the bench's targets name an ONNX Runtime measurement: runtime and execution provider (`onnxruntime-node cpu`). */
export function onnxLabel(r: { readonly runtime: string; readonly executionProvider: string }): string {
  return `${r.runtime} ${r.executionProvider}`;
}

/** A model's segment graph loaded for evaluation: see {@link openOnnxEval}. */
export interface OnnxEvalSession {
  /** Runtime and execution provider, as the bench's targets name them: {@link onnxLabel}. */
  readonly label: string;
  /** Milliseconds to score `batches` batches, each continuing the state the previous one left. */
  time(batches: number): Promise<number>;
  /**
   * Opened with `profile: true`: ends ONNX Runtime's profile and returns where the runs so far
   * spent their time (`skipRuns`: leave out the first runs, e.g. the warm-up).
   */
  endProfile(options?: ProfileOptions): Promise<OnnxProfile>;
  close(): Promise<void>;
}

/** The tokens every evaluation batch scores. */
function evalTokens(vocab: number, batch: number, length: number): Int32Array {
  return Int32Array.from({ length: batch * length }, (_, i) => (i * 7919) % vocab);
}

/** Times batch × length scoring calls through the segment graph, the state carried from call to call. */
function evalTimer(onnx: OnnxModel, vocab: number, batch: number, length: number): (batches: number) => Promise<number> {
  const tokens = evalTokens(vocab, batch, length);
  const stream = onnx.stream(batch, 'segment');
  return async (batches) => {
    const start = performance.now();
    for (let i = 0; i < batches; i++) await stream.append(tokens, length);
    return performance.now() - start;
  };
}

/**
 * Exports a model (`config` as `createModel` takes it, weights from `initParams` with its seed) and
 * opens its segment graph on onnxruntime-node (CPU) for evaluation at batch × length, so that a
 * caller can time short runs in turn with another toolkit's. `batches`: how many the caller will
 * score at most (models with a position limit are exported for that many). `profile`: record ONNX
 * Runtime's profile of the runs (read with `endProfile`). `quantize`: export with int8 weight products.
 */
export async function openOnnxEval(
  config: Readonly<Record<string, unknown>>,
  shape: { batch: number; length: number; batches: number },
  options: { profile?: boolean; quantize?: Quantization } = {},
): Promise<OnnxEvalSession> {
  const model = createModel({ ...config });
  const exported = exportModel(model, initParams(model.paramSpecs(), Number(config.seed ?? 0)), {
    segmentTokens: shape.length,
    maxPositions: shape.length * (shape.batches + 1),
    ...(options.quantize ? { quantize: options.quantize } : {}),
  });
  // A profile counts every run: the load's self-check (one run per graph) would be counted with
  // the measured ones, so a profiled session skips it (the parity tests check these graphs).
  const onnx = await OnnxModel.load(exported, { device: 'cpu', profile: options.profile === true, ...(options.profile ? { selfCheck: false } : {}) });
  return {
    label: onnxLabel({ runtime: onnx.runtime, executionProvider: onnx.device }),
    time: evalTimer(onnx, model.config.vocabSize, shape.batch, shape.length),
    endProfile: async (options) => (await onnx.endProfile(options)).segment,
    close: () => onnx.release(),
  };
}

/**
 * Measures the request's models on ONNX Runtime, on each of `request.devices` (default `cpu` and
 * `auto`; see {@link OnnxBenchDevice}): each model is exported once from seeded weights, then on
 * every device scored batch × length at a time through the segment graph (evaluation) and fed one
 * token at a time through the step graph at each position (streaming latency). On `cpu` it is also
 * exported with int8 weight products and scored the same way (WebGPU has no integer products).
 * A device that cannot be opened gives each model a result with its one-line `error`.
 */
export const measureOnnxRuntime: MeasureOnnx = async (request) => {
  const results: OnnxBenchResult[] = [];
  for (const { id, config } of request.models) {
    const model = createModel({ ...config });
    const params = initParams(model.paramSpecs(), Number(config.seed ?? 0));
    const options = {
      segmentTokens: request.length,
      maxPositions: Math.max(request.length, ...request.positions) + request.streamTokens + request.length,
    };
    const exported = exportModel(model, params, options);
    const measuredOn = new Set<string>();
    for (const device of request.devices ?? DEFAULT_ONNX_BENCH_DEVICES) {
      let onnx: OnnxModel;
      try {
        onnx = await OnnxModel.load(exported, { device });
      } catch (e) {
        results.push({ model: id, runtime: device === 'cpu' ? 'onnxruntime-node' : 'onnxruntime-web', executionProvider: device, error: oneLine(e) });
        continue;
      }
      // `auto` resolves to a device named beside it (cpu on a machine without a hardware adapter).
      if (measuredOn.has(onnx.device)) {
        await onnx.release();
        continue;
      }
      measuredOn.add(onnx.device);
      let measured: Omit<OnnxBenchResult, 'model' | 'runtime' | 'executionProvider'>;
      try {
        measured = await measureOn(onnx, model.config.vocabSize, request);
        // A failure here keeps the float32 figures.
        if (onnx.device === 'cpu') {
          try {
            measured = { ...measured, ...(await measureInt8(onnx, exportModel(model, params, { ...options, quantize: 'int8' }), model.config.vocabSize, request)) };
          } catch (e) {
            measured = { ...measured, int8Error: oneLine(e) };
          }
        }
      } catch (e) {
        measured = { error: oneLine(e) };
      } finally {
        await onnx.release();
      }
      results.push({ model: id, runtime: onnx.runtime, executionProvider: onnx.device, ...measured });
    }
  }
  return results;
};

/** Evaluation tokens/s and streaming latency of one loaded model (see {@link measureOnnxRuntime}). */
async function measureOn(onnx: OnnxModel, vocab: number, request: OnnxBenchRequest): Promise<Pick<OnnxBenchResult, 'evalTokensPerS' | 'streamMsPerToken'>> {
  const evalTokensPerS = await evalSpeed(evalTimer(onnx, vocab, request.batch, request.length), request);
  // One stream per position, brought there through the step graph's state, then single
  // tokens timed on every stream in turn (see interleavedMedians).
  const streams = [];
  for (const position of request.positions) {
    const step = onnx.stream(1, 'step');
    const history = Int32Array.from({ length: position }, (_, i) => (i * 31) % vocab);
    for (let at = 0; at < position; at += request.historySegment) {
      const n = Math.min(request.historySegment, position - at);
      await step.append(history.subarray(at, at + n), n);
    }
    streams.push(step);
  }
  let next = 0;
  const medians = await interleavedMedians(
    request.streamTokens,
    streams.map((step) => () => step.append([next++ % vocab], 1)),
  );
  const streamMsPerToken: Record<string, number> = {};
  for (const [k, position] of request.positions.entries()) streamMsPerToken[String(position)] = medians[k]!;
  return { evalTokensPerS, streamMsPerToken };
}

/** Tokens per second of `request.steps` timed batches after `request.warmup` untimed ones. */
async function evalSpeed(timeEval: (batches: number) => Promise<number>, request: OnnxBenchRequest): Promise<number> {
  await timeEval(request.warmup);
  return (request.steps * request.batch * request.length) / ((await timeEval(request.steps)) / 1000);
}

/** The int8 export's evaluation speed, and its first batch's logits against the float32 model's. */
async function measureInt8(float: OnnxModel, exported: ExportedModel, vocab: number, request: OnnxBenchRequest) {
  const int8 = await OnnxModel.load(exported, { device: 'cpu' });
  try {
    const tokens = evalTokens(vocab, request.batch, request.length);
    const a = await float.stream(request.batch, 'segment').append(tokens, request.length);
    const b = await int8.stream(request.batch, 'segment').append(tokens, request.length);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < a.length; i++) {
      err += (a[i]! - b[i]!) ** 2;
      norm += a[i]! ** 2;
    }
    const evalInt8TokensPerS = await evalSpeed(evalTimer(int8, vocab, request.batch, request.length), request);
    return { evalInt8TokensPerS, int8LogitsRelError: Math.sqrt(err / norm) };
  } finally {
    await int8.release();
  }
}

/** Runs the ONNX measurement, if any, and never throws: a failure is reported (internal: `runBench` calls it). */
export async function resolveOnnx(measure: MeasureOnnx | false | undefined, request: OnnxBenchRequest): Promise<OnnxReport> {
  if (measure === false) return { status: 'skipped', reason: 'not requested', results: [] };
  const fn = measure ?? measureOnnxRuntime;
  try {
    return { status: 'measured', results: [...(await fn(request))] };
  } catch (e) {
    return { status: 'failed', reason: oneLine(e), results: [] };
  }
}
