export { train, type TrainOptions, type TrainResult } from './train-loop.js';
export { evalCommand, sampleCommand, infoCommand, openTrained, type SourceOptions, type SampleOptions } from './commands.js';
export { evaluateSplit, headline, type EvalMetrics } from './evaluate.js';
export { generate, greedyByRerunning } from './generate.js';
export { pickToken, type SamplingOptions } from './sampler.js';
export { resolveRunConfig, runConfigSchema, applySet, type RunConfig, type RunConfigSources } from './run-config.js';
export { preset, PRESET_NAMES, KIND_FIELDS } from './presets.js';
export { openSession, type Session } from './session.js';
export { UsageError, isUserError } from './errors.js';
