import { ConfigError, createModel, getModelKind } from '@staircase/core';
import { describe, expect, it } from 'vitest';
import './ladder.js';

const base = { kind: 'ladder', vocabSize: 32, dModel: 16, heads: 2, layers: 3, dFF: 32 };

describe('ladder kind', () => {
  it('is registered on import, with defaults', () => {
    expect(getModelKind('ladder').description).toContain('R times');
    expect(createModel(base).config).toMatchObject({ repeats: 2, memory: 64 });
  });

  it('spends R·L layer applications per token with the parameters of one stack', () => {
    const one = createModel({ ...base, repeats: 1 });
    const four = createModel({ ...base, repeats: 4 });
    expect(four.cost().layerApplicationsPerToken).toBe(12);
    expect(one.cost().layerApplicationsPerToken).toBe(3);
    expect(four.cost().parameters).toBe(one.cost().parameters);
    expect(four.paramSpecs().map((s) => s.name)).toEqual(one.paramSpecs().map((s) => s.name));
  });

  it('refuses repeats below 1 and keys of other kinds', () => {
    expect(() => createModel({ ...base, repeats: 0 })).toThrow(ConfigError);
    expect(() => createModel({ ...base, chunk: 4 })).toThrow('unknown key "chunk"');
  });
});
