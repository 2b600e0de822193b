/**
 * Row kernels for the WASM backend, written in JavaScript over views of the backend's heap
 * (see `matmul.ts` for the internals they rely on):
 *
 * - `gather` of table rows as row copies. tfjs-backend-wasm 4.22's `GatherV2` takes ~17 ms for
 *   1 024 rows of a `[256, 256]` embedding table on this project's machine; copying the rows takes
 *   well under a millisecond.
 * - the gradient of `gather` as a scatter-add. tfjs-backend-wasm 4.22 has no `UnsortedSegmentSum`
 *   kernel, so TensorFlow.js's own gather gradient cannot run there, and the portable replacement
 *   (`oneHot(indices)ᵀ · dy`) costs a `[rows, N]` one-hot matrix, its transpose and a product per
 *   call; adding each of the `N` rows of `dy` into its table row is `N × width` additions.
 * - sums over rows (bias and gain gradients). tfjs-backend-wasm sums over leading axes by
 *   transposing first: 7.2 ms for `[1024, 1024]`, against ~1 ms for a streaming loop in
 *   JavaScript and less again for the SIMD loop of `column-sums.ts` used here.
 */
import type { KernelBackend, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tensor, Tf } from '../tf.js';
import { ColumnSums } from './column-sums.js';
import { internals, perBackend } from './matmul.js';

/** Names of the kernels registered on the `wasm` backend. */
export const WASM_SCATTER_KERNEL = 'StaircaseScatterAddRows';
export const WASM_SUM_ROWS_KERNEL = 'StaircaseSumRows';
export const WASM_GATHER_ROWS_KERNEL = 'StaircaseGatherRows';

/** The parts of tfjs-backend-wasm's `BackendWasm` this kernel uses. */
export interface WasmHeap {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  wasm: { HEAPU8: Uint8Array };
}

/** The WASM backend's heap access, or null where `backend` is not tfjs-backend-wasm 4.x. */
export function heap(backend: KernelBackend): WasmHeap | null {
  const b = backend as unknown as Partial<WasmHeap>;
  return typeof b.dataIdMap?.get === 'function' && typeof b.makeOutput === 'function' && b.wasm?.HEAPU8 instanceof Uint8Array ? (b as WasmHeap) : null;
}

const offsetOf = (be: Pick<WasmHeap, 'dataIdMap'>, t: TensorInfo) => be.dataIdMap.get(t.dataId)!.memoryOffset;

/** `out[i, :] = table[indices[i], :]` for a float32 or int32 `[rows, width]` table and int32 `[N]` indices. */
function gatherRows({ inputs, backend }: { inputs: NamedTensorMap; backend: unknown }): TensorInfo {
  const { table, indices } = inputs as unknown as { table: TensorInfo; indices: TensorInfo };
  const be = heap(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_GATHER_ROWS_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  if ((table.dtype !== 'float32' && table.dtype !== 'int32') || table.shape.length !== 2 || indices.dtype !== 'int32') {
    throw new Error(`${WASM_GATHER_ROWS_KERNEL}: a float32 or int32 [rows, width] table and int32 indices only`);
  }
  const [rows, width] = table.shape as [number, number];
  const n = indices.shape.reduce((p, q) => p * q, 1);
  // Checked before anything is allocated, with the message of TensorFlow.js's own GatherV2.
  const ids = new Int32Array(be.wasm.HEAPU8.buffer, offsetOf(be, indices), n);
  for (let i = 0; i < n; i++) {
    if (ids[i]! < 0 || ids[i]! >= rows) throw new Error(`GatherV2: the index value ${ids[i]} is not in [0, ${rows - 1}]`);
  }
  const out = be.makeOutput([n, width], table.dtype);
  // Views are taken after makeOutput: allocating may grow (and so replace) the heap's buffer.
  const buffer = be.wasm.HEAPU8.buffer;
  // Rows are copied as 32-bit words: float32 and int32 alike.
  const src = new Int32Array(buffer, offsetOf(be, table), rows * width);
  const dst = new Int32Array(buffer, offsetOf(be, out), n * width);
  const idx = new Int32Array(buffer, offsetOf(be, indices), n);
  for (let i = 0; i < n; i++) dst.set(src.subarray(idx[i]! * width, (idx[i]! + 1) * width), i * width);
  return out;
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
  const dst = new Float32Array(buffer, offsetOf(be, out), rows * width);
  const src = new Float32Array(buffer, offsetOf(be, values), n * width);
  const idx = new Int32Array(buffer, offsetOf(be, indices), n);
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

const columnSumsOf = perBackend((memory, allocator) => new ColumnSums(memory, allocator));

/** `[width]` column sums of a `[rows, width]` tensor, accumulated in float64. */
function sumRows({ inputs, backend }: { inputs: NamedTensorMap; backend: unknown }): TensorInfo {
  const { x } = inputs as unknown as { x: TensorInfo };
  const be = internals(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_SUM_ROWS_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  if (x.dtype !== 'float32' || x.shape.length !== 2) throw new Error(`${WASM_SUM_ROWS_KERNEL}: a float32 [rows, width] tensor only`);
  const [rows, width] = x.shape as [number, number];
  const out = be.makeOutput([width], 'float32');
  columnSumsOf(be).run(offsetOf(be, x), offsetOf(be, out), rows, width);
  return out;
}

/** Whether the active backend is WASM with the heap access (and allocator) these kernels need. */
export function wasmHeapSupported(tf: Tf): boolean {
  return tf.getBackend() === 'wasm' && heap(tf.backend()) !== null && internals(tf.backend()) !== null;
}

/**
 * `[rows, width]` sums of the rows of `values` (`[N, width]`) by int32 `indices` (`[N]`), on the
 * WASM backend. Not differentiable (it is itself a gradient).
 */
export function wasmScatterAddRows(tf: Tf, values: Tensor, indices: Tensor, rows: number): Tensor {
  register(tf);
  return tf.engine().runKernel(WASM_SCATTER_KERNEL, { values, indices } as unknown as NamedTensorMap, { rows }) as Tensor;
}

/** `[width]` sums over the rows of a float32 `[rows, width]` tensor, on the WASM backend. Not differentiable. */
export function wasmSumRows(tf: Tf, x: Tensor): Tensor {
  register(tf);
  return tf.engine().runKernel(WASM_SUM_ROWS_KERNEL, { x } as unknown as NamedTensorMap) as Tensor;
}

/**
 * `[N, width]` rows of a float32 or int32 `[rows, width]` table at int32 `[N]` indices, on the WASM
 * backend; an index outside `[0, rows)` throws. Not differentiable (the ops give `gather` its gradient).
 */
export function wasmGatherRows(tf: Tf, table: Tensor, indices: Tensor): Tensor {
  register(tf);
  return tf.engine().runKernel(WASM_GATHER_ROWS_KERNEL, { table, indices } as unknown as NamedTensorMap) as Tensor;
}

/** Registers the kernels once per tfjs-core instance. */
function register(tf: Tf): void {
  if (tf.getKernel(WASM_SCATTER_KERNEL, 'wasm')) return;
  tf.registerKernel({ kernelName: WASM_GATHER_ROWS_KERNEL, backendName: 'wasm', kernelFunc: gatherRows as never });
  tf.registerKernel({ kernelName: WASM_SCATTER_KERNEL, backendName: 'wasm', kernelFunc: scatterAddRows as never });
  tf.registerKernel({ kernelName: WASM_SUM_ROWS_KERNEL, backendName: 'wasm', kernelFunc: sumRows as never });
}
