import '@staircase/ladder';
import '@staircase/staircase';
import { type Model, createModel, initParams } from '@staircase/core';
import type { Tensor, Tf } from '../../src/tf.js';

/** A tiny model of every built-in kind, for cross-package tests. */
export const tinyBase = {
  vocabSize: 11,
  dModel: 16,
  heads: 2,
  layers: 2,
  dFF: 32,
  position: { type: 'relative', maxDistance: 6 },
  seed: 3,
} as const;

export const tinyKinds: Record<string, Record<string, unknown>> = {
  'transformer-xl': { kind: 'transformer-xl', memory: 5 },
  staircase: { kind: 'staircase', chunk: 3, passes: 3 },
  'cached-staircase': { kind: 'cached-staircase', chunk: 2, passes: 2, cacheChunks: 2 },
  'global-staircase': { kind: 'global-staircase', chunk: 2, passes: 3 },
  ladder: { kind: 'ladder', repeats: 3, memory: 4 },
  'staircase-ladder': { kind: 'staircase-ladder', chunk: 3, passes: 2, repeats: 2 },
};

export function tinyModel(kind: string, extra: Record<string, unknown> = {}): Model {
  return createModel({ ...tinyBase, ...tinyKinds[kind], ...extra });
}

/** Parameters as plain tensors (not variables) from the seeded host init. */
export function tensorParams(tf: Tf, model: Model, seed = 7): Record<string, Tensor> {
  const host = initParams(model.paramSpecs(), seed);
  return Object.fromEntries(model.paramSpecs().map((s) => [s.name, tf.tensor(host[s.name]!, [...s.shape])]));
}
