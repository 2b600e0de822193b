import { describe, expect, it } from 'vitest';
import { SeededRandom } from './rng.js';
import { pickToken, sampleTokens } from './sampling.js';

const logits = [0.1, 2.5, -1, 2.4, 0];

describe('pickToken', () => {
  it('is the argmax at temperature 0, with top-k 1 and with a tiny top-p', () => {
    const rng = new SeededRandom(1);
    expect(pickToken(logits, { temperature: 0, topK: 0, topP: 1 }, rng)).toBe(1);
    for (let i = 0; i < 20; i++) {
      expect(pickToken(logits, { temperature: 1, topK: 1, topP: 1 }, rng)).toBe(1);
      expect(pickToken(logits, { temperature: 1, topK: 0, topP: 1e-6 }, rng)).toBe(1);
    }
  });

  it('draws only from the top k and follows the softmax', () => {
    const rng = new SeededRandom(2);
    const counts = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const t = pickToken(logits, { temperature: 1, topK: 2, topP: 1 }, rng);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 3]);
    const expected = 1 / (1 + Math.exp(2.4 - 2.5));
    expect(Math.abs(counts.get(1)! / 4000 - expected)).toBeLessThan(0.03);
  });
});

describe('sampleTokens', () => {
  it('feeds the prompt once, then each sampled token, and repeats for a seed', async () => {
    const fed: number[][] = [];
    const next = async (input: readonly number[]) => {
      fed.push([...input]);
      return Array.from({ length: 5 }, (_, i) => (i === (input.at(-1)! + 1) % 5 ? 3 : 0));
    };
    const run = async (seed: number) => {
      const out: number[] = [];
      for await (const t of sampleTokens(next, [4, 2], 6, { temperature: 0.7, topK: 0, topP: 0.9, seed })) out.push(t);
      return out;
    };
    const a = await run(5);
    expect(fed[0]).toEqual([4, 2]);
    expect(fed.slice(1).every((x) => x.length === 1)).toBe(true);
    expect(await run(5)).toEqual(a);
  });
});
