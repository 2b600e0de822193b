import { totalmem } from 'node:os';
import type { Model } from '@staircase/core';
import { UsageError } from './errors.js';
import type { RunConfig } from './run-config.js';

/** WASM (wasm32) memories stop at 4 GiB whatever the machine has. */
const WASM_LIMIT = 4 * 1024 ** 3;

/**
 * A rough lower bound on the bytes training needs: weights, gradients and AdamW's two moments
 * (16 bytes a parameter), plus activations kept for the backward pass (about 10·dModel + 2·dFF
 * floats per token and layer application). Used only to refuse what cannot fit, before allocating.
 */
export function trainingBytes(model: Model, train: Pick<RunConfig['train'], 'batch' | 'length' | 'workers'>): number {
  const c = model.config as { dModel: number; dFF: number };
  const cost = model.cost();
  const activations = train.batch * train.length * cost.layerApplicationsPerToken * (10 * c.dModel + 2 * c.dFF) * 4;
  return cost.parameters * 16 + activations;
}

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

/**
 * Refuses, with one line, a model that cannot fit the backend's memory (a huge `model.dModel`
 * would otherwise allocate for a minute and die with a WASM "memory access out of bounds").
 */
export function checkTrainingMemory(model: Model, config: RunConfig, backend: string): void {
  const need = trainingBytes(model, config.train);
  const limit = backend === 'wasm' ? WASM_LIMIT : totalmem();
  const where = backend === 'wasm' ? "WASM's 4 GiB memory" : `this machine's ${gib(totalmem())} of memory`;
  if (need > limit) {
    throw new UsageError(
      `this model needs about ${gib(need)} to train (${model.cost().parameters.toLocaleString('en')} parameters, batch ${config.train.batch} × ${config.train.length}), more than ${where}; use a smaller model.dModel / dFF / layers or train.batch`,
    );
  }
}
