/**
 * A copy-free `Identity` kernel for tfjs-backend-wasm.
 *
 * TensorFlow.js saves the tensors a gradient needs by `Identity` (the engine's `clone`): every
 * input a kernel keeps for its backward pass (both operands of each matrix product, the inputs of
 * each multiply, the outputs of softmax and exp, …) and every tensor a `customGrad` saves. The CPU
 * and WebGL backends implement `Identity` as a second reference to the same buffer; tfjs-backend-wasm
 * 4.22 copies the whole buffer instead, ~140 copies per Transformer-XL training step at the reference
 * size, each also holding a second copy of an activation until the backward pass.
 *
 * A reference is enough because no kernel writes into its inputs and `Variable.assign` swaps the
 * buffer rather than overwriting it; reads (`dataSync`, `data`) copy out of the heap. The backend's
 * own kernels that call its `identity` function internally are not affected: only `Identity` as the
 * engine runs it is replaced.
 */
import type { KernelBackend, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tf } from '../tf.js';

/** `x` itself, with the buffer's reference count raised (as the CPU backend's `Identity`). */
function identity({ inputs, backend }: { inputs: NamedTensorMap; backend: unknown }): TensorInfo {
  const { x } = inputs as unknown as { x: TensorInfo };
  (backend as KernelBackend & { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const installed = new WeakSet<object>();

/**
 * Replaces the WASM backend's `Identity` with {@link identity}, once per tfjs-core instance (the
 * kernel registry is global to a tfjs-core copy). Call only where the active backend is
 * tfjs-backend-wasm with reference counting (4.x).
 */
export function useAliasingIdentity(tf: Tf): void {
  if (installed.has(tf)) return;
  installed.add(tf);
  if (typeof (tf.backend() as Partial<{ incRef: unknown }>).incRef !== 'function') return;
  if (tf.getKernel('Identity', 'wasm')?.kernelFunc === identity) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as never });
}
