import { z } from 'zod';
import { coreConfigShape } from './config.js';
import type { Model } from './model.js';
import { coreParamSpecs, countParams } from './params.js';
import { registerModelKind } from './registry.js';
import { windowedForward } from './windowed.js';

/** Config of the Transformer-XL baseline. */
export const transformerXLSchema = z.strictObject({
  ...coreConfigShape,
  kind: z.literal('transformer-xl'),
  /** Positions of per-layer memory each token may attend to, before itself. */
  memory: z.number().int().min(0).default(64),
});
export type TransformerXLConfig = z.infer<typeof transformerXLSchema>;

/** The paper's baseline: one pass of `layers` layers with a per-layer memory of earlier positions. */
export function transformerXL(config: TransformerXLConfig): Model<TransformerXLConfig> {
  return {
    kind: 'transformer-xl',
    config,
    paramSpecs: () => coreParamSpecs(config),
    cost: () => ({ parameters: countParams(coreParamSpecs(config)), layerApplicationsPerToken: config.layers }),
    forward: (ops, params, tokens, state, options) =>
      windowedForward(ops, params, config, { memory: config.memory, repeats: 1 }, 'transformer-xl', tokens, state, options),
  };
}

registerModelKind({
  name: 'transformer-xl',
  description: 'Transformer-XL baseline: one pass, per-layer memory of earlier positions',
  schema: transformerXLSchema,
  create: transformerXL,
});
