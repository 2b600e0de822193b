import type { OnnxModel } from './onnx-model.js';

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
