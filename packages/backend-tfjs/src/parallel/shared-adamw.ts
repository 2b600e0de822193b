/**
 * AdamW for data-parallel replicas, on host memory shared by all of them: the parameters and both
 * moments live once, in a shared WebAssembly memory, and each replica updates only its shard (a contiguous
 * range of the flattened parameters), so the optimizer's work is split across the cores instead of
 * repeated on each (on the WASM backend, ~30 ms of ~480 small kernels per step at the reference size).
 * Same arithmetic as {@link AdamW} (float32), as one SIMD loop (`replica-kernels.ts`).
 */
import type { HostParams, ParamSpec } from '@staircase/core';
import type { AdamWOptions, AdamWState } from '../adamw.js';
import type { ReplicaKernels } from './replica-kernels.js';

/** Floats rounded up to a whole number of 16-byte vectors. */
export const padded = (floats: number) => (floats + 3) & ~3;

/**
 * The parameters, AdamW moments and per-replica partial results of a replica group, laid out from
 * `byteOffset` of memory shared by every replica (see `replica-memory.ts`), each array 16-byte aligned.
 */
export class SharedOptimizerState {
  readonly params: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** One float64 per replica for partial results (squared gradient norms of each shard). */
  readonly partials: Float64Array;

  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly size: number,
    readonly count: number,
    /** The SIMD loops on this memory. */
    readonly kernels: ReplicaKernels,
  ) {
    this.partials = new Float64Array(buffer, byteOffset, count);
    const base = byteOffset + partialsBytes(count);
    const span = 4 * padded(size);
    this.params = new Float32Array(buffer, base, size);
    this.m = new Float32Array(buffer, base + span, size);
    this.v = new Float32Array(buffer, base + 2 * span, size);
  }

  /** Bytes the layout takes for `size` parameters and `count` replicas (a multiple of 16). */
  static byteLength(size: number, count: number): number {
    return partialsBytes(count) + 3 * 4 * padded(size);
  }
}

/** One float64 per replica, rounded up to 16 bytes so the arrays after it stay aligned. */
const partialsBytes = (count: number) => 16 * Math.ceil(count / 2);

/** The elements `[from, to)` of `size` that replica `index` of `count` updates. */
export function shardOf(size: number, index: number, count: number): [number, number] {
  return [Math.floor((size * index) / count), Math.floor((size * (index + 1)) / count)];
}

export class SharedAdamW {
  /** Updates applied so far. */
  step = 0;
  private readonly offsets: { name: string; from: number; to: number; decay: boolean }[] = [];

  constructor(
    private readonly specs: readonly ParamSpec[],
    readonly options: AdamWOptions,
    readonly shared: SharedOptimizerState,
    /** Whether this replica writes loaded state to the shared memory (exactly one does). */
    private readonly writer: boolean,
  ) {
    let offset = 0;
    for (const s of specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      this.offsets.push({ name: s.name, from: offset, to: offset + n, decay: s.decay });
      offset += n;
    }
  }

  /** Names of the parameters weight decay applies to. */
  decayed(): string[] {
    return this.specs.filter((s) => s.decay).map((s) => s.name);
  }

  /**
   * One update of the shared parameters and moments in `[from, to)` from `grads` (the summed
   * gradients of that range, a view of the shared memory) times `gradScale`, at learning rate
   * `lr`, in float32 SIMD. Every replica calls it once per update with its own shard, so all agree
   * on {@link step}.
   */
  applyShard(grads: Float32Array, from: number, to: number, lr: number, gradScale: number): void {
    const { params: p, m, v, kernels } = this.shared;
    const [b1, b2] = this.options.betas;
    const { eps, weightDecay } = this.options;
    const t = this.step + 1;
    const step = lr / (1 - b1 ** t);
    const unbias2 = 1 / (1 - b2 ** t);
    for (const o of this.offsets) {
      const lo = Math.max(o.from, from);
      const hi = Math.min(o.to, to);
      if (lo >= hi) continue;
      const keep = o.decay ? 1 - lr * weightDecay : 1;
      kernels.adamw(grads.subarray(lo - from, hi - from), p.subarray(lo, hi), m.subarray(lo, hi), v.subarray(lo, hi), { b1, b2, step, unbias2, eps, keep, scale: gradScale });
    }
    this.step = t;
  }

  /** Copies the moments to host memory. */
  async state(): Promise<AdamWState> {
    const m: HostParams = {};
    const v: HostParams = {};
    for (const o of this.offsets) {
      m[o.name] = this.shared.m.slice(o.from, o.to);
      v[o.name] = this.shared.v.slice(o.from, o.to);
    }
    return { step: this.step, m, v };
  }

  /** Restores moments (written by the writer replica only) and step. */
  load(state: AdamWState): void {
    for (const o of this.offsets) {
      for (const [what, values, target] of [['m', state.m[o.name], this.shared.m], ['v', state.v[o.name], this.shared.v]] as const) {
        if (!values) throw new Error(`optimizer moment ${what} of "${o.name}" is missing`);
        if (values.length !== o.to - o.from) throw new Error(`optimizer moment ${what} of "${o.name}" has ${values.length} values, expected ${o.to - o.from}`);
        if (this.writer) target.set(values, o.from);
      }
    }
    this.step = state.step;
  }

  /** Writes parameter values (flattened in spec order) to the shared copy, on the writer replica. */
  setParams(values: HostParams): void {
    if (!this.writer) return;
    for (const o of this.offsets) this.shared.params.set(values[o.name]!, o.from);
  }

  dispose(): void {}
}
