import { type SamplingOptions, sampleTokens } from '@staircase/core';
import type { OnnxModel } from './onnx-model.js';

/**
 * Streams `count` token ids after `prompt` with the streaming step graph (temperature, top-k,
 * top-p, seeded): the prompt is consumed once, then one token per step with the carried state.
 */
export async function* generate(
  model: OnnxModel,
  prompt: readonly number[],
  count: number,
  options: SamplingOptions & { readonly seed: number },
): AsyncGenerator<number> {
  const stream = model.stream(1, 'step');
  const V = model.metadata.vocabSize;
  const next = async (input: readonly number[]) => (await stream.append(input, input.length)).subarray((input.length - 1) * V);
  yield* sampleTokens(next, prompt, count, options);
}
