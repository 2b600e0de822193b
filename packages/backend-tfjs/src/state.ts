import type { HostTensor } from './checkpoint.js';
import type { Tensor, Tf } from './tf.js';

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

/** Whether `x` is a {@link HostTensor}: exactly `{ shape: number[], data: Float32Array }`. */
export function isHostTensor(x: unknown): x is HostTensor {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.length === 2 && Array.isArray((x as HostTensor).shape) && (x as HostTensor).data instanceof Float32Array;
}

/**
 * Copies a model state (or any plain tree holding tensors) to host memory: every tensor becomes a
 * float32 {@link HostTensor}; a tensor held twice becomes one shared HostTensor.
 */
export async function stateToHost<S>(tree: S): Promise<S> {
  const copies = new Map<Tensor, HostTensor>();
  for (const t of tensorsIn(tree)) copies.set(t, { shape: [...t.shape], data: Float32Array.from((await t.data()) as ArrayLike<number>) });
  const walk = (x: unknown): unknown => {
    if (isTensor(x)) return copies.get(x);
    if (Array.isArray(x)) return Array.from(x, walk);
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    return x;
  };
  return walk(tree) as S;
}

/**
 * Rebuilds a host tree from {@link stateToHost} with `tf` tensors (float32, the stored shapes;
 * a shared HostTensor becomes one shared tensor). On failure, disposes what it created.
 */
export function stateFromHost<S>(tf: Tf, tree: S): S {
  const made = new Map<HostTensor, Tensor>();
  const walk = (x: unknown): unknown => {
    if (isHostTensor(x)) {
      let t = made.get(x);
      if (!t) {
        t = tf.tensor(x.data.slice(), [...x.shape], 'float32'); // a copy: the checkpoint stays independent
        made.set(x, t);
      }
      return t;
    }
    if (Array.isArray(x)) return Array.from(x, walk);
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    return x;
  };
  try {
    return walk(tree) as S;
  } catch (e) {
    for (const t of made.values()) t.dispose();
    throw e;
  }
}
