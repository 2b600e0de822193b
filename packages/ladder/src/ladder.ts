import { type Model, coreConfigShape, coreParamSpecs, countParams, registerModelKind, windowedForward } from '@staircase/core';
import { z } from 'zod';

/** Config of the Ladder. */
export const ladderSchema = z.strictObject({
  ...coreConfigShape,
  kind: z.literal('ladder'),
  /** Applications `R` of the whole core stack with shared weights (`R = 1` is a plain Transformer). */
  repeats: z.number().int().min(1).default(2),
  /** Positions of memory each layer application may attend to, before the token itself. */
  memory: z.number().int().min(0).default(64),
});
export type LadderConfig = z.infer<typeof ladderSchema>;

// `createModel` checks config literals of this kind at compile time.
declare module '@staircase/core' {
  interface ModelConfigs {
    ladder: z.input<typeof ladderSchema>;
  }
}

/**
 * The Ladder: no chunking; the whole `layers`-deep stack runs `repeats` times in a row with the
 * same weights (`for r in 1..R: for l in 1..L: h = layer_l(h)`), each application with its own
 * memory of earlier positions. Compute ×R at equal parameters — recurrence in depth.
 */
export function ladder(config: LadderConfig): Model<LadderConfig> {
  return {
    kind: 'ladder',
    config,
    paramSpecs: () => coreParamSpecs(config),
    cost: () => ({
      parameters: countParams(coreParamSpecs(config)),
      layerApplicationsPerToken: config.repeats * config.layers,
    }),
    forward: (ops, params, tokens, state, options) =>
      windowedForward(ops, params, config, { memory: config.memory, repeats: config.repeats }, 'ladder', tokens, state, options),
  };
}

registerModelKind({
  name: 'ladder',
  description: 'Ladder: the whole core stack applied R times with shared weights',
  schema: ladderSchema,
  create: ladder,
});
