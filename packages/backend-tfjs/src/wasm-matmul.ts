/**
 * A batched matrix product for the WASM backend that runs every batch entry through XNNPACK.
 *
 * Why: tfjs-backend-wasm 4.22 sends a product to XNNPACK only when both operands have batch size 1
 * and neither is transposed; everything else (attention's `[B·H, T, hd]` products, every transposed
 * product of the backward pass) runs a scalar triple loop at ~1 GFLOP/s, 10–20× slower. This
 * kernel registers, per batch entry, views of the operands' WASM memory as temporary tensors
 * (no copies) and calls the backend's own `BatchMatMul` export on them with batch size 1, which
 * takes the XNNPACK path. Transposes are never passed to it: the gradient transposes explicitly.
 *
 * It relies on internals of `@tensorflow/tfjs-backend-wasm` (pinned exactly by this package):
 * `dataIdMap`, `dataIdNextNumber`, `makeOutput`, `wasm.cwrap` and `wasm.tfjs.registerTensor` /
 * `disposeData`. {@link wasmMatMulSupported} checks they are present; callers fall back to
 * `tf.matMul` otherwise.
 */
import type { KernelBackend, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tensor, Tf } from './tf.js';

/** Name of the kernel registered on the `wasm` backend. */
export const WASM_MATMUL_KERNEL = 'StaircaseXnnBatchMatMul';

type MatMulExport = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, ta: number, tb: number, outId: number) => void;

/** The parts of tfjs-backend-wasm's `BackendWasm` this kernel uses. */
interface WasmInternals {
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): MatMulExport;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
}

/** The backend's `BatchMatMul` export, wrapped once per backend instance. */
const exports = new WeakMap<object, MatMulExport>();

function internals(backend: KernelBackend): WasmInternals | null {
  const b = backend as unknown as Partial<WasmInternals>;
  const ok =
    typeof b.dataIdNextNumber === 'number' &&
    typeof b.dataIdMap?.get === 'function' &&
    typeof b.makeOutput === 'function' &&
    typeof b.wasm?.cwrap === 'function' &&
    typeof b.wasm?.tfjs?.registerTensor === 'function' &&
    typeof b.wasm?.tfjs?.disposeData === 'function';
  return ok ? (b as WasmInternals) : null;
}

const size = (shape: readonly number[]) => shape.reduce((p, q) => p * q, 1);
const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/**
 * `a · b` over the last two axes, `a: [...batch, m, k]`, `b: [...batch, k, n]`; one side's batch
 * may be 1 (broadcast). Runs on the active backend's memory; `backend` must be the WASM one.
 */
function xnnBatchMatMul({ inputs, backend }: { inputs: NamedTensorMap; backend: unknown }): TensorInfo {
  const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
  const be = internals(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_MATMUL_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`${WASM_MATMUL_KERNEL}: float32 operands only`);
  const m = a.shape[a.shape.length - 2]!;
  const k = a.shape[a.shape.length - 1]!;
  const n = b.shape[b.shape.length - 1]!;
  if (b.shape[b.shape.length - 2] !== k) throw new Error(`${WASM_MATMUL_KERNEL}: inner sizes differ, [${a.shape}] · [${b.shape}]`);
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) throw new Error(`${WASM_MATMUL_KERNEL}: batch sizes differ, [${a.shape}] · [${b.shape}]`);
  const batch = Math.max(batchA, batchB);
  const lead = (batchA >= batchB ? a : b).shape.slice(0, -2);
  const out = be.makeOutput([...lead, m, n], 'float32');
  let call = exports.get(be);
  if (!call) {
    call = be.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    exports.set(be, call);
  }
  const aBase = be.dataIdMap.get(a.dataId)!.memoryOffset;
  const bBase = be.dataIdMap.get(b.dataId)!.memoryOffset;
  const outBase = be.dataIdMap.get(out.dataId)!.memoryOffset;
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, n]);
  const { tfjs } = be.wasm;
  for (let i = 0; i < batch; i++) {
    // Fresh ids each time: XNNPACK's packed-weights cache is keyed by b's id and dropped with it.
    const aId = be.dataIdNextNumber++;
    const bId = be.dataIdNextNumber++;
    const outId = be.dataIdNextNumber++;
    tfjs.registerTensor(aId, m * k, aBase + (batchA === 1 ? 0 : i * m * k * 4));
    tfjs.registerTensor(bId, k * n, bBase + (batchB === 1 ? 0 : i * k * n * 4));
    tfjs.registerTensor(outId, m * n, outBase + i * m * n * 4);
    try {
      call(aId, aShape, 3, bId, bShape, 3, 0, 0, outId);
    } finally {
      tfjs.disposeData(aId);
      tfjs.disposeData(bId);
      tfjs.disposeData(outId);
    }
  }
  return out;
}

/** Whether the active backend is WASM with the internals this kernel needs. */
export function wasmMatMulSupported(tf: Tf): boolean {
  return tf.getBackend() === 'wasm' && internals(tf.backend()) !== null;
}

/**
 * Registers the kernel and its gradient once per tfjs-core instance (the registry is global to a
 * tfjs-core copy, so it is keyed on `tf`).
 */
function ensureRegistered(tf: Tf): void {
  if (tf.getKernel(WASM_MATMUL_KERNEL, 'wasm')) return;
  tf.registerKernel({ kernelName: WASM_MATMUL_KERNEL, backendName: 'wasm', kernelFunc: xnnBatchMatMul as never });
  tf.registerGradient({
    kernelName: WASM_MATMUL_KERNEL,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [Tensor, Tensor];
      const g = dy as Tensor;
      return {
        // dA = dy · bᵀ, dB = aᵀ · dy, with explicit transposes so both stay on XNNPACK.
        a: () => reduceTo(tf, run(tf, g, swapLast(tf, b)), a.shape),
        b: () => reduceTo(tf, run(tf, swapLast(tf, a), g), b.shape),
      };
    },
  });
}

function run(tf: Tf, a: Tensor, b: Tensor): Tensor {
  return tf.engine().runKernel(WASM_MATMUL_KERNEL, { a, b } as unknown as NamedTensorMap) as Tensor;
}

function swapLast(tf: Tf, x: Tensor): Tensor {
  const r = x.rank;
  return tf.transpose(x, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
}

/** Sums a broadcast batch back to the operand's own shape. */
function reduceTo(tf: Tf, grad: Tensor, shape: readonly number[]): Tensor {
  if (grad.size === size(shape)) return tf.reshape(grad, [...shape]);
  const [m, k] = shape.slice(-2) as [number, number];
  return tf.reshape(tf.sum(tf.reshape(grad, [-1, m, k]), 0), [...shape]);
}

/**
 * `a · b` for rank-3+ operands of equal batch shape (or one with batch 1) on the WASM backend,
 * differentiable, every batch entry and every gradient product on XNNPACK.
 */
export function wasmMatMul(tf: Tf, a: Tensor, b: Tensor): Tensor {
  ensureRegistered(tf);
  return run(tf, a, b);
}
