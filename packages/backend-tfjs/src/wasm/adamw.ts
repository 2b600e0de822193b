/**
 * The AdamW update of one parameter as one WebAssembly SIMD loop on the WASM backend's memory,
 * for the single-process trainer (the data-parallel one runs the same loop on its shared memory,
 * `parallel/replica-kernels.ts`).
 *
 * Why: written with TensorFlow.js ops, the update is ~16 kernels and ~10 scalar tensors per
 * parameter, ~500 kernels per step at the reference size (31 parameters), each a pass over the
 * parameter: ~30 ms of a ~450 ms Transformer-XL step on one thread. Here it is one pass.
 *
 * The kernel writes the new parameter and moments to new tensors (TensorFlow.js tensors are
 * immutable: a reshape of a variable shares its memory), which the optimizer assigns.
 */
import type { KernelBackend, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import { type AdamWConstants, ReplicaKernels } from '../parallel/replica-kernels.js';
import type { Tensor, Tf } from '../tf.js';
import { internals, perBackend } from './matmul.js';

/** Name of the kernel registered on the `wasm` backend. */
export const WASM_ADAMW_KERNEL = 'StaircaseAdamW';

const kernelsOf = perBackend((memory) => new ReplicaKernels(memory));

/** `[p′, m′, v′]` from inputs `g`, `p`, `m`, `v` (float32, equal sizes) and the update's constants. */
function adamw({ inputs, backend, attrs }: { inputs: NamedTensorMap; backend: unknown; attrs: NamedAttrMap }): TensorInfo[] {
  const { g, p, m, v } = inputs as unknown as Record<'g' | 'p' | 'm' | 'v', TensorInfo>;
  const be = internals(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_ADAMW_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  const n = p.shape.reduce((a, b) => a * b, 1);
  for (const t of [g, m, v]) {
    if (t.shape.reduce((a, b) => a * b, 1) !== n) throw new Error(`${WASM_ADAMW_KERNEL}: inputs of different sizes`);
  }
  if ([g, p, m, v].some((t) => t.dtype !== 'float32')) throw new Error(`${WASM_ADAMW_KERNEL}: float32 inputs only`);
  const outs = [p, m, v].map((t) => be.makeOutput([...t.shape], 'float32'));
  // Views are taken after makeOutput: allocating may grow (and so replace) the memory's buffer.
  const { buffer } = be.wasm.asm.memory;
  const view = (t: TensorInfo) => new Float32Array(buffer, be.dataIdMap.get(t.dataId)!.memoryOffset, n);
  const [po, mo, vo] = outs.map(view) as [Float32Array, Float32Array, Float32Array];
  kernelsOf(be).adamw(view(g), view(p), view(m), view(v), attrs as unknown as AdamWConstants, { p: po, m: mo, v: vo });
  return outs;
}

/** Whether the active backend is WASM with the internals this kernel needs. */
export function wasmAdamWSupported(tf: Tf): boolean {
  return tf.getBackend() === 'wasm' && internals(tf.backend()) !== null;
}

/**
 * One AdamW update on the WASM backend: the new parameter and moments `[p′, m′, v′]` as new
 * tensors, from gradient `g` and the current `p`, `m`, `v` (left unchanged). Not differentiable.
 */
export function wasmAdamW(tf: Tf, g: Tensor, p: Tensor, m: Tensor, v: Tensor, constants: AdamWConstants): [Tensor, Tensor, Tensor] {
  if (!tf.getKernel(WASM_ADAMW_KERNEL, 'wasm')) tf.registerKernel({ kernelName: WASM_ADAMW_KERNEL, backendName: 'wasm', kernelFunc: adamw as never });
  return tf.engine().runKernel(WASM_ADAMW_KERNEL, { g, p, m, v } as unknown as NamedTensorMap, { ...constants } as unknown as NamedAttrMap) as unknown as [Tensor, Tensor, Tensor];
}
