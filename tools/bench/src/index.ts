export { runSuite, type SuiteOptions, type SuiteReport, type SuiteRound } from './suite.js';
export { measurePairs, type PairedRuns, type PairPlan, type PairTimer } from './paired.js';
export { targets, combineRounds, type Met, type Combine, type TargetRow, type SuiteTargetRow } from './targets.js';
export { suiteMarkdown } from './markdown.js';
export { REFERENCE_SCRIPT, DEFAULT_PYTHON, pytorchUnavailable, runPytorch, measurePytorch, openPytorchSession } from './pytorch.js';
export type { PytorchOptions, PytorchReport, PytorchResult, PytorchMeasurement, PytorchSession } from './pytorch.js';
export { profileOnnxEval, profileMarkdown, type OnnxEvalProfile, type OnnxProfile, type ProfileRunOptions } from './profile.js';
export { measureGeneration, generationMarkdown, summarise, type GenerationOptions, type GenerationReport, type GenerationResult } from './generation.js';
