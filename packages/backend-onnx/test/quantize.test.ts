/**
 * int8 exports: the weight products rewritten, the float weights gone, and logits that stay within
 * int8 rounding of the float32 export's on every runtime present.
 */
import '@staircase/ladder';
import '@staircase/staircase';
import { createModel, initParams } from '@staircase/core';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ExportError, OnnxModel, exportModel, openSession, quantizeColumns, quantizeWeightProducts } from '../src/index.js';
import { KINDS, skipReason, tinyBase, tinyKinds, tokenStream } from './helpers.js';

const { onnx } = onnxProto;
// The parity suite's models (every kind, RoPE too), wider so that int8 rounding is typical of real sizes.
const base = { ...tinyBase, vocabSize: 50, dModel: 64, dFF: 128, position: { type: 'relative', maxDistance: 16 }, seed: 5 } as const;
const SEGMENT = 12; // a multiple of every chunk there

function both(kind: string) {
  const model = createModel({ ...base, ...tinyKinds[kind] });
  const params = initParams(model.paramSpecs(), 11);
  const options = { segmentTokens: SEGMENT, maxPositions: 256 };
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
    // [3, 2]: column 0 spans ±2.52 (7-bit codes: scale 2.52 / 63), column 1 is all zeros.
    const { q, scales } = quantizeColumns(Float32Array.from([2.52, 0, -1.24, 0, 0.04, 0]), 3, 2);
    expect(scales[0]).toBeCloseTo(0.04, 6);
    expect(scales[1]).toBe(1);
    expect([...q]).toEqual([63, 0, -31, 0, 1, 0]);
  });

  it('reconstructs a random matrix within half a step per element', () => {
    const w = Float32Array.from({ length: 64 * 8 }, (_, i) => Math.sin(i * 12.9898) * (1 + (i % 8)));
    const { q, scales } = quantizeColumns(w, 64, 8);
    for (let i = 0; i < w.length; i++) {
      expect(Math.abs(q[i]! * scales[i % 8]! - w[i]!)).toBeLessThanOrEqual(scales[i % 8]! / 2 + 1e-6);
    }
  });

  it('refuses a non-finite weight or a wrong length in one line', () => {
    expect(() => quantizeColumns(Float32Array.from([1, Number.NaN]), 1, 2)).toThrow(ExportError);
    expect(() => quantizeColumns(Float32Array.from([1, Number.NaN]), 1, 2)).toThrow(/non-finite value \(NaN\) at \[0, 1\]/);
    expect(() => quantizeColumns(new Float32Array(5), 2, 3)).toThrow(/needs 6 values, got 5/);
  });
});

