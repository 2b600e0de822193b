export type { Tf, Tensor } from './tf.js';
export { createTfjsOps, type TfjsOps, type TfjsOpsOptions, type GatherGradient } from './ops.js';
export {
  selectBackend,
  formatBackendReport,
  BackendUnavailableError,
  BACKEND_NAMES,
  type BackendName,
  type BackendSelection,
  type SelectBackendOptions,
  type SkippedBackend,
} from './select.js';
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
export { createParallelTrainer, type ParallelTrainerOptions } from './parallel/trainer.js';
export {
  encodeCheckpoint,
  decodeCheckpoint,
  saveCheckpoint,
  loadCheckpoint,
  assertCheckpointFits,
  CheckpointError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type HostTensor,
  type HostModelState,
  type DecodeOptions,
} from './checkpoint.js';
export { crc32 } from './crc32.js';
export { isTensor, isHostTensor, tensorsIn, disposeReplaced, stateToHost, stateFromHost } from './state.js';
