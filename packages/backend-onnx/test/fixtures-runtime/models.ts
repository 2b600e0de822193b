/**
 * Small ONNX models for the runtime tests, built with onnx-proto, and the same computations written
 * in plain JS so every device's output can be checked against an independent reference.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: readonly Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

function floats(name: string, dims: number[], data: readonly number[]) {
  return onnx.TensorProto.create({ name, dataType: T.FLOAT, dims, floatData: [...data] });
}

function int64s(name: string, data: readonly number[]) {
  return onnx.TensorProto.create({ name, dataType: T.INT64, dims: [data.length], int64Data: [...data] });
}

function node(opType: string, input: string[], output: string[], attrs: Record<string, number | number[]> = {}) {
  const attribute = Object.entries(attrs).map(([name, v]) =>
    Array.isArray(v)
      ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v })
      : Number.isInteger(v)
        ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v })
        : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }),
  );
  return onnx.NodeProto.create({ name: `${opType.toLowerCase()}_${output[0]}`, opType, input, output, attribute });
}

/** Deterministic small numbers, so the reference and the models share weights without a RNG. */
export function series(n: number, scale: number, phase: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(Math.sin(i * 1.7 + phase) * scale * 1000) / 1000);
}

export const D = 4;
export const SEQ = 3;
export const VOCAB = 10;
export const weights = {
  w: series(D * D, 0.8, 0.3),
  b: series(D, 0.2, 1.1),
  emb: series(VOCAB * D, 1, 2.3),
  gamma: series(D, 0.5, 0.7).map((v) => v + 1),
  beta: series(D, 0.1, 1.9),
};

/**
 * The op mix of a transformer layer, opset 17, batch dim symbolic:
 * x [batch,3,4] float, ids [batch,3] int32 →
 * h = LayerNorm(x·W + b + E[ids]); t = Transpose(h,[0,2,1]) [batch,4,3]; c = Concat(t,t,axis 2) [batch,4,6];
 * s = Softmax(Slice(c, 1:5 on axis 2)) [batch,4,4]; outputs probs = Reshape(s,[0,-1]) [batch,16],
 * sums = ReduceSum(s, axes [1], keepdims) [batch,1,4].
 */
export function layerModel(): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: 'runtime_test_layer',
    node: [
      node('MatMul', ['x', 'W'], ['xw']),
      node('Add', ['xw', 'B'], ['xwb']),
      node('Gather', ['E', 'ids'], ['emb'], { axis: 0 }),
      node('Add', ['xwb', 'emb'], ['pre']),
      node('LayerNormalization', ['pre', 'gamma', 'beta'], ['h'], { axis: -1, epsilon: 1e-5 }),
      node('Transpose', ['h'], ['t'], { perm: [0, 2, 1] }),
      node('Concat', ['t', 't'], ['c'], { axis: 2 }),
      node('Slice', ['c', 'starts', 'ends', 'axes'], ['sl']),
      node('Softmax', ['sl'], ['s'], { axis: -1 }),
      node('Reshape', ['s', 'shape'], ['probs']),
      node('ReduceSum', ['s', 'sumAxes'], ['sums'], { keepdims: 1 }),
    ],
    initializer: [
      floats('W', [D, D], weights.w),
      floats('B', [D], weights.b),
      floats('E', [VOCAB, D], weights.emb),
      floats('gamma', [D], weights.gamma),
      floats('beta', [D], weights.beta),
      int64s('starts', [1]),
      int64s('ends', [5]),
      int64s('axes', [2]),
      int64s('shape', [0, -1]),
      int64s('sumAxes', [1]),
    ],
    input: [valueInfo('x', T.FLOAT, ['batch', SEQ, D]), valueInfo('ids', T.INT32, ['batch', SEQ])],
    output: [valueInfo('probs', T.FLOAT, ['batch', 16]), valueInfo('sums', T.FLOAT, ['batch', 1, 4])],
  });
  return encode(graph);
}

/** x [n] int64 → y = x * 3 + 1 (int64 in and out), to test the BigInt64Array path. */
export function int64Model(): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: 'runtime_test_int64',
    node: [node('Mul', ['x', 'three'], ['x3']), node('Add', ['x3', 'one'], ['y'])],
    initializer: [int64s('three', [3]), int64s('one', [1])],
    input: [valueInfo('x', T.INT64, ['n'])],
    output: [valueInfo('y', T.INT64, ['n'])],
  });
  return encode(graph);
}

/**
 * Two independent paths: x [n,4] float → y = x·W (a WebGPU kernel exists) and k [n] int64 →
 * k1 = k + 1 (the WebGPU EP leaves int64 arithmetic to the CPU EP unless int64 is enabled), so on
 * WebGPU the nodes are split between providers.
 */
export function mixedModel(): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: 'runtime_test_mixed',
    node: [node('MatMul', ['x', 'W'], ['y']), node('Add', ['k', 'one'], ['k1'])],
    initializer: [floats('W', [D, D], weights.w), int64s('one', [1])],
    input: [valueInfo('x', T.FLOAT, ['n', D]), valueInfo('k', T.INT64, ['n'])],
    output: [valueInfo('y', T.FLOAT, ['n', D]), valueInfo('k1', T.INT64, ['n'])],
  });
  return encode(graph);
}

function encode(graph: InstanceType<typeof onnx.GraphProto>): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'staircase-runtime-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Plain-JS reference of {@link layerModel}. */
export function layerReference(x: Float32Array, ids: Int32Array, batch: number): { probs: number[]; sums: number[] } {
  const probs: number[] = [];
  const sums: number[] = [];
  for (let b = 0; b < batch; b++) {
    const h: number[][] = [];
    for (let s = 0; s < SEQ; s++) {
      const pre: number[] = [];
      for (let j = 0; j < D; j++) {
        let acc = weights.b[j]!;
        for (let k = 0; k < D; k++) acc += x[(b * SEQ + s) * D + k]! * weights.w[k * D + j]!;
        pre.push(acc + weights.emb[ids[b * SEQ + s]! * D + j]!);
      }
      const mean = pre.reduce((a, v) => a + v, 0) / D;
      const variance = pre.reduce((a, v) => a + (v - mean) ** 2, 0) / D;
      h.push(pre.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * weights.gamma[j]! + weights.beta[j]!));
    }
    // t[j][s] = h[s][j]; c[j] = [t[j], t[j]] (length 6); slice 1:5.
    const soft: number[][] = [];
    for (let j = 0; j < D; j++) {
      const row = [...h.map((r) => r[j]!), ...h.map((r) => r[j]!)].slice(1, 5);
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const z = e.reduce((a, v) => a + v, 0);
      soft.push(e.map((v) => v / z));
    }
    for (const row of soft) probs.push(...row);
    for (let k = 0; k < 4; k++) sums.push(soft.reduce((a, row) => a + row[k]!, 0));
  }
  return { probs, sums };
}
