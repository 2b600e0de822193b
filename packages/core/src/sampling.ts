import { SeededRandom } from './rng.js';

/** How the next token is drawn from logits. */
export interface SamplingOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Keep only the `topK` most likely tokens (0 = all). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches `topP` (1 = all). */
  topP: number;
}

/** Draws a token id from one row of logits with temperature, top-k and top-p (nucleus) filtering. */
export function pickToken(logits: ArrayLike<number>, options: SamplingOptions, rng: SeededRandom): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  if (options.temperature === 0) return best;
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  const kept = options.topK > 0 ? order.slice(0, options.topK) : order;
  const max = logits[best]!;
  const weights = kept.map((i) => Math.exp((logits[i]! - max) / options.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let cut = kept.length;
  if (options.topP < 1) {
    let mass = 0;
    for (let j = 0; j < kept.length; j++) {
      mass += weights[j]! / total;
      if (mass >= options.topP) {
        cut = j + 1;
        break;
      }
    }
  }
  const nucleus = weights.slice(0, cut);
  const sum = nucleus.reduce((a, b) => a + b, 0);
  let u = rng.next() * sum;
  for (let j = 0; j < nucleus.length; j++) {
    u -= nucleus[j]!;
    if (u <= 0) return kept[j]!;
  }
  return kept[cut - 1]!;
}

/**
 * Streams `count` token ids after `prompt` from any streaming model: `next(input)` consumes the
 * new tokens (the whole prompt first, then one sampled token at a time) with the model's carried
 * state and returns the logits of the last of them. An empty prompt starts from token 0.
 */
export async function* sampleTokens(
  next: (input: readonly number[]) => Promise<ArrayLike<number>>,
  prompt: readonly number[],
  count: number,
  options: SamplingOptions & { readonly seed: number },
): AsyncGenerator<number> {
  const rng = new SeededRandom(options.seed);
  let input: readonly number[] = prompt.length > 0 ? prompt : [0];
  for (let i = 0; i < count; i++) {
    const token = pickToken(await next(input), options, rng);
    yield token;
    input = [token];
  }
}
