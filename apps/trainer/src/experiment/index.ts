export { loadExperiment, parseSeeds, experimentSchema, type Experiment, type ExperimentFile, type PlannedRun, type LoadExperimentOptions } from './spec.js';
export { runExperiment, runStatus, readSummary, publishedSummary, publishedSummaryPath, type RunSummary, type RunExperimentOptions, type RunStatus } from './run.js';
export { reportExperiment, meanStd, type ReportOptions, type ReportResult } from './report.js';
