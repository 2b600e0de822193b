/**
 * One-token step graphs of the staircase family (the fixed-shape streaming step traced from the
 * model code): their logits, greedy tokens and carried state equal TensorFlow.js's, and the
 * F-token step graph of older exports still gives the same tokens.
 */
import '@staircase/staircase';
import { createModel, initParams, type Model } from '@staircase/core';
import { describe, expect, it } from 'vitest';
import { type ExportedModel, exportModel, generate, type HostTensor, OnnxModel } from '../src/index.js';
import { kvBlocks, maxDiff, TfjsFixedReference, TfjsReference, tinyBase, tinyKinds, tokenStream } from './helpers.js';

const rope = { position: { type: 'rope', base: 10000 } };
const kinds: Record<string, Record<string, unknown>> = {
  ...Object.fromEntries(Object.entries(tinyKinds).filter(([, c]) => 'chunk' in c)),
  'staircase (rope)': { ...tinyKinds.staircase, ...rope },
  'global-staircase (rope)': { ...tinyKinds['global-staircase'], ...rope },
  'staircase-ladder (rope)': { ...tinyKinds['staircase-ladder'], ...rope },
  'staircase (F 1)': { kind: 'staircase', chunk: 1, passes: 3 },
};
const MAX_POSITIONS = 320;

function tiny(kind: string): { model: Model; params: ReturnType<typeof initParams> } {
  const model = createModel({ ...tinyBase, ...kinds[kind] });
  return { model, params: initParams(model.paramSpecs(), 7) };
}

describe.each(Object.keys(kinds))('%s', (kind) => {
  const { model, params } = tiny(kind);
  const F = (model.config as { chunk?: number }).chunk ?? 1;
  const fresh: ExportedModel = exportModel(model, params, { maxPositions: MAX_POSITIONS, segmentTokens: 4 * F });
  const old: ExportedModel = exportModel(model, params, { maxPositions: MAX_POSITIONS, segmentTokens: 4 * F, stepTokens: F });

  it('the step graph takes one token; the F-token one is still exported on request', () => {
    expect(fresh.stepMetadata.tokens).toBe(1);
    expect(fresh.stepMetadata.phases?.length).toBe(1);
    // Ring-buffer state: the graph returns one entry per ring, and the ring order comes from rolls.
    expect(fresh.stepMetadata.state.every((s) => s.update === 'ring')).toBe(true);
    expect(fresh.stepMetadata.rolls?.length).toBeGreaterThan(0);
    if (F === 1) return; // a one-token run is the chunk: both exports are one-token graphs
    expect(old.stepMetadata.tokens).toBe(F);
    expect(old.stepMetadata.phases).toBeUndefined();
  });

  it('logits at every position equal TensorFlow.js (forward and fixed step) and the F-token graph', async () => {
    const onnx = await OnnxModel.load(fresh, { device: 'cpu' });
    const legacy = await OnnxModel.load(old, { device: 'cpu' });
    try {
      const B = 2;
      const T = 6 * F + 3; // several chunk boundaries
      const tokens = tokenStream(B * T);
      const ref = new TfjsReference(model, params);
      const fixedModel = model.bounded ? model.bounded(MAX_POSITIONS) : model;
      const fixedRef = new TfjsFixedReference(fixedModel, params, B);
      const stream = onnx.stream(B, 'step');
      const legacyStream = legacy.stream(B, 'step');
      const worst = { tfjs: 0, fixed: 0, legacy: 0 };
      for (let t = 0; t < T; t++) {
        const piece = [tokens[t]!, tokens[T + t]!];
        const mine = await stream.append(piece, 1);
        worst.tfjs = Math.max(worst.tfjs, maxDiff(mine, ref.append(piece, B, 1)));
        worst.fixed = Math.max(worst.fixed, maxDiff(mine, fixedRef.append(piece)));
        worst.legacy = Math.max(worst.legacy, maxDiff(mine, await legacyStream.append(piece, 1)));
      }
      expect(stream.position).toBe(T);
      expect(worst.tfjs).toBeLessThan(1e-4);
      expect(worst.fixed).toBeLessThan(1e-4);
      expect(worst.legacy).toBeLessThan(1e-4);
    } finally {
      await onnx.release();
      await legacy.release();
    }
  });

  it('300 greedy tokens equal TensorFlow.js and the F-token graph', async () => {
    const onnx = await OnnxModel.load(fresh, { device: 'cpu' });
    const legacy = await OnnxModel.load(old, { device: 'cpu' });
    try {
      const prompt = [3, 1, 4, 1, 5];
      const greedy = async (m: OnnxModel) => {
        const out: number[] = [];
        for await (const t of generate(m, prompt, 300, { temperature: 0, topK: 0, topP: 1, seed: 0 })) out.push(t);
        return out;
      };
      const mine = await greedy(onnx);
      expect(mine).toEqual(await new TfjsReference(model, params).greedy(prompt, 300));
      expect(mine).toEqual(await greedy(legacy));
    } finally {
      await onnx.release();
      await legacy.release();
    }
  });

  // A Global Cached state grows with the history it is bounded to, and TensorFlow.js's CPU slices
  // of it cost ~0.5 s per step at 1 000 positions: its export is bounded at 120 for this test.
  const STEPS = model.bounded ? 120 : 1000;
  it(`carries the same state as TensorFlow.js over ${STEPS} steps`, async () => {
    const B = 2;
    const bounded = model.bounded ? exportModel(model, params, { maxPositions: STEPS, segmentTokens: 4 * F, reference: false }) : fresh;
    const onnx = await OnnxModel.load(bounded, { device: 'cpu', onWarning: () => {} });
    try {
      const fixedRef = new TfjsFixedReference(model.bounded ? model.bounded(STEPS) : model, params, B);
      const stream = onnx.stream(B, 'step');
      const tokens = tokenStream(B * STEPS);
      let worstLogits = 0;
      for (let t = 0; t < STEPS; t++) {
        const piece = [tokens[t]!, tokens[STEPS + t]!];
        worstLogits = Math.max(worstLogits, maxDiff(await stream.append(piece, 1), fixedRef.append(piece)));
      }
      const blocks = kvBlocks(fixedRef.state.data);
      const paths = bounded.stepMetadata.state.filter((x) => x.role === 'k').map((x) => x.name.slice(0, -'.k'.length));
      expect(paths).toEqual([...blocks.keys()]);
      let worstState = 0;
      for (const path of paths) {
        for (const role of ['k', 'v', 'bias'] as const) {
          const t = (blocks.get(path) as Record<string, { dataSync(): Float32Array }>)[role]!;
          const mine = stream.carried[`state.${path}.${role}`] as HostTensor;
          const theirs = t.dataSync();
          if (role === 'bias') expect(Array.from(mine.data as Float32Array)).toEqual(Array.from(theirs));
          else worstState = Math.max(worstState, maxDiff(mine.data as Float32Array, theirs));
        }
      }
      expect(stream.position).toBe(STEPS);
      expect(worstLogits).toBeLessThan(1e-4);
      expect(worstState).toBeLessThan(1e-4);
    } finally {
      await onnx.release();
    }
  });
});
