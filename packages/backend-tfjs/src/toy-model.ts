import { type CoreConfig, type Model, type ModelKind, type ModelState, type ParamSpec, coreConfigShape, param } from '@staircase/core';
import { z } from 'zod';

const toySchema = z.strictObject({ ...coreConfigShape, kind: z.literal('toy-bigram') });
/** Config of {@link toyBigramKind}. */
export type ToyBigramConfig = z.infer<typeof toySchema>;

/**
 * A tiny model for tests, not part of the family: each position sees its token's embedding plus a
 * linear map of the previous token's embedding (carried in the state across calls), then dropout,
 * LayerNorm, GELU and an output projection. Small enough to memorise a sequence in a few dozen
 * steps; uses gather, concat, slice, matMul, dropout, layerNorm, gelu and stopGradient.
 * Register it with `registerModelKind(toyBigramKind)`.
 */
export const toyBigramKind: ModelKind<ToyBigramConfig> = {
  name: 'toy-bigram',
  description: 'test-only: embedding + previous-token linear map + LayerNorm + GELU + output projection',
  schema: toySchema as unknown as z.ZodType<ToyBigramConfig>,
  create: (config) => createToyBigram(config),
};

function createToyBigram(config: ToyBigramConfig): Model<ToyBigramConfig> {
  const { vocabSize: V, dModel: d } = config;
  const specs: ParamSpec[] = [
    { name: 'embed', shape: [V, d], init: 'normal', std: 1, decay: false },
    { name: 'prev.w', shape: [d, d], init: 'normal', std: 1 / Math.sqrt(d), decay: true },
    { name: 'ln.g', shape: [d], init: 'ones', decay: false },
    { name: 'ln.b', shape: [d], init: 'zeros', decay: false },
    { name: 'out.w', shape: [d, V], init: 'normal', std: 1 / Math.sqrt(d), decay: true },
    { name: 'out.b', shape: [V], init: 'zeros', decay: false },
  ];
  return {
    kind: 'toy-bigram',
    config,
    paramSpecs: () => specs,
    cost: () => ({ parameters: specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0), layerApplicationsPerToken: 1 }),
    forward(ops, params, tokens, state, options = {}) {
      const [B, T] = ops.shape(tokens) as [number, number];
      const e = ops.gather(param(params, 'embed'), tokens);
      const last = state ? (state.data as { last: typeof e }).last : ops.zeros([B, 1, d]);
      const shifted = T > 1 ? ops.concat([last, ops.slice(e, [0, 0, 0], [B, T - 1, d])], 1) : last;
      let h = ops.add(e, ops.matMul(shifted, param(params, 'prev.w')));
      if (options.training && config.dropout > 0) h = ops.dropout(h, config.dropout);
      h = ops.gelu(ops.layerNorm(h, param(params, 'ln.g'), param(params, 'ln.b'), config.layerNormEps));
      const logits = ops.add(ops.matMul(h, param(params, 'out.w')), param(params, 'out.b'));
      const next: ModelState<typeof e> = {
        kind: 'toy-bigram',
        batch: B,
        position: (state?.position ?? 0) + T,
        data: { last: ops.stopGradient(ops.slice(e, [0, T - 1, 0], [B, 1, d])) },
      };
      return { logits, state: next };
    },
  };
}

/** A small valid config of {@link toyBigramKind}. */
export function toyBigramConfig(overrides: Partial<CoreConfig> = {}): Record<string, unknown> {
  return { kind: 'toy-bigram', vocabSize: 8, dModel: 16, heads: 1, layers: 1, dFF: 16, seed: 1, ...overrides };
}
