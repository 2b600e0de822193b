import type { Ops } from '@staircase/core';
import type { DType, GraphBuilder } from './graph.js';

/**
 * A symbolic tensor: the name of a value in the graph being recorded, its static shape as traced,
 * and which axis (if any) is the batch. The batch axis is tracked so that the exported graph can
 * leave it symbolic: every shape the model code computes from the traced batch size is emitted
 * so that ONNX Runtime copies the real batch size instead.
 */
export interface Sym {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly batchAxis: number | null;
}

/** Raised when model code does something an inference graph cannot express. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
}

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** Shape of a NumPy-style broadcast, and where an operand's batch axis lands in it. */
function broadcast(a: Sym, b: Sym): { shape: number[]; batchAxis: number | null } {
  const rank = Math.max(a.shape.length, b.shape.length);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[i - (rank - a.shape.length)] ?? 1;
    const db = b.shape[i - (rank - b.shape.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new ExportError(`cannot broadcast [${a.shape}] with [${b.shape}]`);
    shape.push(Math.max(da, db));
  }
  const lift = (x: Sym) => (x.batchAxis === null ? null : x.batchAxis + rank - x.shape.length);
  const axes = [lift(a), lift(b)].filter((x): x is number => x !== null);
  if (axes.length === 2 && axes[0] !== axes[1]) throw new ExportError('operands carry the batch on different axes');
  return { shape, batchAxis: axes[0] ?? null };
}

/**
 * Most inputs one emitted `Concat` node takes. WebGPU kernels bind every input and the output as a
 * storage buffer, and WebGPU's default limit is 8 per shader stage: onnxruntime-web's JSEP WebGPU
 * provider (its default browser entry) refuses a 9-buffer Concat with only a console message and
 * returns zeros, so a staircase segment of 8 chunks scored as uniform noise. 7 inputs + 1 output
 * fit every conforming device.
 */
export const MAX_CONCAT_INPUTS = 7;

/**
 * Records `Concat(names, axis)` as a tree of Concats of at most {@link MAX_CONCAT_INPUTS} inputs.
 * Concatenation along one axis is associative and only copies, so the values are exactly those of
 * one wide Concat.
 */
export function concatTree(graph: GraphBuilder, names: readonly string[], axis: number): string {
  if (names.length <= MAX_CONCAT_INPUTS) return graph.node('Concat', names, { axis });
  const groups: string[] = [];
  const size = Math.ceil(names.length / Math.ceil(names.length / MAX_CONCAT_INPUTS));
  for (let i = 0; i < names.length; i += size) {
    const group = names.slice(i, i + size);
    groups.push(group.length === 1 ? group[0]! : graph.node('Concat', group, { axis }));
  }
  return concatTree(graph, groups, axis);
}

/**
 * {@link Ops} that record an ONNX graph instead of computing: running a model's `forward` with
 * these ops on symbolic inputs yields the inference graph of exactly that code.
 */
export function createSymbolicOps(
  graph: GraphBuilder,
  batch: number,
  rotary?: (start: number, length: number, headDim: number, base: number) => { cos: Sym; sin: Sym },
  phase?: (position: number, period: number) => Sym,
  rollIndex?: (position: number, length: number, period: number) => Sym,
  foldsWeights = false,
): Ops<Sym> {
  const sym = (name: string, shape: readonly number[], batchAxis: number | null, dtype: DType = 'float32'): Sym => ({
    name,
    shape: [...shape],
    dtype,
    batchAxis,
  });
  const unary = (op: string, x: Sym, attrs = {}) => sym(graph.node(op, [x.name], attrs), x.shape, x.batchAxis, x.dtype);
  const binary = (op: string, a: Sym, b: Sym) => {
    const { shape, batchAxis } = broadcast(a, b);
    return sym(graph.node(op, [a.name, b.name]), shape, batchAxis, a.dtype);
  };
  const scalar = (v: number) => graph.constant('float32', [], Float32Array.of(v));
  // ONNX's Where takes a bool condition: one Cast per distinct mask, however often it is used.
  const conditions = new Map<string, string>();

  const ops: Ops<Sym> = {
    name: 'onnx-symbolic',
    constant: (values, shape) => sym(graph.constant('float32', shape, Float32Array.from(values)), shape, null),
    constantInt: (values, shape) => sym(graph.constant('int32', shape, Int32Array.from(values)), shape, null, 'int32'),
    zeros: (shape) => ops.constant(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape),
    shape: (x) => [...x.shape],

    reshape(x, shape) {
      const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
      if (size(shape) !== size(x.shape)) throw new ExportError(`cannot reshape [${x.shape}] to [${shape}]`);
      if (x.batchAxis === null) return sym(graph.node('Reshape', [x.name, graph.ints(shape)]), shape, null, x.dtype);
      if (x.batchAxis !== 0 || shape[0] !== batch) {
        throw new ExportError(`reshape [${x.shape}] → [${shape}] moves the batch axis; the batch cannot stay symbolic`);
      }
      // 0 copies the input's dimension: the real batch size at run time.
      return sym(graph.node('Reshape', [x.name, graph.ints([0, ...shape.slice(1)])]), shape, 0, x.dtype);
    },
    transpose: (x, perm) =>
      sym(
        graph.node('Transpose', [x.name], { perm }),
        perm.map((p) => x.shape[p]!),
        x.batchAxis === null ? null : perm.indexOf(x.batchAxis),
        x.dtype,
      ),
    concat(xs, axis) {
      const first = xs[0]!;
      if (xs.length === 1) return first;
      const a = normAxis(axis, first.shape.length);
      const shape = [...first.shape];
      shape[a] = xs.reduce((n, x) => n + x.shape[a]!, 0);
      const batchAxes = new Set(xs.map((x) => x.batchAxis));
      if (batchAxes.size > 1) throw new ExportError('concat of tensors with and without a batch axis');
      return sym(concatTree(graph, xs.map((x) => x.name), a), shape, first.batchAxis, first.dtype);
    },
    slice(x, begin, size) {
      const shape = size.map((s, i) => (s === -1 ? x.shape[i]! - begin[i]! : s));
      const axes: number[] = [];
      const starts: number[] = [];
      const ends: number[] = [];
      shape.forEach((s, i) => {
        if (begin[i] === 0 && s === x.shape[i]) return; // untouched axis (always the batch axis)
        if (i === x.batchAxis) throw new ExportError('slicing along the batch axis cannot stay symbolic');
        axes.push(i);
        starts.push(begin[i]!);
        ends.push(begin[i]! + s);
      });
      if (axes.length === 0) return x;
      return sym(graph.node('Slice', [x.name, graph.ints(starts), graph.ints(ends), graph.ints(axes)]), shape, x.batchAxis, x.dtype);
    },

    add: (a, b) => binary('Add', a, b),
    sub: (a, b) => binary('Sub', a, b),
    mul: (a, b) => binary('Mul', a, b),
    scale: (x, s) => sym(graph.node('Mul', [x.name, scalar(s)]), x.shape, x.batchAxis),
    relu: (x) => unary('Relu', x),
    gelu(x) {
      // Same composition as the TensorFlow.js backend: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
      const cube = graph.node('Mul', [graph.node('Mul', [x.name, x.name]), x.name]);
      const inner = graph.node('Mul', [graph.node('Add', [x.name, graph.node('Mul', [cube, scalar(0.044715)])]), scalar(Math.sqrt(2 / Math.PI))]);
      const half = graph.node('Mul', [x.name, scalar(0.5)]);
      return sym(graph.node('Mul', [half, graph.node('Add', [graph.node('Tanh', [inner]), scalar(1)])]), x.shape, x.batchAxis);
    },
    matMul(a, b) {
      const ra = a.shape.length;
      const rb = b.shape.length;
      if (ra < 2 || rb < 2) throw new ExportError(`matMul needs rank ≥ 2 operands, got [${a.shape}] and [${b.shape}]`);
      if (a.shape[ra - 1] !== b.shape[rb - 2]) throw new ExportError(`matMul of [${a.shape}] and [${b.shape}]`);
      const lead = broadcast(sym(a.name, a.shape.slice(0, -2), a.batchAxis), sym(b.name, b.shape.slice(0, -2), null));
      const bBatch = b.batchAxis === null ? null : b.batchAxis + lead.shape.length - (rb - 2);
      const batchAxis = lead.batchAxis ?? bBatch;
      return sym(graph.node('MatMul', [a.name, b.name]), [...lead.shape, a.shape[ra - 2]!, b.shape[rb - 1]!], batchAxis);
    },
    softmax: (x) => unary('Softmax', x, { axis: -1 }),
    logSoftmax: (x) => unary('LogSoftmax', x, { axis: -1 }),
    layerNorm: (x, g, b, eps) =>
      sym(graph.node('LayerNormalization', [x.name, g.name, b.name], { axis: -1, epsilon: { float: eps } }), x.shape, x.batchAxis),
    gather(table, indices) {
      if (table.batchAxis !== null) throw new ExportError('gather from a batched table');
      return sym(graph.node('Gather', [table.name, indices.name], { axis: 0 }), [...indices.shape, ...table.shape.slice(1)], indices.batchAxis, table.dtype);
    },
    oneHot(indices, depth) {
      const out = graph.node('OneHot', [indices.name, graph.ints([depth]), graph.constant('float32', [2], Float32Array.of(0, 1))], { axis: -1 });
      return sym(out, [...indices.shape, depth], indices.batchAxis);
    },
    select(condition, a, b) {
      let cond = conditions.get(condition.name);
      if (!cond) {
        cond = graph.node('Cast', [condition.name], { to: 9 }); // 9 = BOOL
        conditions.set(condition.name, cond);
      }
      const first = broadcast(condition, a);
      const both = broadcast(sym('', first.shape, first.batchAxis), b);
      return sym(graph.node('Where', [cond, a.name, b.name]), both.shape, both.batchAxis, a.dtype);
    },
    sum(x, axes) {
      const all = axes ?? x.shape.map((_, i) => i);
      const norm = all.map((a) => normAxis(a, x.shape.length));
      const shape = x.shape.filter((_, i) => !norm.includes(i));
      const batchAxis = x.batchAxis === null || norm.includes(x.batchAxis) ? null : x.batchAxis - norm.filter((a) => a < x.batchAxis!).length;
      return sym(graph.node('ReduceSum', [x.name, graph.ints(norm)], { keepdims: 0 }), shape, batchAxis);
    },
    dropout() {
      throw new ExportError('dropout in an exported graph: export runs the model for inference (training: false)');
    },
    stopGradient: (x) => x,
    ...(rotary ? { rotary } : {}),
    ...(phase ? { phase } : {}),
    ...(foldsWeights ? { foldsWeights } : {}),
    // A roll is a Gather of rows with an index the runtime computes per run.
    ...(rollIndex
      ? {
          roll: (x: Sym, position: number, period?: number) => {
            const n = x.shape[0]!;
            if (x.batchAxis === 0) throw new ExportError('rolling along the batch axis cannot stay symbolic');
            return sym(graph.node('Gather', [x.name, rollIndex(position, n, period ?? n).name], { axis: 0 }), x.shape, x.batchAxis, x.dtype);
          },
        }
      : {}),
  };
  return ops;
}
