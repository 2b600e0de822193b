import { type ModelState, type SamplingOptions, sampleTokens } from '@staircase/core';
import { type Tensor, disposeReplaced } from '@staircase/backend-tfjs';
import type { ModelSession } from './session.js';

/**
 * The model's streaming step on TensorFlow.js: `next(input)` feeds tokens with the carried state
 * and returns the logits of the last one; `dispose` frees the state.
 */
export function tfjsStep(session: ModelSession): { next: (input: readonly number[]) => Promise<Float32Array>; dispose: () => void } {
  const { trainer, model } = session;
  const { tf, ops } = trainer;
  // A long input (a prompt) goes through in segments of the training length: the models give the
  // same outputs however a sequence is cut, and memory stays flat in the input's length.
  const segment = Math.max(1, session.config.train.length);
  let state: ModelState<Tensor> | null = null;
  const next = async (input: readonly number[]) => {
    let last: Tensor | null = null;
    for (let at = 0; at < input.length; at += segment) {
      const piece = input.slice(at, at + segment);
      const previous: ModelState<Tensor> | null = state;
      const out = tf.tidy(() => {
        const { logits, state: s } = model.forward(ops, trainer.params, ops.constantInt(piece, [1, piece.length]), previous);
        return { last: tf.slice(logits, [0, piece.length - 1, 0], [1, 1, -1]), s: s as unknown as Tensor };
      });
      state = out.s as unknown as ModelState<Tensor>;
      disposeReplaced(previous, state);
      last?.dispose();
      last = out.last;
    }
    if (!last) throw new Error('tfjsStep: empty input');
    const values = (await last.data()) as Float32Array;
    last.dispose();
    return values;
  };
  return { next, dispose: () => disposeReplaced(state, null) };
}

/**
 * Streams `count` new token ids after `prompt` using the model's streaming step: the prompt is
 * consumed once, then each new token is fed alone with the carried state — the prefix is never
 * re-processed.
 */
export async function* generate(
  session: ModelSession,
  prompt: readonly number[],
  count: number,
  options: SamplingOptions & { seed: number },
): AsyncGenerator<number> {
  const step = tfjsStep(session);
  try {
    yield* sampleTokens(step.next, prompt, count, options);
  } finally {
    step.dispose();
  }
}

/** Greedy continuation computed the slow way — the whole prefix re-run for every token (for tests). */
export async function greedyByRerunning(session: ModelSession, prompt: readonly number[], count: number): Promise<number[]> {
  const { trainer, model } = session;
  const { tf, ops } = trainer;
  const seq = prompt.length > 0 ? [...prompt] : [0];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const last = tf.tidy(() => {
      const { logits } = model.forward(ops, trainer.params, ops.constantInt(seq, [1, seq.length]), null);
      return tf.argMax(tf.slice(logits, [0, seq.length - 1, 0], [1, 1, -1]), -1);
    });
    const id = (await last.data())[0]!;
    last.dispose();
    out.push(id);
    seq.push(id);
  }
  return out;
}
