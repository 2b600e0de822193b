/**
 * Messages between a data-parallel trainer (replica 0, on the caller's thread) and its worker
 * replicas. Gradients do not travel in messages: each replica writes its packed gradients into its
 * slot of one shared memory (`GradientSlots`) and the messages only say "written" and "go".
 */
import type { Checkpoint } from '../checkpoint.js';
import type { ResolvedTrainerOptions } from '../train.js';

/** Trainer options as sent to a worker: everything but the TensorFlow.js namespace. */
export type WorkerTrainerOptions = Omit<ResolvedTrainerOptions, 'tf'>;

/** What a worker needs to build its replica. */
export interface InitCommand {
  readonly op: 'init';
  /** The model's validated config; the worker rebuilds the model with core's `createModel`. */
  readonly config: Record<string, unknown>;
  readonly options: WorkerTrainerOptions;
  /** `wasm` or `cpu`: the worker activates the same backend as the caller. */
  readonly backend: 'wasm' | 'cpu';
  /** Modules imported first, for their side effect of registering model kinds. */
  readonly kindModules: readonly string[];
  readonly index: number;
  readonly count: number;
  /** The group's shared memory: gradient slots, parameters and AdamW moments (`replica-memory.ts`). */
  readonly memory: WebAssembly.Memory;
  /** Floats per replica slot: every parameter, then the loss. */
  readonly width: number;
}

/** A training batch as sent to a worker (copies of the caller's arrays). */
export interface WireBatch {
  readonly tokens: Int32Array;
  readonly targets: Int32Array;
  readonly mask?: Float32Array;
  readonly batch: number;
  readonly length: number;
}

/** Commands a worker answers with a {@link Reply}, in the order sent. */
export type Command =
  | InitCommand
  | { readonly op: 'step'; readonly batch: WireBatch }
  | { readonly op: 'reset'; readonly which: 'train' | 'eval' | 'all' }
  | { readonly op: 'setParams'; readonly values: Record<string, Float32Array> }
  | { readonly op: 'restore'; readonly checkpoint: Checkpoint }
  | { readonly op: 'modelState' };

/** A command with its request id. */
export type Request = Command & { readonly id: number };

/** A worker's answer to request `id`. */
export type Reply = { readonly id: number; readonly ok: true; readonly result?: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

/** Worker → caller: this replica's gradients for reduction `seq` are in its slot. */
export interface ReadySignal {
  readonly op: 'reduce-ready';
  readonly seq: number;
}

/** Caller → workers: every slot of reduction `seq` is written; sum them. */
export interface GoSignal {
  readonly op: 'reduce-go';
  readonly seq: number;
}
