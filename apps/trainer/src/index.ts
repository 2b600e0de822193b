export { train, type TrainOptions, type TrainResult } from './train-loop.js';
export {
  evalCommand,
  sampleCommand,
  infoCommand,
  openTrained,
  openForSampling,
  describeScored,
  evalRecord,
  type SourceOptions,
  type SampleOptions,
  type EvalCommandOptions,
  type EvalReport,
  type ModelSource,
} from './commands.js';
export { evaluateSplit, headline, type EvalMetrics } from './evaluate.js';
export { generate, greedyByRerunning } from './generate.js';
export { pickToken, type SamplingOptions } from '@staircase/core';
export { resolveRunConfig, runConfigSchema, applySet, type RunConfig, type RunConfigSources } from './run-config.js';
export { preset, PRESET_NAMES, KIND_FIELDS } from './presets.js';
export { openSession, openModel, type Session, type ModelSession, type OpenModelOptions } from './session.js';
export { escapeUnprintable } from './printable.js';
export { UsageError, isUserError } from './errors.js';
export { parseQuantization } from './onnx.js';
// The bench command's option parsing; the measurement itself is @staircase/benchmark's.
export { benchOptionsFrom, emitBenchReport, parsePositions } from './bench-cli.js';
export { addBenchOptions, type BenchCommandOptions, wholeNumber } from './bench-options.js';
export * from './experiment/index.js';
export type { EvalOptions, PositionError } from './evaluate.js';
