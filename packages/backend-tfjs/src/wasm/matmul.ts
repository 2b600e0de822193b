/**
 * The batched matrix product of the WASM backend, on this package's own SIMD kernel
 * (`gemm.ts`) instead of tfjs-backend-wasm 4.22's `BatchMatMul`.
 *
 * Why: the backend sends a product to XNNPACK (16–18 GFLOP/s on one core here) only when both
 * operands have batch size 1 and neither is transposed; attention's `[B·H, T, hd]` products and the
 * transposed products of the backward pass run a scalar loop at ~1 GFLOP/s. The kernel here runs
 * every product, batched or transposed, at 35–45 GFLOP/s, reading the operands where they lie in
 * the backend's memory and writing the result in place (no copies, no explicit transposes).
 *
 * It relies on internals of `@tensorflow/tfjs-backend-wasm` (pinned exactly by this package):
 * `dataIdMap`, `makeOutput`, and the module's `asm.memory`, `_malloc` and `_free`.
 * {@link wasmMatMulSupported} checks they are present; callers fall back to `tf.matMul` otherwise.
 */
import type { KernelBackend, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tensor, Tf } from '../tf.js';
import { type HeapAllocator, WasmGemm } from './gemm.js';

/** Name of the kernel registered on the `wasm` backend. */
export const WASM_MATMUL_KERNEL = 'StaircaseBatchMatMul';

/** The parts of tfjs-backend-wasm's `BackendWasm` this kernel (and `adamw.ts`) uses. */
export interface WasmInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(pointer: number): void };
}

/** The backend's internals, or null where `backend` is not tfjs-backend-wasm 4.x. */
export function internals(backend: KernelBackend): WasmInternals | null {
  const b = backend as unknown as Partial<WasmInternals>;
  const ok =
    typeof b.dataIdMap?.get === 'function' &&
    typeof b.makeOutput === 'function' &&
    b.wasm?.asm?.memory instanceof WebAssembly.Memory &&
    typeof b.wasm._malloc === 'function' &&
    typeof b.wasm._free === 'function';
  return ok ? (b as WasmInternals) : null;
}

/**
 * A lookup of one `create(memory, allocator)` instance per backend (each backend has its own
 * memory): for the loops of this package that run on the backend's memory.
 */
export function perBackend<K>(create: (memory: WebAssembly.Memory, heap: HeapAllocator) => K): (be: WasmInternals) => K {
  const instances = new WeakMap<object, K>();
  return (be) => {
    let instance = instances.get(be);
    if (instance === undefined) {
      const { wasm } = be;
      instance = create(wasm.asm.memory, { malloc: (bytes) => wasm._malloc(bytes), free: (pointer) => wasm._free(pointer) });
      instances.set(be, instance);
    }
    return instance;
  };
}

const gemmOf = perBackend((memory, heap) => new WasmGemm(memory, heap));

const size = (shape: readonly number[]) => shape.reduce((p, q) => p * q, 1);

/**
 * `op(a) · op(b)` over the last two axes; `op` transposes them where the attribute says so. Batch
 * shapes are equal, or one side's batch is 1 (broadcast).
 */
function batchMatMul({ inputs, backend, attrs }: { inputs: NamedTensorMap; backend: unknown; attrs: NamedAttrMap }): TensorInfo {
  const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
  const transposeA = attrs['transposeA'] === true;
  const transposeB = attrs['transposeB'] === true;
  const be = internals(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_MATMUL_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`${WASM_MATMUL_KERNEL}: float32 operands only`);
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [kb, n] = transposeB ? [cb, rb] : [rb, cb];
  if (kb !== k) throw new Error(`${WASM_MATMUL_KERNEL}: inner sizes differ, [${a.shape}] · [${b.shape}]`);
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) throw new Error(`${WASM_MATMUL_KERNEL}: batch sizes differ, [${a.shape}] · [${b.shape}]`);
  const lead = (batchA >= batchB ? a : b).shape.slice(0, -2);
  const out = be.makeOutput([...lead, m, n], 'float32');
  const gemm = gemmOf(be);
  gemm.run({
    m,
    n,
    k,
    transposeA,
    transposeB,
    batch: Math.max(batchA, batchB),
    a: be.dataIdMap.get(a.dataId)!.memoryOffset,
    b: be.dataIdMap.get(b.dataId)!.memoryOffset,
    c: be.dataIdMap.get(out.dataId)!.memoryOffset,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
  });
  return out;
}

/** Whether the active backend is WASM with the internals this kernel needs. */
export function wasmMatMulSupported(tf: Tf): boolean {
  return tf.getBackend() === 'wasm' && internals(tf.backend()) !== null;
}

/** Whether the active WASM backend's kernel uses fused multiply-adds (relaxed SIMD); null where the kernel is unsupported. */
export function wasmMatMulFused(tf: Tf): boolean | null {
  const be = tf.getBackend() === 'wasm' ? internals(tf.backend()) : null;
  return be ? gemmOf(be).fused : null;
}

/**
 * Registers the kernel and its gradient once per tfjs-core instance (the registry is global to a
 * tfjs-core copy, so it is keyed on `tf`).
 */
function ensureRegistered(tf: Tf): void {
  if (tf.getKernel(WASM_MATMUL_KERNEL, 'wasm')) return;
  tf.registerKernel({ kernelName: WASM_MATMUL_KERNEL, backendName: 'wasm', kernelFunc: batchMatMul as never });
  tf.registerGradient({
    kernelName: WASM_MATMUL_KERNEL,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [Tensor, Tensor];
      const g = dy as Tensor;
      const ta = attrs['transposeA'] === true;
      const tb = attrs['transposeB'] === true;
      // The products of the chain rule, each with its transposes folded into the kernel's attributes.
      const [da, db] = !ta
        ? !tb
          ? [() => run(tf, g, b, false, true), () => run(tf, a, g, true, false)]
          : [() => run(tf, g, b, false, false), () => run(tf, g, a, true, false)]
        : !tb
          ? [() => run(tf, b, g, false, true), () => run(tf, a, g, false, false)]
          : [() => run(tf, b, g, true, true), () => run(tf, g, a, true, true)];
      return { a: () => reduceTo(tf, da(), a.shape), b: () => reduceTo(tf, db(), b.shape) };
    },
  });
}

function run(tf: Tf, a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor {
  return tf.engine().runKernel(WASM_MATMUL_KERNEL, { a, b } as unknown as NamedTensorMap, { transposeA, transposeB } as unknown as NamedAttrMap) as Tensor;
}

/** Sums a broadcast batch back to the operand's own shape. */
function reduceTo(tf: Tf, grad: Tensor, shape: readonly number[]): Tensor {
  if (grad.size === size(shape)) return tf.reshape(grad, [...shape]);
  const [r, c] = shape.slice(-2) as [number, number];
  return tf.reshape(tf.sum(tf.reshape(grad, [-1, r, c]), 0), [...shape]);
}

/**
 * `op(a) · op(b)` for rank-3+ operands of equal batch shape (or one with batch 1) on the WASM
 * backend, differentiable, every product (gradients included) on this package's kernel.
 */
export function wasmMatMul(tf: Tf, a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  ensureRegistered(tf);
  return run(tf, a, b, transposeA, transposeB);
}
