/**
 * The step graph's share of the browser test, run alike in the page and in Node: the logits of a
 * prompt fed one token per run, then a greedy continuation, each chosen token fed back.
 */
import type { OnnxModel } from '../../src/index.js';

/** Logits of `prompt` and of `count` greedy tokens after it (row-major), and those tokens. */
export async function stepAndGreedy(model: OnnxModel, prompt: readonly number[], count: number): Promise<{ logits: number[]; greedy: number[] }> {
  const V = model.metadata.vocabSize;
  const stream = model.stream(1, 'step');
  const logits: number[] = [];
  const greedy: number[] = [];
  let last = await stream.append(prompt, prompt.length);
  for (;;) {
    logits.push(...last);
    if (greedy.length === count) return { logits, greedy };
    const row = last.subarray(last.length - V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
    greedy.push(best);
    last = await stream.append([best], 1);
  }
}
