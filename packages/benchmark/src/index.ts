/**
 * `@staircase/benchmark`: the measurement behind `staircase bench`.
 *
 * {@link runBench} measures, per TensorFlow.js backend and model, training and evaluation tokens/s,
 * memory (peak RSS, growth) and tensor counts (a leak check), and streaming latency per token at
 * chosen positions, then the same models on ONNX Runtime (evaluation, int8 weights, streaming);
 * {@link benchMarkdown} formats the report. Sizes and models: {@link BENCH_SIZE_SPECS},
 * {@link BENCH_MODELS}. A bad setting is a {@link BenchmarkError} with a one-line message.
 *
 * @packageDocumentation
 */
export { BenchmarkError } from './errors.js';
export {
  BENCH_SIZES,
  BENCH_MODELS,
  DEFAULT_BENCH_MODELS,
  BENCH_SIZE_SPECS,
  benchModelConfig,
  resolveBenchModels,
  type BenchSize,
  type BenchModelId,
  type BenchSizeSpec,
} from './sizes.js';
export {
  runBench,
  resolveBenchSettings,
  resolveBenchBackends,
  mergeBenchReports,
  openBenchTraining,
  trainingLabel,
  type BenchOptions,
  type BenchReport,
  type BenchResult,
  type BenchMachine,
  type BenchFigure,
  type BenchTrainingSession,
} from './bench.js';
export {
  measureOnnxRuntime,
  openOnnxEval,
  onnxLabel,
  ONNX_BENCH_DEVICES,
  DEFAULT_ONNX_BENCH_DEVICES,
  type MeasureOnnx,
  type OnnxBenchDevice,
  type OnnxBenchRequest,
  type OnnxBenchResult,
  type OnnxEvalSession,
  type OnnxReport,
} from './onnx.js';
export { benchMarkdown } from './markdown.js';
export { interleavedMedians, median } from './timing.js';
export { kindModuleUrls } from './kind-modules.js';
