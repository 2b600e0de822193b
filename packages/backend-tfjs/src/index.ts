/**
 * The Node entry: the browser entry's API (`browser.ts`) plus what needs Node: checkpoint files,
 * worker-thread training, and backend selection that can load tfjs-node. The explicit
 * `selectBackend` below takes precedence over the browser one re-exported by `export *`.
 */
export * from './browser.js';
export { selectBackend } from './select.js';
export { createParallelTrainer, type ParallelTrainerOptions } from './parallel/trainer.js';
export { saveCheckpoint, loadCheckpoint, MAX_CHECKPOINT_FILE_BYTES } from './checkpoint-file.js';
