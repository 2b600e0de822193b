import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from './config.js';
import { coreParamSpecs, countParams, initParams } from './params.js';
import { createModel, getModelKind, listModelKinds, registerModelKind } from './registry.js';
import { transformerXL, transformerXLSchema } from './transformer-xl.js';

const valid = { kind: 'transformer-xl', vocabSize: 32, dModel: 16, heads: 2, layers: 2, dFF: 32 };

describe('configs', () => {
  it('applies defaults', () => {
    const m = createModel(valid);
    expect(m.config).toMatchObject({ memory: 64, dropout: 0, position: { type: 'relative', maxDistance: 512 } });
  });

  it.each([
    [{ ...valid, layers: 0 }, 'config.layers: got 0, expected a value ≥ 1'],
    [{ ...valid, dModel: 2.5 }, 'config.dModel: got 2.5, expected an integer'],
    [{ ...valid, heads: 3 }, 'config.heads: got 3, but dModel (16) must be divisible by heads'],
    [{ ...valid, activation: 'tanh' }, 'config.activation: got "tanh", expected one of "relu", "gelu"'],
    [{ ...valid, dropuot: 0.1 }, 'config: unknown key "dropuot"'],
    [{ ...valid, position: { type: 'rope', base: -1 } }, 'config.position.base: got -1, expected a value > 0'],
    [{ ...valid, dModel: 6, heads: 2, position: { type: 'rope' } }, 'config.position: RoPE needs an even head width'],
    [{ ...valid, kind: 'nope' }, 'config.kind: unknown model kind "nope"; registered kinds:'],
    [{ ...valid, kind: undefined }, 'config.kind: missing'],
  ])('refuses a bad config with one line naming field, value and what is allowed (%#)', (config, message) => {
    let error: unknown;
    try {
      createModel(config as object); // deliberately bad configs: checked at run time only
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('registry', () => {
  it('lets another package add a kind', () => {
    registerModelKind({
      name: 'test-kind',
      description: 'a kind from elsewhere',
      schema: transformerXLSchema.extend({ kind: z.literal('test-kind') }),
      create: (config) => ({ ...transformerXL({ ...config, kind: 'transformer-xl' }), kind: 'test-kind', config }),
    });
    expect(listModelKinds()).toContain('test-kind');
    expect(getModelKind('test-kind').description).toBe('a kind from elsewhere');
  });
});

describe('parameters', () => {
  const config = createModel(valid).config;
  it('are named per layer and counted', () => {
    const specs = coreParamSpecs(config);
    expect(specs.map((s) => s.name)).toContain('layers.1.attn.wq');
    expect(specs.find((s) => s.name === 'pos.rel')!.shape).toEqual([8, 512]);
    expect(countParams(specs)).toBe(specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
    expect(specs.filter((s) => s.decay).every((s) => s.shape.length === 2 && s.name !== 'embed')).toBe(true);
  });

  it('initialise deterministically per seed, with scaled residual projections', () => {
    const specs = coreParamSpecs(config);
    const a = initParams(specs, 1);
    expect(initParams(specs, 1)['layers.0.attn.wq']).toEqual(a['layers.0.attn.wq']);
    expect(initParams(specs, 2)['layers.0.attn.wq']).not.toEqual(a['layers.0.attn.wq']);
    const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    expect(std(a['layers.0.attn.wo']!) / std(a['layers.0.attn.wq']!)).toBeCloseTo(1 / Math.sqrt(4), 1);
    expect(a['layers.0.ln1.g']!.every((v) => v === 1)).toBe(true);
  });

  it('draw the relative-position table from N(0, 0.02²) unless position.initStd says otherwise', () => {
    const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    expect(std(initParams(coreParamSpecs(config), 1)['pos.rel']!)).toBeCloseTo(0.02, 3);
    const wide = createModel({ ...valid, position: { type: 'relative', maxDistance: 512, initStd: 1 } }).config;
    expect(std(initParams(coreParamSpecs(wide), 1)['pos.rel']!)).toBeCloseTo(1, 1);
    expect(() => createModel({ ...valid, position: { type: 'relative', initStd: 0 } })).toThrow(/position\.initStd: got 0/);
  });
});
