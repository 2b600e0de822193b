import type { ScoredBatch } from '@staircase/core';
import type { OnnxModel } from './onnx-model.js';

// The batch shape lives in @staircase/core so both backends' scoreBatches take the same batches.
export type { ScoredBatch };

/** Scores of a token sequence. */
export interface SequenceScore {
  /** Mean cross-entropy in nats per predicted token. */
  readonly loss: number;
  /** The same in bits (bits per character / byte for character / byte tokenizers). */
  readonly bitsPerToken: number;
  /** Tokens predicted: every token after the first of each row. */
  readonly count: number;
}

/** Log-probability of `target` under one row of logits (a stable log-softmax). */
export function logProbability(logits: ArrayLike<number>, offset: number, size: number, target: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < size; i++) sum += Math.exp(logits[offset + i]! - max);
  return logits[offset + target]! - max - Math.log(sum);
}

/**
 * Scores `tokens` with the segment graph: the sequence is cut into `batch` contiguous rows (the
 * tail that does not fill a row is dropped), each streamed with its carried state, and every
 * token is predicted from the ones before it in its row.
 */
export async function score(model: OnnxModel, tokens: ArrayLike<number>, options: { batch?: number } = {}): Promise<SequenceScore> {
  const batch = options.batch ?? 1;
  const rowLength = Math.floor(tokens.length / batch);
  if (rowLength < 2) throw new Error(`${tokens.length} tokens cannot fill ${batch} rows of at least 2 tokens`);
  const V = model.segmentMetadata.vocabSize;
  const T = model.segmentMetadata.tokens;
  const stream = model.stream(batch, 'segment');
  let nll = 0;
  let count = 0;
  // Inputs are positions [0, rowLength − 1) of each row, targets the positions after them.
  for (let start = 0; start < rowLength - 1; start += T) {
    const length = Math.min(T, rowLength - 1 - start);
    const input = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) for (let i = 0; i < length; i++) input[b * length + i] = Number(tokens[b * rowLength + start + i]);
    const logits = await stream.append(input, length);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < length; i++) {
        nll -= logProbability(logits, (b * length + i) * V, V, Number(tokens[b * rowLength + start + i + 1]));
        count++;
      }
    }
  }
  const loss = nll / count;
  return { loss, bitsPerToken: loss / Math.LN2, count };
}


/**
 * Streams `batches` through the segment graph with the carried state (cleared where a batch
 * resets a row) and hands each batch's per-position log p(target) and argmax to `onBatch`, which
 * returns `false` to stop early. The CLI's `eval --onnx` and the browser page both score a split
 * through it, so they agree on every position.
 */
export async function scoreBatches<B extends ScoredBatch>(
  model: OnnxModel,
  batches: Iterable<B>,
  onBatch: (batch: B, picked: Float32Array, argmax: Int32Array) => unknown,
): Promise<void> {
  const V = model.segmentMetadata.vocabSize;
  let stream: ReturnType<OnnxModel['stream']> | null = null;
  for (const b of batches) {
    if (!stream || b.reset.some(Boolean)) stream = model.stream(b.batch, 'segment');
    const logits = await stream.append(b.tokens, b.length);
    const picked = new Float32Array(b.batch * b.length);
    const argmax = new Int32Array(b.batch * b.length);
    for (let i = 0; i < picked.length; i++) {
      // Unscored positions may carry an ignore label (< 0).
      picked[i] = b.targets[i]! < 0 ? 0 : logProbability(logits, i * V, V, b.targets[i]!);
      let best = 0;
      for (let j = 1; j < V; j++) if (logits[i * V + j]! > logits[i * V + best]!) best = j;
      argmax[i] = best;
    }
    if (onBatch(b, picked, argmax) === false) break;
  }
}
