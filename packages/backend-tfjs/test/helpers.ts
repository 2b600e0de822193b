import { type Model, createModel, registerModelKind } from '@staircase/core';
import type { Batch } from '../src/train.js';
import { toyBigramConfig, toyBigramKind } from '../src/testing.js';

// A kind registered by test code trains through the same entry points as the built-in ones.
registerModelKind(toyBigramKind);

/** The test model, built through core's registry from a plain config. */
export function toyModel(overrides: Record<string, unknown> = {}): Model {
  return createModel({ ...toyBigramConfig(), ...overrides });
}

/** A memorisable periodic stream: row r starts at offset r, `length` tokens per segment, segment `s`. */
export function periodicBatch(s: number, batch = 4, length = 8, vocab = 8, period = 5): Batch {
  const tokens = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length);
  const seq = (i: number) => [3, 1, 4, 1, 5, 7, 2, 6][i % period]! % vocab;
  for (let r = 0; r < batch; r++) {
    for (let t = 0; t < length; t++) {
      const pos = r + s * length + t;
      tokens[r * length + t] = seq(pos);
      targets[r * length + t] = seq(pos + 1);
    }
  }
  return { tokens, targets, batch, length };
}
