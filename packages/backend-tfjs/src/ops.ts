import { useAliasingIdentity } from './wasm/identity.js';
import './gradients.js';
import type { Ops } from '@staircase/core';
import type { Tensor, Tf } from './tf.js';
import { createFusedOps, isTrailing } from './fused.js';
import { wasmMatMul, wasmMatMulSupported } from './wasm/matmul.js';
import { wasmGatherRows, wasmHeapSupported, wasmScatterAddRows, wasmSumRows } from './wasm/heap.js';
import { wasmConcat, wasmConcatApplies, wasmSlice, wasmSliceSize } from './wasm/copy.js';
import { createWasmSoftmax, wasmSoftmaxApplies } from './wasm/softmax.js';
import { createWasmLayerNorm, wasmLayerNormApplies } from './wasm/layer-norm.js';

/** How {@link createTfjsOps} differentiates `gather` with respect to its table. */
export type GatherGradient = 'auto' | 'one-hot' | 'native';

/** Options of {@link createTfjsOps}. */
export interface TfjsOpsOptions {
  /** Base seed of the dropout masks. Default 0. */
  readonly seed?: number;
  /**
   * `native` uses TensorFlow.js's own gradient (needs the `UnsortedSegmentSum` kernel, which the
   * WASM backend lacks); `one-hot` computes it as `oneHot(indices)ᵀ · dy`, which every backend
   * can run; `auto` (default) picks `native` where the kernel exists, a scatter-add kernel of this
   * package on WASM (see {@link TfjsOpsOptions.wasmKernels}) and `one-hot` elsewhere.
   */
  readonly gatherGradient?: GatherGradient;
  /**
   * Differentiate `matMul` with explicit transposes followed by plain products instead of
   * TensorFlow.js's transposed products (which are 10–30× slower on WASM). Default: on for the
   * WASM backend only.
   */
  readonly explicitTransposes?: boolean;
  /**
   * On the WASM backend, use this package's own kernels where tfjs-backend-wasm 4.22 is slow:
   * every matrix product (batched ones such as attention's, and the transposed ones of the
   * backward pass) on a register-blocked SIMD kernel at 35–47 GFLOP/s on one core here, against
   * XNNPACK's 16–18 and the backend's scalar loop for those (`wasm/gemm.ts`, `wasm/matmul.ts`); the
   * gather gradient as a scatter-add, and bias, gain and LayerNorm gradients that sum rows with a
   * SIMD loop instead of a transposing reduction (`wasm/heap.ts`, `fused.ts`); `gather` as
   * row copies (`wasm/heap.ts`); log-softmax (both directions) and softmax's gradient as SIMD
   * loops with a vectorised `exp` (`wasm/softmax.ts`; softmax's value stays the backend's kernel),
   * and LayerNorm likewise (`wasm/layer-norm.ts`; both where the last axis is a multiple of 4);
   * `slice` and `concat` as block copies on the heap instead of
   * JavaScript loops over a copy of every input (`wasm/copy.ts`); and the backend's `Identity` as a
   * second reference instead of a copy (`wasm/identity.ts`: for the whole process). Default: on wherever
   * the WASM backend's internals allow it; ignored on other backends.
   */
  readonly wasmKernels?: boolean;
}

/** {@link Ops} on TensorFlow.js, plus control of the dropout random stream. */
export interface TfjsOps extends Ops<Tensor> {
  /** The TensorFlow.js namespace the ops run on. */
  readonly tf: Tf;
  /**
   * Restarts the dropout masks at stream `stream`: masks are a pure function of
   * `(seed, stream, call index since the restart)`. Trainers set it per (step, micro-batch), so a
   * resumed run draws the same masks as an uninterrupted one.
   */
  setRandomStream(stream: number): void;
}

/**
 * Implements core's {@link Ops} eagerly with TensorFlow.js, so `tf.grad`/`tf.variableGrads` train
 * models written against it. Runs on whichever backend `tf` has active.
 *
 * @example
 * ```ts
 * const { tf } = await selectBackend({ backend: 'cpu' });
 * const ops = createTfjsOps(tf, { seed: 1 });
 * const y = ops.softmax(ops.constant([1, 2, 3], [1, 3]));
 * ```
 */
