/** Messages between the page and the training worker (`train-worker.ts`). */
import type { EvalMetrics } from '@staircase/data';
import type { TaskData } from './task-split.js';

/** The models trained side by side: equal core (same parameters), different recurrence. */
export type TrainedKind = 'staircase' | 'transformer-xl';

/** What the page asks the worker to train. */
export interface TrainSettings {
  readonly data: TaskData;
  /** The shared core: `dModel`, `heads`, `layers`, `dFF`, `position`… */
  readonly core: Record<string, unknown>;
  /** Staircase chunk F and passes n. */
  readonly chunk: number;
  readonly passes: number;
  /** Transformer-XL memory (positions per layer). */
  readonly memory: number;
  readonly steps: number;
  readonly batch: number;
  readonly length: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly evalEvery: number;
  readonly seed: number;
  /** TF.js backend: `auto` = WebGPU where there is a hardware adapter, else WASM. */
  readonly backend: 'auto' | 'webgpu' | 'wasm' | 'cpu';
  /** Where the page serves TF.js's `.wasm` files. */
  readonly wasmPaths: string;
}

export type ToWorker =
  | { readonly type: 'start'; readonly settings: TrainSettings }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'export'; readonly kind: TrainedKind };

export type FromWorker =
  | { readonly type: 'backend'; readonly name: string; readonly report: string }
  | { readonly type: 'model'; readonly kind: TrainedKind; readonly parameters: number; readonly layerApplications: number }
  | { readonly type: 'step'; readonly kind: TrainedKind; readonly step: number; readonly loss: number; readonly tokensPerSecond: number }
  | { readonly type: 'eval'; readonly kind: TrainedKind; readonly step: number; readonly metrics: EvalMetrics }
  | { readonly type: 'state'; readonly state: 'running' | 'paused' | 'done' }
  | {
      readonly type: 'exported';
      readonly kind: TrainedKind;
      readonly step: number;
      readonly files: { readonly step: Uint8Array; readonly segment: Uint8Array };
      /** The validation split scored by TF.js in the worker, for comparison with the export's. */
      readonly valid: EvalMetrics;
    }
  | { readonly type: 'error'; readonly message: string };
