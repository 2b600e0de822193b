/**
 * A crafted file cannot make a stream allocate gigabytes: the state it declares is checked
 * against its own config when it is opened, before any state exists.
 */
import { describe, expect, it } from 'vitest';
import { exportModel, FORMAT_VERSION, GraphBuilder, METADATA_KEY, OnnxModel, type OnnxModelMetadata } from '../src/index.js';
import { refusalOf, tinyModel } from './helpers.js';

/** A tiny file whose signature and metadata agree on one state block of `[batch, ...dims]`. */
function crafted(role: 'step' | 'segment', dims: number[], config: Record<string, unknown>): Uint8Array {
  const g = new GraphBuilder();
  const state = (['k', 'v', 'bias'] as const).map((r) => ({
    name: `big.${r}`,
    role: r,
    dims: r === 'bias' ? [1, 1, 1, dims[1] ?? 1] : (['batch', ...dims] as (number | 'batch')[]),
    fill: r === 'bias' ? -1e9 : 0,
  }));
  const tokens = g.input({ name: 'tokens', dtype: 'int32', dims: ['batch', 1] });
  for (const s of state) g.input({ name: `state.${s.name}`, dtype: 'float32', dims: s.dims });
  g.output({ name: 'logits', dtype: 'float32', dims: ['batch', 1, 11] }, g.node('Identity', [tokens]));
  for (const s of state) g.output({ name: `next.${s.name}`, dtype: 'float32', dims: s.dims }, `state.${s.name}`);
  const meta: OnnxModelMetadata = {
    format: 'staircase-onnx',
    version: FORMAT_VERSION,
    role,
    kind: 'staircase',
    config,
    vocabSize: 11,
    tokens: 1,
    alignment: 1,
    maxPositions: null,
    tracedAt: 0,
    state,
    positions: [],
    exportId: 'crafted',
  };
  return g.toBytes('crafted', { [METADATA_KEY]: JSON.stringify(meta) });
}

const refusal = refusalOf;

const config = { kind: 'staircase', vocabSize: 11, dModel: 16, heads: 2, layers: 2, dFF: 32, chunk: 3, passes: 3 };

describe('opening refuses a declared state its config cannot carry', () => {
  it('[batch, 30000, 30000] in a 1.5 KB file', async () => {
    const step = crafted('step', [30000, 30000], config);
    expect(step.length).toBeLessThan(2000);
    const message = await refusal({ step, segment: crafted('segment', [30000, 30000], config) });
    expect(message).toMatch(/step graph: state big\.k declares dims \[batch, 30000, 30000\]/);
  });

  it('more positions than the config reaches', async () => {
    const dims = [2, 100_000, 8];
    expect(await refusal({ step: crafted('step', dims, config), segment: crafted('segment', dims, config) })).toMatch(/positions ≤ 15/);
  });

  it('a config crafted to match a huge state', async () => {
    const big = { ...config, heads: 1, dModel: 1 << 20, chunk: 1 << 10 };
    const dims = [1, 1024, 1 << 20];
    expect(await refusal({ step: crafted('step', dims, big), segment: crafted('segment', dims, big) })).toMatch(/values per batch row, over the limit/);
  });

  it('while every real export passes the check', async () => {
    for (const kind of ['staircase', 'global-staircase', 'transformer-xl'] as const) {
      const { model, params } = tinyModel(kind);
      for (const stepTokens of [undefined, (model.config as { chunk?: number }).chunk ?? 1]) {
        const onnx = await OnnxModel.load(exportModel(model, params, { stepTokens }), { device: 'cpu' });
        await onnx.release();
      }
    }
  });
});
