/**
 * Graph outputs: a value computed by a node becomes the output itself (no Identity copy), while
 * graph inputs, initializers and a value given to two outputs still get one, and ONNX Runtime
 * returns the right values for every case.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { GraphBuilder } from '../src/index.js';

function build(): Uint8Array {
  const g = new GraphBuilder();
  const a = g.input({ name: 'a', dtype: 'float32', dims: ['batch', 2] });
  const two = g.constant('float32', [2], Float32Array.of(2, 2));
  const doubled = g.node('Mul', [a, two]); // an output, and also used further on
  const plusOne = g.node('Add', [doubled, g.constant('float32', [2], Float32Array.of(1, 1))]);
  g.output({ name: 'doubled', dtype: 'float32', dims: ['batch', 2] }, doubled);
  g.output({ name: 'again', dtype: 'float32', dims: ['batch', 2] }, doubled); // same value twice
  g.output({ name: 'passed', dtype: 'float32', dims: ['batch', 2] }, a); // a graph input
  g.output({ name: 'two', dtype: 'float32', dims: [2] }, two); // an initializer
  // A node recorded after an output took a value over still reads it.
  const squared = g.node('Mul', [doubled, doubled]);
  g.output({ name: 'squared', dtype: 'float32', dims: ['batch', 2] }, squared);
  g.output({ name: 'plusOne', dtype: 'float32', dims: ['batch', 2] }, plusOne);
  return g.toBytes('outputs', {});
}

it('names node-computed outputs directly and copies only where it must', () => {
  const graph = onnxProto.onnx.ModelProto.decode(build()).graph as onnxProto.onnx.GraphProto;
  const nodes = graph.node as onnxProto.onnx.NodeProto[];
  const identities = nodes.filter((n) => n.opType === 'Identity').map((n) => `${n.input[0]}->${n.output[0]}`);
  expect(identities.sort()).toEqual(['a->passed', 'const_0->two', 'doubled->again']);
  const produced = new Set(nodes.flatMap((n) => n.output));
  for (const o of graph.output) expect(produced.has(o.name!)).toBe(true);
  const mul = nodes.find((n) => n.opType === 'Mul' && n.output[0] === 'doubled')!;
  expect(mul.input).toEqual(['a', 'const_0']);
  expect(nodes.find((n) => n.opType === 'Add')!.input[0]).toBe('doubled');
});

it('runs with the values of every output', async () => {
  const session = await ort.InferenceSession.create(build());
  const a = new ort.Tensor('float32', Float32Array.of(1, -2, 3, 0.5), [2, 2]);
  const out = await session.run({ a });
  expect([...(out.doubled!.data as Float32Array)]).toEqual([2, -4, 6, 1]);
  expect([...(out.again!.data as Float32Array)]).toEqual([2, -4, 6, 1]);
  expect([...(out.passed!.data as Float32Array)]).toEqual([1, -2, 3, 0.5]);
  expect([...(out.two!.data as Float32Array)]).toEqual([2, 2]);
  expect([...(out.squared!.data as Float32Array)]).toEqual([4, 16, 36, 1]);
  expect([...(out.plusOne!.data as Float32Array)]).toEqual([3, -3, 7, 2]);
  await session.release();
});
