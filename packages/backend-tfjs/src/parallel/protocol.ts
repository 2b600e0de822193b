/**
 * Messages between a data-parallel trainer (replica 0, on the caller's thread) and its worker
 * replicas. Gradients do not travel in messages: each replica writes its packed gradients into its
 * slot of one SharedArrayBuffer ({@link GradientSlots}) and the messages only say "written" and "go".
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
  readonly shared: SharedArrayBuffer;
  /** The parameters and AdamW moments shared by all replicas (see `shared-adamw.ts`). */
  readonly optimizer: SharedArrayBuffer;
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

/**
 * The shared gradient buffer: two regions (alternating by reduction parity, so a fast replica
 * writing the next reduction never overwrites a slot a slow one is still reading), each with one
 * slot of `width` floats per replica.
 */
export class GradientSlots {
  private readonly view: Float32Array;
  private out = new Float32Array(0);

  constructor(
    readonly shared: SharedArrayBuffer,
    readonly count: number,
    readonly width: number,
  ) {
    this.view = new Float32Array(shared);
    if (this.view.length !== 2 * count * width) throw new Error(`internal: gradient buffer of ${this.view.length} floats, expected ${2 * count * width}`);
  }

  /** A buffer for `count` replicas' vectors of `width` floats. */
  static allocate(count: number, width: number): GradientSlots {
    return new GradientSlots(new SharedArrayBuffer(2 * count * width * 4), count, width);
  }

  /** Writes replica `index`'s vector for reduction `seq`. */
  write(seq: number, index: number, values: Float32Array): void {
    if (values.length !== this.width) throw new Error(`internal: ${values.length} gradient values, expected ${this.width}`);
    this.view.set(values, this.offset(seq, index));
  }

  /**
   * Elements `[from, to)` of the sum of every replica's vector for reduction `seq`, added in
   * replica order in float32, so every replica computes the same bits. The result is valid until
   * the next call (its buffer is reused: `slice` of shared memory copies ~4× slower than this loop).
   */
  sum(seq: number, from = 0, to = this.width): Float32Array {
    const n = to - from;
    if (this.out.length < n) this.out = new Float32Array(n);
    const out = this.out.subarray(0, n);
    const view = this.view;
    const first = this.offset(seq, 0) + from;
    for (let i = 0; i < n; i++) out[i] = view[first + i]!;
    for (let r = 1; r < this.count; r++) {
      const base = this.offset(seq, r) + from;
      for (let i = 0; i < n; i++) out[i]! += view[base + i]!;
    }
    return out;
  }

  private offset(seq: number, index: number): number {
    return ((seq % 2) * this.count + index) * this.width;
  }
}
