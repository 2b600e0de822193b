/**
 * int8 exports: the weight products rewritten, the float weights gone, and logits that stay within
 * int8 rounding of the float32 export's on every runtime present.
 */
import '@staircase/ladder';
import '@staircase/staircase';
import { createModel, initParams } from '@staircase/core';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ExportError, OnnxModel, exportModel, quantizeColumns } from '../src/index.js';
import { skipReason, tokenStream } from './helpers.js';

const { onnx } = onnxProto;
const base = { vocabSize: 50, dModel: 64, heads: 2, layers: 2, dFF: 128, position: { type: 'relative', maxDistance: 16 }, seed: 5 } as const;
const KINDS: Record<string, Record<string, unknown>> = {
  'transformer-xl': { kind: 'transformer-xl', memory: 8 },
  staircase: { kind: 'staircase', chunk: 4, passes: 2 },
  'cached-staircase': { kind: 'cached-staircase', chunk: 4, passes: 2, cacheChunks: 2 },
  'global-staircase': { kind: 'global-staircase', chunk: 4, passes: 2 },
  ladder: { kind: 'ladder', repeats: 2, memory: 8 },
  'staircase-ladder': { kind: 'staircase-ladder', chunk: 4, passes: 2, repeats: 2, activation: 'gelu' },
  'transformer-xl (rope)': { kind: 'transformer-xl', memory: 8, position: { type: 'rope', base: 10000 } },
};

function both(kind: string) {
  const model = createModel({ ...base, ...KINDS[kind] });
  const params = initParams(model.paramSpecs(), 11);
  const options = { segmentTokens: 16, maxPositions: 256 };
  return { model, float: exportModel(model, params, options), int8: exportModel(model, params, { ...options, quantize: 'int8' }) };
}

const decode = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).graph!;

function relativeError(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    err += (a[i]! - b[i]!) ** 2;
    norm += a[i]! ** 2;
  }
  return Math.sqrt(err / norm);
}

describe('quantizeColumns', () => {
  it('scales each column by its own largest magnitude and rounds to the nearest code', () => {
    // [3, 2]: column 0 spans ±2.54, column 1 is all zeros.
    const { q, scales } = quantizeColumns(Float32Array.from([2.54, 0, -1.27, 0, 0.01, 0]), 3, 2);
    expect(scales[0]).toBeCloseTo(0.02, 6);
    expect(scales[1]).toBe(1);
    expect([...q]).toEqual([127, 0, -64, 0, 1, 0]);
  });

  it('reconstructs a random matrix within half a step per element', () => {
    const w = Float32Array.from({ length: 64 * 8 }, (_, i) => Math.sin(i * 12.9898) * (1 + (i % 8)));
    const { q, scales } = quantizeColumns(w, 64, 8);
    for (let i = 0; i < w.length; i++) {
      expect(Math.abs(q[i]! * scales[i % 8]! - w[i]!)).toBeLessThanOrEqual(scales[i % 8]! / 2 + 1e-6);
    }
  });
});

describe.each(Object.keys(KINDS))('int8 export of %s', (kind) => {
  const { model, float, int8 } = both(kind);
  // The matrices of the projections, the FFN and the output head; the embedding (a Gather) and
  // the relative-position table (gathered into columns first) are not a product's operand.
  const weights = new Set(model.paramSpecs().filter((s) => s.shape.length === 2 && s.name !== 'embed' && s.name !== 'pos.rel').map((s) => s.name));

  it('rewrites every weight product and stores no float copy of those weights', () => {
    for (const role of ['step', 'segment'] as const) {
      const f = decode(float[role]);
      const q = decode(int8[role]);
      const weightProducts = (f.node ?? []).filter((n) => n.opType === 'MatMul' && weights.has(n.input![1]!)).length;
      expect(weightProducts).toBeGreaterThan(0);
      expect((q.node ?? []).filter((n) => n.opType === 'MatMulInteger')).toHaveLength(weightProducts);
      expect((q.node ?? []).filter((n) => n.opType === 'MatMul' && weights.has(n.input![1]!))).toHaveLength(0);
      const floats = new Set((q.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT).map((t) => t.name));
      expect([...weights].filter((w) => floats.has(w))).toEqual([]);
      expect(floats.has('embed')).toBe(true);
      if (model.paramSpecs().some((p) => p.name === 'pos.rel')) expect(floats.has('pos.rel')).toBe(true);
      expect((q.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.INT8)).toHaveLength(weights.size);
      // Products that are not by a weight (attention) stay float.
      expect((q.node ?? []).filter((n) => n.opType === 'MatMul').length).toBe((f.node ?? []).filter((n) => n.opType === 'MatMul').length - weightProducts);
    }
    expect(int8.segmentMetadata.quantization).toBe('int8');
    expect(float.segmentMetadata.quantization).toBeUndefined();
    // Each weight element drops from 4 bytes to 1 (plus a 4-byte scale per column), less the
    // extra nodes: each product becomes five (~10 % of the weights' bytes for the staircases here).
    const weightBytes = model.paramSpecs().filter((p) => weights.has(p.name)).reduce((a, p) => a + 4 * p.shape[0]! * p.shape[1]!, 0);
    expect(float.segment.length - int8.segment.length).toBeGreaterThan(0.55 * weightBytes);
  });

  for (const device of ['cpu', 'wasm'] as const) {
    const skip = skipReason(device);
    it.skipIf(skip)(`scores within int8 rounding of the float32 export on ${device}${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      const [f, q] = await Promise.all([OnnxModel.load(float, { device }), OnnxModel.load(int8, { device })]);
      try {
        const tokens = tokenStream(2 * 16, base.vocabSize);
        const sf = f.stream(2, 'segment');
        const sq = q.stream(2, 'segment');
        // Three segments: the carried state goes through the int8 products too.
        for (let i = 0; i < 3; i++) {
          const a = Float32Array.from(await sf.append(tokens, 16));
          const b = Float32Array.from(await sq.append(tokens, 16));
          const e = relativeError(a, b);
          expect(e).toBeGreaterThan(0); // it did quantize
          expect(e).toBeLessThan(0.05);
        }
        // The step graph (generation), a token at a time.
        const tf = f.stream(1, 'step');
        const tq = q.stream(1, 'step');
        for (const token of tokens.subarray(0, 6)) {
          const e = relativeError(Float32Array.from(await tf.append([token], 1)), Float32Array.from(await tq.append([token], 1)));
          expect(e).toBeGreaterThan(0);
          expect(e).toBeLessThan(0.05);
        }
      } finally {
        await Promise.all([f.release(), q.release()]);
      }
    });
  }
});

it('opens an int8 export on the CPU path when the device is auto (WebGPU has no integer products)', async () => {
  const { int8 } = both('transformer-xl');
  const onnx = await OnnxModel.load(int8);
  try {
    expect(onnx.device).toBe('cpu');
  } finally {
    await onnx.release();
  }
});

it('refuses an unknown quantization in one line', () => {
  const model = createModel({ ...base, ...KINDS['transformer-xl'] });
  const params = initParams(model.paramSpecs(), 1);
  expect(() => exportModel(model, params, { quantize: 'int4' as 'int8' })).toThrow(ExportError);
  expect(() => exportModel(model, params, { quantize: 'int4' as 'int8' })).toThrow(/^quantize must be "int8" \(or left out for float32\), got "int4"$/);
});
