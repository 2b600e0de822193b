import type { Ops } from './ops.js';

/**
 * Mean cross-entropy (nats) of `logits` (`[batch, length, vocab]`) against int32 `targets`
 * (`[batch, length]`) over positions where `mask` (float `[batch, length]`, 1 = scored) is set.
 * `count` is the number of scored positions (known on the host; pass it to avoid a device read).
 */
export function crossEntropy<T>(ops: Ops<T>, logits: T, targets: T, mask: T, count: number): T {
  const [, , vocab] = ops.shape(logits) as [number, number, number];
  const logp = ops.logSoftmax(logits);
  const picked = ops.sum(ops.mul(logp, ops.oneHot(targets, vocab)), [2]);
  return ops.scale(ops.sum(ops.mul(picked, mask)), -1 / Math.max(count, 1));
}

/** A batch of rows to score position by position by a backend's `scoreBatches` (the shape of `@staircase/data`'s batches). */
export interface ScoredBatch {
  readonly tokens: Int32Array;
  /** Per position: the target id (next token, or a label); negative where not scored. */
  readonly targets: Int32Array;
  readonly batch: number;
  readonly length: number;
  /** Per row: the row starts a new stream (its carried state is cleared). */
  readonly reset: readonly boolean[];
}
