/**
 * The memory a replica group shares: one `WebAssembly.Memory` (shared, fixed size) holding the
 * parameters, the AdamW moments and the gradient slots, so the SIMD loops of `replica-kernels.ts`
 * run on all of it where it lies. Workers receive the memory object itself.
 */
import { ReplicaKernels } from './replica-kernels.js';
import { SharedOptimizerState, padded } from './shared-adamw.js';

/** The group's shared state: `width` = parameters + 1 (the loss) floats per gradient slot. */
export class ReplicaMemory {
  readonly slots: GradientSlots;
  readonly optimizer: SharedOptimizerState;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly count: number,
    readonly width: number,
  ) {
    const kernels = new ReplicaKernels(memory);
    const size = width - 1;
    const optimizerBytes = SharedOptimizerState.byteLength(size, count);
    if (memory.buffer.byteLength < ReplicaMemory.byteLength(count, width)) throw new Error('internal: replica memory smaller than its layout');
    this.optimizer = new SharedOptimizerState(memory.buffer, 0, size, count, kernels);
    this.slots = new GradientSlots(new Float32Array(memory.buffer, optimizerBytes, 2 * count * padded(width)), count, width, kernels);
  }

  /** Bytes of the layout. */
  static byteLength(count: number, width: number): number {
    return SharedOptimizerState.byteLength(width - 1, count) + 4 * 2 * count * padded(width);
  }

  /** A new shared memory for `count` replicas of `width` floats. */
  static allocate(count: number, width: number): ReplicaMemory {
    const pages = Math.ceil(ReplicaMemory.byteLength(count, width) / 65536);
    return new ReplicaMemory(new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }), count, width);
  }
}

/**
 * The gradient slots: two regions (alternating by reduction parity, so a fast replica writing the
 * next reduction never overwrites a slot a slow one is still reading), each with one slot of
 * `width` floats per replica.
 */
export class GradientSlots {
  private readonly stride: number;

  constructor(
    private readonly view: Float32Array,
    readonly count: number,
    readonly width: number,
    private readonly kernels: ReplicaKernels,
  ) {
    this.stride = padded(width);
  }

  /** Writes replica `index`'s vector for reduction `seq`. */
  write(seq: number, index: number, values: Float32Array): void {
    if (values.length !== this.width) throw new Error(`internal: ${values.length} gradient values, expected ${this.width}`);
    this.view.set(values, this.offset(seq, index));
  }

  /**
   * Elements `[from, to)` of the sum of every replica's vector for reduction `seq`, added in
   * replica order in float32, so every replica computes the same bits. Read-only (for elements
   * every replica needs, such as the loss).
   */
  sum(seq: number, from: number, to: number): Float32Array {
    const out = new Float32Array(to - from);
    for (let r = 0; r < this.count; r++) {
      const base = this.offset(seq, r) + from;
      for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i]! + this.view[base + i]!);
    }
    return out;
  }

  /**
   * Sums elements `[from, to)` of every replica's vector for reduction `seq` (replica order,
   * float32) into replica `index`'s own slot, and returns that view with the sum of its squares
   * (float64). Only this replica may read that range of its slot for this reduction: it is the
   * replica's shard, which the others do not read.
   */
  reduceInto(seq: number, index: number, from: number, to: number): { values: Float32Array; squares: number } {
    const sources = Array.from({ length: this.count }, (_, r) => this.view.subarray(this.offset(seq, r) + from, this.offset(seq, r) + to));
    const values = sources[index]!;
    return { values, squares: this.kernels.reduce(values, sources) };
  }

  private offset(seq: number, index: number): number {
    return ((seq % 2) * this.count + index) * this.stride;
  }
}
