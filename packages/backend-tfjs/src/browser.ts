/**
 * The browser entry (`@staircase/backend-tfjs/browser`, and what bundlers pick for the package under
 * the `browser` condition): ops, training, backend selection on WebGPU, WASM and CPU, and
 * checkpoints encoded to and decoded from bytes. It leaves out what needs Node — checkpoint files
 * (`saveCheckpoint`, `loadCheckpoint`: save `encodeCheckpoint`'s bytes as a download or in IndexedDB
 * instead), worker-thread training (`createParallelTrainer`) and tfjs-node — so that it reaches no
 * Node built-in.
 */
export type { Tf, Tensor } from './tf.js';
export { createTfjsOps, type TfjsOps, type TfjsOpsOptions, type GatherGradient } from './ops.js';
export {
  formatBackendReport,
  BackendUnavailableError,
  BACKEND_NAMES,
  type BackendName,
  type BackendSelection,
  type SelectBackendOptions,
  type SkippedBackend,
} from './select-core.js';
export { selectBackend } from './select-browser.js';
export { learningRate, type ScheduleOptions } from './schedule.js';
export { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
export {
  createTrainer,
  type Trainer,
  type TrainerOptions,
  type ResolvedTrainerOptions,
  type OptimizerOptions,
  type Batch,
  type StepResult,
  type EvalResult,
  type CheckpointExtras,
} from './train.js';
export {
  encodeCheckpoint,
  decodeCheckpoint,
  assertCheckpointFits,
  CheckpointError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  MAX_CHECKPOINT_ENTRIES,
  type Checkpoint,
  type HostTensor,
  type HostModelState,
  type DecodeOptions,
} from './checkpoint.js';
export { crc32 } from './crc32.js';
export { scoreBatches, type Scorer } from './score.js';
export { isTensor, isHostTensor, tensorsIn, disposeReplaced, stateToHost, stateFromHost } from './state.js';