describe('quantizeWeightProducts on a graph read back from a file', () => {
  // x [2, 4] → x·W (W shared by two products), x·V + V-read-elsewhere, as a user's own graph:
  // serialised, then decoded from a Node Buffer (raw_data views into the whole file), nodes
  // unnamed, and a value already called "W.int8".
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const W = Float32Array.from({ length: 4 * 3 }, (_, i) => Math.sin(i + 1));
  const V = Float32Array.from({ length: 4 * 4 }, (_, i) => Math.cos(i * 0.7));
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer.slice(0));
  const value = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const file = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'custom',
        node: [
          { opType: 'MatMul', input: ['x', 'W'], output: ['W.int8'] },
          { opType: 'MatMul', input: ['x', 'W'], output: ['b'] },
          { opType: 'Add', input: ['W.int8', 'b'], output: ['y'] },
          { opType: 'MatMul', input: ['x', 'V'], output: ['c'] },
          { opType: 'Add', input: ['c', 'V'], output: ['z'] },
        ],
        initializer: [
          { name: 'W', dataType: FLOAT, dims: [4, 3], rawData: bytes(W) },
          { name: 'V', dataType: FLOAT, dims: [4, 4], rawData: bytes(V) },
        ],
        input: [value('x', [4, 4])],
        output: [value('y', [4, 3]), value('z', [4, 4])],
      },
    }),
  ).finish();
  const graph = onnx.ModelProto.decode(Buffer.from(file)).graph!;
  const nodes = [...graph.node!];
  const initializers = [...graph.initializer!];
  let counter = 0;
  const report = quantizeWeightProducts(nodes, initializers, new Set(['W', 'V']), (p) => `${p}_${counter++}`);

  it('stores each weight once, from its real values, under names the graph does not use', () => {
    expect(report).toEqual({ products: 3, weights: 2 });
    const names = initializers.map((t) => t.name);
    expect(names).not.toContain('W'); // read by products only: the float copy is gone
    expect(names).toContain('V'); // also read by an Add: kept
    const wq = initializers.find((t) => t.dataType === onnx.TensorProto.DataType.INT8 && t.dims!.map(Number).join() === '4,3')!;
    expect(wq.name).not.toBe('W.int8');
    expect([...new Int8Array(new Uint8Array(wq.rawData!).buffer)]).toEqual([...quantizeColumns(W, 4, 3).q]);
    // The new nodes (the user's unnamed Adds stay as they were) have distinct, non-empty names.
    const nodeNames = nodes.filter((n) => n.opType !== 'Add').map((n) => n.name);
    expect(nodeNames).toHaveLength(15);
    expect(new Set(nodeNames).size).toBe(15);
    expect(nodeNames.every((n) => n)).toBe(true);
  });

  it('computes x · W within int8 rounding on ONNX Runtime', async () => {
    const model = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { ...graph, node: nodes, initializer: initializers } })).finish();
    const session = await openSession(model, { device: 'cpu' });
    try {
      const x = Float32Array.from({ length: 16 }, (_, i) => (i % 5) - 2);
      const out = await session.run({ x: { type: 'float32', data: x, dims: [4, 4] } });
      const exact = (m: Float32Array, n: number) => Float32Array.from({ length: 4 * n }, (_, o) => [0, 1, 2, 3].reduce((a, k) => a + x[Math.floor(o / n) * 4 + k]! * m[k * n + (o % n)]!, 0));
      const xw = exact(W, 3);
      const xv = exact(V, 4);
      expect(relativeError(Float32Array.from(xw, (v) => 2 * v), out.y!.data as Float32Array)).toBeLessThan(0.05);
      expect(relativeError(Float32Array.from(xv, (v, i) => v + V[i]!), out.z!.data as Float32Array)).toBeLessThan(0.05);
    } finally {
      await session.release();
    }
  });
});

describe.each(KINDS)('int8 export of %s', (kind) => {
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
      const integer = (q.node ?? []).filter((n) => n.opType === 'MatMulInteger').length;
      expect((q.node ?? []).filter((n) => n.opType === 'MatMul' && weights.has(n.input![1]!))).toHaveLength(0);
      const floats = new Set((q.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT).map((t) => t.name));
      expect([...weights].filter((w) => floats.has(w))).toEqual([]);
      expect(floats.has('embed')).toBe(true);
      if (model.paramSpecs().some((p) => p.name === 'pos.rel')) expect(floats.has('pos.rel')).toBe(true);
      expect((q.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.INT8)).toHaveLength(weights.size);
      const floatMatMuls = (f.node ?? []).filter((n) => n.opType === 'MatMul').length;
      const intMatMuls = (q.node ?? []).filter((n) => n.opType === 'MatMul').length;
      if (role === 'step' && float.stepMetadata.rolls) {
        // The float one-token step takes each token's Q, K and V from one product with the three
        // weights side by side (folded at load); int8 keeps them apart, each quantized.
        const fused = (f.node ?? []).filter((n) => n.opType === 'Concat' && n.input!.some((i) => /\.attn\.wk$/.test(i))).length;
        expect(fused).toBeGreaterThan(0);
        expect(integer).toBe(weightProducts + 3 * fused);
        expect(intMatMuls).toBe(floatMatMuls - weightProducts - fused);
      } else {
        expect(integer).toBe(weightProducts);
        // Products that are not by a weight (attention) stay float.
        expect(intMatMuls).toBe(floatMatMuls - weightProducts);
      }
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
        const tokens = tokenStream(2 * SEGMENT, base.vocabSize);
        const sf = f.stream(2, 'segment');
        const sq = q.stream(2, 'segment');
        // Three segments: the carried state goes through the int8 products too.
        for (let i = 0; i < 3; i++) {
          const a = Float32Array.from(await sf.append(tokens, SEGMENT));
          const b = Float32Array.from(await sq.append(tokens, SEGMENT));
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

it('refuses an unknown quantization in one line', () => {
  const model = createModel({ ...base, ...tinyKinds['transformer-xl'] });
  const params = initParams(model.paramSpecs(), 1);
  expect(() => exportModel(model, params, { quantize: 'int4' as 'int8' })).toThrow(ExportError);
  expect(() => exportModel(model, params, { quantize: 'int4' as 'int8' })).toThrow(/^quantize must be "int8" \(or left out for float32\), got "int4"$/);
});
