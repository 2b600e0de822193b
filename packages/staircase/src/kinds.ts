import { type Model, coreConfigShape, coreParamSpecs, countParams, registerModelKind } from '@staircase/core';
import { z } from 'zod';
import { type StaircaseShape, staircaseForward } from './forward.js';
import { staircaseFixedStep } from './stream.js';

const int = (min: number) => z.number().int().min(min);

/** Fields every staircase variant has. */
const stepShape = {
  ...coreConfigShape,
  /** Forward step `F`: tokens that enter per row. */
  chunk: int(1).default(64),
  /** Passes `n` of every chunk through the core (staircase size `n·F`). */
  passes: int(1).default(2),
};

export const staircaseSchema = z.strictObject({ ...stepShape, kind: z.literal('staircase') });
export const cachedStaircaseSchema = z.strictObject({
  ...stepShape,
  kind: z.literal('cached-staircase'),
  /** Finished chunks `k` whose final outputs every row attends to. */
  cacheChunks: int(1).default(2),
});
export const globalStaircaseSchema = z.strictObject({ ...stepShape, kind: z.literal('global-staircase') });
export const staircaseLadderSchema = z.strictObject({
  ...stepShape,
  kind: z.literal('staircase-ladder'),
  /** Applications `R` of the core per pass (recurrence in depth). */
  repeats: int(1).default(2),
});

export type StaircaseConfig = z.infer<typeof staircaseSchema>;
export type CachedStaircaseConfig = z.infer<typeof cachedStaircaseSchema>;
export type GlobalStaircaseConfig = z.infer<typeof globalStaircaseSchema>;
export type StaircaseLadderConfig = z.infer<typeof staircaseLadderSchema>;
type AnyStaircaseConfig = StaircaseConfig | CachedStaircaseConfig | GlobalStaircaseConfig | StaircaseLadderConfig;

// `createModel` checks config literals of these kinds at compile time.
declare module '@staircase/core' {
  interface ModelConfigs {
    staircase: z.input<typeof staircaseSchema>;
    'cached-staircase': z.input<typeof cachedStaircaseSchema>;
    'global-staircase': z.input<typeof globalStaircaseSchema>;
    'staircase-ladder': z.input<typeof staircaseLadderSchema>;
  }
}

/** The staircase shape a config describes. */
export function staircaseShapeOf(config: AnyStaircaseConfig): StaircaseShape {
  return {
    chunk: config.chunk,
    passes: config.passes,
    cacheChunks:
      config.kind === 'cached-staircase' ? config.cacheChunks : config.kind === 'global-staircase' ? Number.POSITIVE_INFINITY : 0,
    repeats: config.kind === 'staircase-ladder' ? config.repeats : 1,
  };
}

/** Builds a model of any staircase variant from its validated config. */
export function staircaseModel<C extends AnyStaircaseConfig>(config: C): Model<C> {
  return modelOfShape(config, staircaseShapeOf(config));
}

function modelOfShape<C extends AnyStaircaseConfig>(config: C, shape: StaircaseShape): Model<C> {
  // A global cache is a cache of every finished chunk: for the first `positions` tokens a cache of
  // ⌈positions / F⌉ chunks holds all of them, so that bounded model computes the same outputs.
  const bounded =
    shape.cacheChunks === Number.POSITIVE_INFINITY
      ? (positions: number) => modelOfShape(config, { ...shape, cacheChunks: Math.max(1, Math.ceil(positions / shape.chunk)) })
      : undefined;
  return {
    ...(bounded ? { bounded } : { fixedStep: staircaseFixedStep(config, shape, config.kind) }),
    kind: config.kind,
    config,
    paramSpecs: () => coreParamSpecs(config),
    cost: () => ({
      parameters: countParams(coreParamSpecs(config)),
      layerApplicationsPerToken: shape.passes * shape.repeats * config.layers,
    }),
    forward: (ops, params, tokens, state, options) =>
      staircaseForward(ops, params, config, shape, config.kind, tokens, state, options),
  };
}

registerModelKind({
  name: 'staircase',
  description: 'Staircase: chunks of F tokens, each processed n times with shared weights',
  schema: staircaseSchema,
  create: staircaseModel,
});
registerModelKind({
  name: 'cached-staircase',
  description: 'Cached Staircase: Staircase plus the final outputs of the last k finished chunks',
  schema: cachedStaircaseSchema,
  create: staircaseModel,
});
registerModelKind({
  name: 'global-staircase',
  description: 'Global Cached Staircase: Staircase plus the final outputs of all finished chunks',
  schema: globalStaircaseSchema,
  create: staircaseModel,
});
registerModelKind({
  name: 'staircase-ladder',
  description: 'Staircase x Ladder: every staircase pass applies the core R times',
  schema: staircaseLadderSchema,
  create: staircaseModel,
});
