import type { Model, ModelState, ScoredBatch } from '@staircase/core';
import { disposeReplaced } from './state.js';
import type { Tensor } from './tf.js';
import type { Trainer } from './train.js';

/** What scoring needs of a trainer: its TensorFlow.js, ops and weights. */
export type Scorer = Pick<Trainer, 'tf' | 'ops' | 'params'>;

/**
 * Runs `batches` through `model.forward` on the scorer's weights with the carried state (cleared
 * where a batch resets a row), as the model is trained, and hands each batch's per-position
 * log p(target) and argmax to `onBatch`, which returns `false` to stop early. The CLI's `eval`
 * and the browser playground both score a split through it; backend-onnx's `scoreBatches` is the
 * same on ONNX Runtime. State tensors are freed as they are replaced and at the end.
 */
export async function scoreBatches<B extends ScoredBatch>(
  scorer: Scorer,
  model: Model,
  batches: Iterable<B>,
  onBatch: (batch: B, picked: Float32Array, argmax: Int32Array) => unknown,
): Promise<void> {
  const { tf, ops } = scorer;
  let state: ModelState<Tensor> | null = null;
  try {
    for (const b of batches) {
      if (b.reset.some(Boolean)) {
        disposeReplaced(state, null);
        state = null;
      }
      const previous = state;
      const out = tf.tidy(() => {
        const { logits, state: next } = model.forward(ops, scorer.params, ops.constantInt(b.tokens, [b.batch, b.length]), previous);
        const logp = tf.logSoftmax(logits);
        // oneHot of a negative target is all zeros: unscored positions pick 0.
        const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor(b.targets, [b.batch, b.length], 'int32'), logits.shape[2]!)), -1);
        return { picked, argmax: tf.argMax(logits, -1), state: next as unknown as Tensor };
      });
      // Asynchronous reads: WebGPU in Node has no synchronous read-back (it needs OffscreenCanvas).
      const picked = (await out.picked.data()) as Float32Array;
      const argmax = (await out.argmax.data()) as Int32Array;
      tf.dispose([out.picked, out.argmax]);
      state = out.state as unknown as ModelState<Tensor>;
      disposeReplaced(previous, state);
      if (onBatch(b, picked, argmax) === false) break;
    }
  } finally {
    disposeReplaced(state, null);
  }
}
