/**
 * The ONNX Runtime part of `staircase bench`: an extension point, filled by `@staircase/backend-onnx`.
 *
 * Contract: `@staircase/backend-onnx` may export
 * `measureBench(request: OnnxBenchRequest): Promise<OnnxBenchResult[]>` (one result per model of the
 * request). When the package is installed and exports it, `staircase bench` calls it; when it is
 * absent the report says `onnx: not installed`. A caller of `runBench` can also pass its own
 * `measureOnnx` function (or `false` to skip ONNX).
 */

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
}

/** One model measured on ONNX Runtime. */
export interface OnnxBenchResult {
  readonly model: string;
  /** e.g. `onnxruntime-node 1.30.0`. */
  readonly runtime: string;
  /** e.g. `cpu`, `webgpu`, `wasm`. */
  readonly executionProvider: string;
  /** Forward-only tokens per second at batch × length. */
  readonly evalTokensPerS?: number;
  /** Milliseconds per single-token call, by position. */
  readonly streamMsPerToken?: Readonly<Record<string, number>>;
  readonly threads?: number;
  readonly error?: string;
}

/** Measures the models of a request on ONNX Runtime. */
export type MeasureOnnx = (request: OnnxBenchRequest) => Promise<readonly OnnxBenchResult[]>;

/** The ONNX part of a bench report. */
export interface OnnxReport {
  status: 'measured' | 'not installed' | 'skipped' | 'failed';
  reason?: string;
  results: OnnxBenchResult[];
}

/** Imports a package that may be absent, hiding the specifier from bundlers and type checking. */
function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to (load|resolve)/i.test(String(e));
}

/** Finds `measureBench` in `@staircase/backend-onnx`, or says why there is none. */
export async function loadOnnxMeasure(): Promise<MeasureOnnx | { status: OnnxReport['status']; reason: string }> {
  let mod: { measureBench?: unknown };
  try {
    mod = (await importOptional('@staircase/backend-onnx')) as typeof mod;
  } catch (e) {
    if (isModuleNotFound(e)) return { status: 'not installed', reason: '@staircase/backend-onnx is not a dependency here' };
    return { status: 'failed', reason: `@staircase/backend-onnx failed to load: ${String((e as Error).message ?? e).split('\n')[0]}` };
  }
  if (typeof mod.measureBench !== 'function') {
    return { status: 'not installed', reason: '@staircase/backend-onnx has no measureBench export yet' };
  }
  return mod.measureBench as MeasureOnnx;
}

/** Runs the ONNX measurement, if any, and never throws: a failure is reported. */
export async function resolveOnnx(measure: MeasureOnnx | false | undefined, request: OnnxBenchRequest): Promise<OnnxReport> {
  if (measure === false) return { status: 'skipped', reason: 'not requested', results: [] };
  const fn = measure ?? (await loadOnnxMeasure());
  if (typeof fn !== 'function') return { status: fn.status, reason: fn.reason, results: [] };
  try {
    return { status: 'measured', results: [...(await fn(request))] };
  } catch (e) {
    return { status: 'failed', reason: String((e as Error).message ?? e).split('\n')[0]!, results: [] };
  }
}
