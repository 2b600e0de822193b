/**
 * The gradient of `gather` on the WASM backend as a scatter-add over the backend's memory.
 *
 * Why: tfjs-backend-wasm 4.22 has no `UnsortedSegmentSum` kernel, so TensorFlow.js's own gather
 * gradient cannot run there, and the portable replacement (`oneHot(indices)ᵀ · dy`) costs a
 * `[rows, N]` one-hot matrix, its transpose and a product per call. Adding each of the `N` rows of
 * `dy` into its table row is `N × width` additions. The kernel is written in JavaScript over views
 * of the WASM heap (see `wasm-matmul.ts` for the internals it relies on).
 */
import type { KernelBackend, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tensor, Tf } from './tf.js';

/** Name of the kernel registered on the `wasm` backend. */
export const WASM_SCATTER_KERNEL = 'StaircaseScatterAddRows';

/** The parts of tfjs-backend-wasm's `BackendWasm` this kernel uses. */
interface WasmHeap {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  wasm: { HEAPU8: Uint8Array };
}

function heap(backend: KernelBackend): WasmHeap | null {
  const b = backend as unknown as Partial<WasmHeap>;
  return typeof b.dataIdMap?.get === 'function' && typeof b.makeOutput === 'function' && b.wasm?.HEAPU8 instanceof Uint8Array ? (b as WasmHeap) : null;
}

/** `out[indices[i], :] += values[i, :]` into a zeroed `[rows, width]` output. */
function scatterAddRows({ inputs, backend, attrs }: { inputs: NamedTensorMap; backend: unknown; attrs: NamedAttrMap }): TensorInfo {
  const { values, indices } = inputs as unknown as { values: TensorInfo; indices: TensorInfo };
  const rows = attrs['rows'] as number;
  const be = heap(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_SCATTER_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  if (values.dtype !== 'float32' || indices.dtype !== 'int32') throw new Error(`${WASM_SCATTER_KERNEL}: float32 values and int32 indices only`);
  const n = indices.shape.reduce((p, q) => p * q, 1);
  const width = n === 0 ? 0 : values.shape.reduce((p, q) => p * q, 1) / n;
  const out = be.makeOutput([rows, width], 'float32');
  // Views are taken after makeOutput: allocating may grow (and so replace) the heap's buffer.
  const buffer = be.wasm.HEAPU8.buffer;
  const dst = new Float32Array(buffer, be.dataIdMap.get(out.dataId)!.memoryOffset, rows * width);
  const src = new Float32Array(buffer, be.dataIdMap.get(values.dataId)!.memoryOffset, n * width);
  const idx = new Int32Array(buffer, be.dataIdMap.get(indices.dataId)!.memoryOffset, n);
  dst.fill(0);
  for (let i = 0; i < n; i++) {
    const row = idx[i]!;
    if (row < 0 || row >= rows) continue; // as UnsortedSegmentSum: out-of-range ids contribute nothing
    const to = row * width;
    const from = i * width;
    for (let j = 0; j < width; j++) dst[to + j]! += src[from + j]!;
  }
  return out;
}

/** Whether the active backend is WASM with the heap access this kernel needs. */
export function wasmScatterSupported(tf: Tf): boolean {
  return tf.getBackend() === 'wasm' && heap(tf.backend()) !== null;
}

/**
 * `[rows, width]` sums of the rows of `values` (`[N, width]`) by int32 `indices` (`[N]`), on the
 * WASM backend. Not differentiable (it is itself a gradient).
 */
export function wasmScatterAddRows(tf: Tf, values: Tensor, indices: Tensor, rows: number): Tensor {
  if (!tf.getKernel(WASM_SCATTER_KERNEL, 'wasm')) {
    tf.registerKernel({ kernelName: WASM_SCATTER_KERNEL, backendName: 'wasm', kernelFunc: scatterAddRows as never });
  }
  return tf.engine().runKernel(WASM_SCATTER_KERNEL, { values, indices } as unknown as NamedTensorMap, { rows }) as Tensor;
}
