/**
 * Wide concatenations are emitted as trees of Concats of at most MAX_CONCAT_INPUTS inputs (WebGPU
 * binds each input and the output as a storage buffer, 8 by default), with the values of one
 * wide Concat.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { GraphBuilder, MAX_CONCAT_INPUTS, concatTree, exportModel } from '../src/index.js';
import { KINDS, tinyModel, tinyKinds } from './helpers.js';

const widest = (bytes: Uint8Array) =>
  Math.max(...(onnxProto.onnx.ModelProto.decode(bytes).graph!.node ?? []).filter((n) => n.opType === 'Concat').map((n) => n.input!.length));

it('a Concat tree of n inputs equals their concatenation, for n = 1…30', async () => {
  for (let n = 1; n <= 30; n++) {
    const g = new GraphBuilder();
    const inputs = Array.from({ length: n }, (_, i) => g.input({ name: `x${i}`, dtype: 'float32', dims: [2, i % 3 + 1] }));
    g.output({ name: 'y', dtype: 'float32', dims: [2, 'w'] }, concatTree(g, inputs, 1));
    const bytes = g.toBytes('concat', {});
    if (n > 1) expect(widest(bytes)).toBeLessThanOrEqual(MAX_CONCAT_INPUTS);
    const session = await ort.InferenceSession.create(bytes);
    const feeds = Object.fromEntries(inputs.map((name, i) => [name, new ort.Tensor('float32', Float32Array.from({ length: 2 * (i % 3 + 1) }, (_, j) => i * 100 + j), [2, i % 3 + 1])]));
    const y = (await session.run(feeds)).y!;
    const expected = [0, 1].flatMap((row) => inputs.flatMap((_, i) => Array.from({ length: i % 3 + 1 }, (_, j) => i * 100 + row * (i % 3 + 1) + j)));
    expect([...(y.data as Float32Array)]).toEqual(expected);
    await session.release();
  }
});

it('no exported graph has a Concat over the limit, even with a segment of 12 chunks', () => {
  for (const kind of KINDS) {
    const chunk = (tinyKinds[kind] as { chunk?: number }).chunk ?? 1;
    const { model, params } = tinyModel(kind);
    const e = exportModel(model, params, { segmentTokens: 12 * chunk, maxPositions: 64 * chunk, reference: false });
    expect(widest(e.segment), kind).toBeLessThanOrEqual(MAX_CONCAT_INPUTS);
    expect(widest(e.step), kind).toBeLessThanOrEqual(MAX_CONCAT_INPUTS);
  }
});
