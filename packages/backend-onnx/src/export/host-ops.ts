import type { Ops } from '@staircase/core';

/** A tensor of {@link createHostOps}: row-major values and a static shape. */
export interface HostValue {
  readonly data: Float32Array | Int32Array;
  readonly shape: readonly number[];
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let n = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = n;
    n *= shape[i]!;
  }
  return s;
}

/**
 * Calls `fn(outIndex, inIndex)` for every element of an output of `shape`, where `inIndex` walks an
 * input laid out with `strides` (0 for a broadcast axis). An odometer: no per-element allocation.
 */
function walk(shape: readonly number[], strides: readonly number[], offset: number, fn: (o: number, i: number) => void): void {
  const rank = shape.length;
  const total = sizeOf(shape);
  const idx = new Array<number>(rank).fill(0);
  let at = offset;
  for (let o = 0; o < total; o++) {
    fn(o, at);
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]!++;
      at += strides[ax]!;
      if (idx[ax]! < shape[ax]!) break;
      at -= strides[ax]! * shape[ax]!;
      idx[ax] = 0;
    }
  }
}

/** Strides of `x` viewed as `shape` under NumPy broadcasting (0 where `x` has extent 1). */
function broadcastStrides(x: readonly number[], shape: readonly number[]): number[] {
  const own = stridesOf(x);
  const lead = shape.length - x.length;
  return shape.map((_, i) => (i < lead || x[i - lead] === 1 ? 0 : own[i - lead]!));
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[i - (rank - a.length)] ?? 1;
    const db = b[i - (rank - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`host ops: cannot broadcast [${a}] with [${b}]`);
    return Math.max(da, db);
  });
}

function elementwise(a: HostValue, b: HostValue, f: (x: number, y: number) => number): HostValue {
  const shape = broadcastShape(a.shape, b.shape);
  const out = new Float32Array(sizeOf(shape));
  const sa = broadcastStrides(a.shape, shape);
  const sb = broadcastStrides(b.shape, shape);
  const ia: number[] = new Array(out.length);
  walk(shape, sa, 0, (o, i) => (ia[o] = i));
  walk(shape, sb, 0, (o, i) => (out[o] = f(a.data[ia[o]!]!, b.data[i]!)));
  return { data: out, shape };
}

const map = (x: HostValue, f: (v: number) => number): HostValue => ({ data: Float32Array.from(x.data, f), shape: x.shape });

function rowMax(r: ArrayLike<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < r.length; i++) m = Math.max(m, r[i]!);
  return m;
}

/** Applies `f` to each row (last axis) of `x`, writing the row's result into `out`. */
function rows(x: HostValue, f: (row: Float32Array | Int32Array, out: Float32Array) => void): HostValue {
  const d = x.shape[x.shape.length - 1]!;
  const out = new Float32Array(x.data.length);
  for (let r = 0; r < x.data.length; r += d) f(x.data.subarray(r, r + d), out.subarray(r, r + d));
  return { data: out, shape: x.shape };
}

/**
 * {@link Ops} computed eagerly in plain JavaScript, float32 storage: slow, dependency-free and
 * independent of every ONNX runtime. The exporter runs the model's own `forward` with these to
 * record reference logits in the metadata, which runtimes are checked against on open.
 */
