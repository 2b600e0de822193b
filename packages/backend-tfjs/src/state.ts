import type { Tensor } from './tf.js';

/** Whether `x` looks like a TensorFlow.js tensor (duck-typed: works across tfjs-core copies). */
export function isTensor(x: unknown): x is Tensor {
  return (
    typeof x === 'object' &&
    x !== null &&
    'dataId' in x &&
    'shape' in x &&
    'dtype' in x &&
    typeof (x as { dispose?: unknown }).dispose === 'function'
  );
}

/** Every tensor in a plain tree of objects, arrays, tensors and numbers (a model state), once each. */
export function tensorsIn(tree: unknown, out: Set<Tensor> = new Set()): Set<Tensor> {
  if (isTensor(tree)) out.add(tree);
  else if (Array.isArray(tree)) for (const x of tree) tensorsIn(x, out);
  else if (tree !== null && typeof tree === 'object') for (const x of Object.values(tree)) tensorsIn(x, out);
  return out;
}

/** Disposes the tensors of `previous` that `next` does not still hold. */
export function disposeReplaced(previous: unknown, next: unknown): void {
  const keep = tensorsIn(next);
  for (const t of tensorsIn(previous)) if (!keep.has(t)) t.dispose();
}
