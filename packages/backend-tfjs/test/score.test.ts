import { createModel, initParams } from '@staircase/core';
import '@staircase/staircase';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreBatches } from '../src/score.js';
import { selectBackend } from '../src/select.js';
import type { Tf } from '../src/tf.js';
import { createTrainer } from '../src/train.js';

let tf: Tf;
beforeAll(async () => {
  ({ tf } = await selectBackend({ backend: 'cpu' }));
});

const V = 11;
const model = createModel({ kind: 'staircase', vocabSize: V, dModel: 16, heads: 2, layers: 2, dFF: 32, chunk: 4, passes: 2, position: { type: 'relative', maxDistance: 32 }, seed: 3 });
const stream = Int32Array.from({ length: 2 * 49 }, (_, i) => (i * 7 + (i >> 3)) % V);
// Two rows of 48 positions scored in three segments of 16; targets are the next tokens, every 5th unscored.
function batch(s: number, reset: boolean) {
  const tokens = new Int32Array(2 * 16);
  const targets = new Int32Array(2 * 16);
  for (let r = 0; r < 2; r++) for (let t = 0; t < 16; t++) {
    const i = r * 49 + s * 16 + t;
    tokens[r * 16 + t] = stream[i]!;
    targets[r * 16 + t] = (s * 16 + t) % 5 === 4 ? -1 : stream[i + 1]!;
  }
  return { tokens, targets, batch: 2, length: 16, reset: [reset, reset] };
}

describe('scoreBatches (TensorFlow.js)', () => {
  it('scores segments with the carried state exactly as one forward call over the whole rows, and frees its tensors', async () => {
    const trainer = createTrainer(model, { tf, optimizer: { lr: 1e-3, warmupSteps: 0, totalSteps: 1 } });
    const before = tf.memory().numTensors;
    const picked: number[][] = [[], []];
    const argmax: number[][] = [[], []];
    await scoreBatches(trainer, model, [batch(0, true), batch(1, false), batch(2, false)], (b, p, a) => {
      for (let r = 0; r < 2; r++) for (let t = 0; t < b.length; t++) {
        picked[r]!.push(p[r * b.length + t]!);
        argmax[r]!.push(a[r * b.length + t]!);
      }
    });
    expect(tf.memory().numTensors).toBe(before);
    // The reference: one call over the 48 positions of each row.
    const tokens = new Int32Array(2 * 48);
    for (let r = 0; r < 2; r++) tokens.set(stream.subarray(r * 49, r * 49 + 48), r * 48);
    const logp = tf.tidy(() => tf.logSoftmax(trainer.model.forward(trainer.ops, trainer.params, trainer.ops.constantInt(tokens, [2, 48]), null).logits));
    const ref = (await logp.array()) as number[][][];
    logp.dispose();
    for (let r = 0; r < 2; r++) for (let t = 0; t < 48; t++) {
      const expected = t % 5 === 4 ? 0 : ref[r]![t]![stream[r * 49 + t + 1]!]!;
      expect(picked[r]![t]).toBeCloseTo(expected, 4);
      expect(argmax[r]![t]).toBe(ref[r]![t]!.indexOf(Math.max(...ref[r]![t]!)));
    }
    trainer.dispose();
  });

  it('clears the state where a batch resets its rows, and stops when onBatch returns false', async () => {
    const trainer = createTrainer(model, { tf, optimizer: { lr: 1e-3, warmupSteps: 0, totalSteps: 1 } });
    const alone: Float32Array[] = [];
    await scoreBatches(trainer, model, [batch(1, true)], (_, p) => void alone.push(p));
    const after: Float32Array[] = [];
    let seen = 0;
    await scoreBatches(trainer, model, [batch(0, true), batch(1, true), batch(2, false)], (_, p) => {
      after.push(p);
      return ++seen < 2;
    });
    expect(after).toHaveLength(2);
    expect(Array.from(after[1]!)).toEqual(Array.from(alone[0]!));
    trainer.dispose();
  });
});