export function createHostOps(): Ops<HostValue> {
  const ops: Ops<HostValue> = {
    name: 'host',
    constant: (values, shape) => ({ data: Float32Array.from(values), shape: [...shape] }),
    constantInt: (values, shape) => ({ data: Int32Array.from(values), shape: [...shape] }),
    zeros: (shape) => ({ data: new Float32Array(sizeOf(shape)), shape: [...shape] }),
    shape: (x) => [...x.shape],
    reshape: (x, shape) => {
      if (sizeOf(shape) !== x.data.length) throw new Error(`host ops: cannot reshape [${x.shape}] to [${shape}]`);
      return { data: x.data, shape: [...shape] };
    },
    transpose(x, perm) {
      const shape = perm.map((p) => x.shape[p]!);
      const own = stridesOf(x.shape);
      const out = new (x.data.constructor as Float32ArrayConstructor)(x.data.length);
      walk(
        shape,
        perm.map((p) => own[p]!),
        0,
        (o, i) => (out[o] = x.data[i]!),
      );
      return { data: out, shape };
    },
    concat(xs, axis) {
      const first = xs[0]!;
      const a = normAxis(axis, first.shape.length);
      const shape = [...first.shape];
      shape[a] = xs.reduce((n, x) => n + x.shape[a]!, 0);
      const outer = sizeOf(first.shape.slice(0, a));
      const out = new (first.data.constructor as Float32ArrayConstructor)(sizeOf(shape));
      let at = 0;
      for (let o = 0; o < outer; o++) {
        for (const x of xs) {
          const block = sizeOf(x.shape.slice(a));
          out.set(x.data.subarray(o * block, (o + 1) * block), at);
          at += block;
        }
      }
      return { data: out, shape };
    },
    slice(x, begin, size) {
      const shape = size.map((s, i) => (s === -1 ? x.shape[i]! - begin[i]! : s));
      const own = stridesOf(x.shape);
      const offset = begin.reduce((n, b, i) => n + b * own[i]!, 0);
      const out = new (x.data.constructor as Float32ArrayConstructor)(sizeOf(shape));
      walk(shape, own, offset, (o, i) => (out[o] = x.data[i]!));
      return { data: out, shape };
    },
    add: (a, b) => elementwise(a, b, (x, y) => x + y),
    sub: (a, b) => elementwise(a, b, (x, y) => x - y),
    mul: (a, b) => elementwise(a, b, (x, y) => x * y),
    scale: (x, s) => map(x, (v) => v * s),
    relu: (x) => map(x, (v) => Math.max(v, 0)),
    // The composition of the other backends: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    gelu: (x) => map(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))),
    matMul(a, b) {
      const ra = a.shape.length;
      const rb = b.shape.length;
      const [m, k] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
      const n = b.shape[rb - 1]!;
      if (b.shape[rb - 2] !== k) throw new Error(`host ops: matMul of [${a.shape}] and [${b.shape}]`);
      const lead = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const la = broadcastStrides(a.shape.slice(0, -2), lead);
      const lb = broadcastStrides(b.shape.slice(0, -2), lead);
      const starts: number[] = [];
      walk(lead, la, 0, (o, i) => (starts[o] = i));
      const out = new Float32Array(sizeOf(lead) * m * n);
      // i-k-j order: the inner loop runs along contiguous rows of b and of the output.
      walk(lead, lb, 0, (o, ib) => {
        const offA = starts[o]! * m * k;
        const offB = ib * k * n;
        const offO = o * m * n;
        for (let i = 0; i < m; i++) {
          for (let p = 0; p < k; p++) {
            const av = a.data[offA + i * k + p]!;
            if (av === 0) continue;
            const rowB = offB + p * n;
            const rowO = offO + i * n;
            for (let j = 0; j < n; j++) out[rowO + j]! += av * b.data[rowB + j]!;
          }
        }
      });
      return { data: out, shape: [...lead, m, n] };
    },
    softmax: (x) =>
      rows(x, (r, out) => {
        const max = rowMax(r);
        let sum = 0;
        for (let i = 0; i < r.length; i++) sum += out[i] = Math.exp(r[i]! - max);
        for (let i = 0; i < r.length; i++) out[i]! /= sum;
      }),
    logSoftmax: (x) =>
      rows(x, (r, out) => {
        const max = rowMax(r);
        let sum = 0;
        for (let i = 0; i < r.length; i++) sum += Math.exp(r[i]! - max);
        const lse = max + Math.log(sum);
        for (let i = 0; i < r.length; i++) out[i] = r[i]! - lse;
      }),
    layerNorm: (x, g, b, eps) =>
      rows(x, (r, out) => {
        let mean = 0;
        for (const v of r) mean += v;
        mean /= r.length;
        let variance = 0;
        for (const v of r) variance += (v - mean) * (v - mean);
        const inv = 1 / Math.sqrt(variance / r.length + eps);
        for (let i = 0; i < r.length; i++) out[i] = (r[i]! - mean) * inv * g.data[i]! + b.data[i]!;
      }),
    gather(table, indices) {
      const row = sizeOf(table.shape.slice(1));
      const out = new (table.data.constructor as Float32ArrayConstructor)(indices.data.length * row);
      indices.data.forEach((t, i) => {
        out.set(table.data.subarray(t * row, (t + 1) * row), i * row);
      });
      return { data: out, shape: [...indices.shape, ...table.shape.slice(1)] };
    },
    oneHot(indices, depth) {
      const out = new Float32Array(indices.data.length * depth);
      indices.data.forEach((t, i) => {
        if (t >= 0 && t < depth) out[i * depth + t] = 1;
      });
      return { data: out, shape: [...indices.shape, depth] };
    },
    select(condition, a, b) {
      const shape = broadcastShape(broadcastShape(condition.shape, a.shape), b.shape);
      const out = new Float32Array(sizeOf(shape));
      const pick: boolean[] = new Array(out.length);
      walk(shape, broadcastStrides(condition.shape, shape), 0, (o, i) => (pick[o] = condition.data[i] !== 0));
      walk(shape, broadcastStrides(a.shape, shape), 0, (o, i) => {
        if (pick[o]) out[o] = a.data[i]!;
      });
      walk(shape, broadcastStrides(b.shape, shape), 0, (o, i) => {
        if (!pick[o]) out[o] = b.data[i]!;
      });
      return { data: out, shape };
    },
    sum(x, axes) {
      const norm = (axes ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, x.shape.length));
      const kept = x.shape.map((d, i) => (norm.includes(i) ? 1 : d));
      const own = stridesOf(kept);
      const out = new Float32Array(sizeOf(kept));
      // Walk the input in order, mapping each element to its output slot (reduced axes stride 0).
      walk(
        x.shape,
        x.shape.map((_, i) => (norm.includes(i) ? 0 : own[i]!)),
        0,
        (o, i) => (out[i]! += x.data[o]!),
      );
      return { data: out, shape: x.shape.filter((_, i) => !norm.includes(i)) };
    },
    dropout() {
      throw new Error('host ops: dropout (the reference runs the model for inference)');
    },
    stopGradient: (x) => x,
  };
  return ops;
}