export function createTfjsOps(tf: Tf, options: TfjsOpsOptions = {}): TfjsOps {
  const seed = options.seed ?? 0;
  const gatherMode = options.gatherGradient ?? 'auto';
  let stream = 0;
  let draws = 0;

  const explicitTransposes = () => options.explicitTransposes ?? tf.getBackend() === 'wasm';
  const nativeGather = () =>
    gatherMode === 'native' || (gatherMode === 'auto' && tf.getKernel('UnsortedSegmentSum', tf.getBackend()) !== undefined);

  const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  /** `a · b` for equal batch shapes, differentiated with explicit transposes. */
  const matMulExplicit = tf.customGrad((a, b, save) => {
    const x = a as Tensor;
    const y = b as Tensor;
    (save as (ts: Tensor[]) => void)([x, y]);
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sa, sb] = saved as [Tensor, Tensor];
        return [tf.matMul(dy, tf.transpose(sb, swapLast(sb.rank))), tf.matMul(tf.transpose(sa, swapLast(sa.rank)), dy)];
      },
    };
  });
  const ownMatMul = () => options.wasmKernels !== false && wasmMatMulSupported(tf);
  const heapKernels = () => {
    if (options.wasmKernels === false || !wasmHeapSupported(tf)) return false;
    // Installed with the other heap kernels: it changes the WASM backend's Identity for every caller.
    useAliasingIdentity(tf);
    return true;
  };
  // Row sums by this package's WASM kernel (only used while `heapKernels()` holds).
  const fused = createFusedOps(tf, (x) => wasmSumRows(tf, x));
  const simdSoftmax = createWasmSoftmax(tf);
  const simdLayerNorm = createWasmLayerNorm(tf, (x) => wasmSumRows(tf, x));
  const ownSoftmax = (x: Tensor) => options.wasmKernels !== false && wasmSoftmaxApplies(tf, x);
  const product = (a: Tensor, b: Tensor): Tensor => {
    const batchA = a.shape.slice(0, -2).reduce((p, q) => p * q, 1);
    const batchB = b.shape.slice(0, -2).reduce((p, q) => p * q, 1);
    if (ownMatMul() && a.rank === b.rank && (sameShape(a.shape.slice(0, -2), b.shape.slice(0, -2)) || batchA === 1 || batchB === 1) && a.dtype === 'float32' && b.dtype === 'float32') {
      return wasmMatMul(tf, a, b);
    }
    if (explicitTransposes() && a.rank === b.rank && sameShape(a.shape.slice(0, -2), b.shape.slice(0, -2))) {
      return matMulExplicit(a, b);
    }
    return tf.matMul(a, b);
  };

  const stopGradient = tf.customGrad((x) => ({
    value: tf.clone(x as Tensor),
    gradFunc: (dy: Tensor) => tf.zerosLike(dy),
  }));

  return {
    name: `tfjs-${tf.getBackend()}`,
    tf,
    setRandomStream(s: number) {
      stream = s;
      draws = 0;
    },

    constant: (values, shape) => tf.tensor(Float32Array.from(values), [...shape], 'float32'),
    constantInt: (values, shape) => tf.tensor(Int32Array.from(values), [...shape], 'int32'),
    zeros: (shape) => tf.zeros([...shape], 'float32'),
    shape: (x) => [...x.shape],

    reshape: (x, shape) => tf.reshape(x, [...shape]),
    transpose: (x, perm) => tf.transpose(x, [...perm]),
    concat: (xs, axis) => (heapKernels() && wasmConcatApplies(xs, axis) ? wasmConcat(tf, xs, axis) : tf.concat([...xs], axis)),
    slice: (x, begin, size) => {
      const fast = heapKernels() ? wasmSliceSize(x, begin, size) : null;
      return fast ? wasmSlice(tf, x, begin, fast) : tf.slice(x, [...begin], [...size]);
    },

    add: (a, b) => (heapKernels() && isTrailing(a, b) ? fused.addTrailing(a, b) : heapKernels() && isTrailing(b, a) ? fused.addTrailing(b, a) : tf.add(a, b)),
    sub: (a, b) => tf.sub(a, b),
    mul: (a, b) => (heapKernels() && isTrailing(a, b) ? fused.mulTrailing(a, b) : heapKernels() && isTrailing(b, a) ? fused.mulTrailing(b, a) : tf.mul(a, b)),
    scale: (x, s) => tf.mul(x, tf.scalar(s, 'float32')),
    relu: (x) => tf.relu(x),
    gelu: (x) => {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), built from ops every backend differentiates.
      const cube = tf.mul(tf.mul(x, x), x);
      const inner = tf.mul(tf.add(x, tf.mul(cube, tf.scalar(0.044715))), tf.scalar(Math.sqrt(2 / Math.PI)));
      return tf.mul(tf.mul(x, tf.scalar(0.5)), tf.add(tf.tanh(inner), tf.scalar(1)));
    },
    matMul: (a, b) => {
      if (a.rank < 2 || b.rank < 2) throw new Error(`matMul needs rank ≥ 2 operands, got [${a.shape}] and [${b.shape}]`);
      if (b.rank === 2 && a.rank > 2) {
        // Fold the batch into rows: one large 2-D product instead of many small ones.
        const k = a.shape[a.rank - 1]!;
        const out = product(tf.reshape(a, [-1, k]), b);
        return tf.reshape(out, [...a.shape.slice(0, -1), b.shape[1]!]);
      }
      if (a.rank === 2 && b.rank > 2) {
        return product(tf.reshape(a, [...Array(b.rank - 2).fill(1), ...a.shape]), b);
      }
      return product(a, b);
    },
    softmax: (x) => (ownSoftmax(x) ? simdSoftmax.softmax(x) : tf.softmax(x)),
    logSoftmax: (x) => (ownSoftmax(x) ? simdSoftmax.logSoftmax(x) : tf.logSoftmax(x)),
    layerNorm: (x, g, b, eps) => {
      if (heapKernels() && wasmLayerNormApplies(tf, x, g, b)) return simdLayerNorm(x, g, b, eps);
      if (heapKernels() && g.rank === 1 && b.rank === 1) return fused.layerNorm(x, g, b, eps);
      const mean = tf.mean(x, -1, true);
      const centred = tf.sub(x, mean);
      const variance = tf.mean(tf.mul(centred, centred), -1, true);
      const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, tf.scalar(eps))));
      return tf.add(tf.mul(normed, g), b);
    },
    gather: (table, indices) => {
      const [n, ...rest] = table.shape as [number, ...number[]];
      const outShape = [...indices.shape, ...rest];
      const flat = tf.reshape(indices, [-1]);
      if (nativeGather()) return tf.reshape(tf.gather(table, flat), outShape);
      const width = rest.reduce((p, q) => p * q, 1);
      const byRowCopies = (t: Tensor) => heapKernels() && (t.dtype === 'float32' || t.dtype === 'int32') && flat.dtype === 'int32';
      // The indices are saved for the backward pass, not passed as inputs: they get no gradient.
      const gathered = tf.customGrad((t, save) => {
        (save as (ts: Tensor[]) => void)([flat]);
        return {
          value: tf.reshape(byRowCopies(t as Tensor) ? wasmGatherRows(tf, tf.reshape(t as Tensor, [n, width]), flat) : tf.gather(t as Tensor, flat), outShape),
          gradFunc: (dy: Tensor, saved: Tensor[]) => {
            if (gatherMode === 'auto' && heapKernels()) return tf.reshape(wasmScatterAddRows(tf, tf.reshape(dy, [flat.size, width]), saved[0]!, n), [n, ...rest]);
            const selector = tf.transpose(floatOneHot(tf, saved[0]!, n)); // [n, N]
            return tf.reshape(tf.matMul(selector, tf.reshape(dy, [flat.size, width])), [n, ...rest]);
          },
        };
      });
      return gathered(table);
    },
    oneHot: (indices, depth) => floatOneHot(tf, indices, depth),
    select: (condition, a, b) => tf.tidy(() => tf.where(tf.notEqual(condition, tf.scalar(0, condition.dtype)), a, b)),
    sum: (x, axes) => tf.sum(x, axes === undefined ? undefined : [...axes]),
    dropout: (x, rate) => {
      if (rate <= 0) return x;
      if (rate >= 1) throw new Error(`dropout rate must be < 1, got ${rate}`);
      const u = tf.randomUniform(x.shape, 0, 1, 'float32', `${seed}/${stream}/${draws++}`);
      const keep = tf.cast(tf.greaterEqual(u, tf.scalar(rate)), 'float32');
      return tf.mul(x, tf.mul(keep, tf.scalar(1 / (1 - rate))));
    },
    stopGradient: (x) => stopGradient(x),
  };
}

/**
 * One-hot as float32. Built as int32 then cast: the WASM backend's OneHot kernel ignores the
 * requested dtype and writes int32 bits into a float32 tensor (tfjs 4.22).
 */
function floatOneHot(tf: Tf, indices: Tensor, depth: number): Tensor {
  return tf.tidy(() => tf.cast(tf.oneHot(indices, depth, 1, 0, 'int32'), 'float32'));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
