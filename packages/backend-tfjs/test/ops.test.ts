import { beforeAll, describe, expect, it } from 'vitest';
import { relativeScores } from '@staircase/core';
import { type TfjsOps, createTfjsOps } from '../src/ops.js';
import { selectBackend } from '../src/select.js';
import { gradientSamples, withBackend } from '../src/testing.js';
import type { Tensor, Tf } from '../src/tf.js';
import { WASM_MATMUL_KERNEL, wasmMatMulFused } from '../src/wasm/matmul.js';
import { WASM_GATHER_ROWS_KERNEL, WASM_SCATTER_KERNEL, WASM_SUM_ROWS_KERNEL, wasmSumRows } from '../src/wasm/heap.js';
import { WASM_CONCAT_KERNEL, WASM_SLICE_KERNEL } from '../src/wasm/copy.js';

let tf: Tf;
let ops: TfjsOps;
beforeAll(async () => {
  ({ tf } = await selectBackend({ backend: 'cpu' }));
  ops = createTfjsOps(tf, { seed: 5 });
});

const values = (x: Tensor) => Array.from(x.dataSync());
const close = (got: Tensor, want: number[], tol = 1e-5) => {
  const g = values(got);
  expect(g.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(g[i]! - want[i]!), `element ${i}: ${g[i]} vs ${want[i]}`).toBeLessThan(tol);
};

describe('tfjs ops: values on CPU', () => {
  it('constants, shapes, reshape, transpose, concat, slice', () => {
    const x = ops.constant([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(ops.shape(x)).toEqual([2, 3]);
    expect(ops.constantInt([1, 2], [2]).dtype).toBe('int32');
    close(ops.zeros([2]), [0, 0]);
    close(ops.reshape(x, [3, 2]), [1, 2, 3, 4, 5, 6]);
    close(ops.transpose(x, [1, 0]), [1, 4, 2, 5, 3, 6]);
    close(ops.concat([x, x], -1), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    close(ops.slice(x, [0, 1], [2, -1]), [2, 3, 5, 6]);
  });

  it('elementwise with broadcasting, scale, relu, gelu', () => {
    const a = ops.constant([1, -2, 3, -4], [2, 2]);
    const b = ops.constant([10, 20], [2]);
    close(ops.add(a, b), [11, 18, 13, 16]);
    close(ops.sub(a, b), [-9, -22, -7, -24]);
    close(ops.mul(a, b), [10, -40, 30, -80]);
    close(ops.scale(a, 0.5), [0.5, -1, 1.5, -2]);
    close(ops.relu(a), [1, 0, 3, 0]);
    const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    close(ops.gelu(ops.constant([-1.5, 0, 0.5, 2], [4])), [gelu(-1.5), 0, gelu(0.5), gelu(2)]);
    // Reference values of the tanh approximation.
    close(ops.gelu(ops.constant([1], [1])), [0.8411920], 1e-6);
  });

  it('matMul: 2-D, batched, and rank-3 by rank-2 (broadcast right operand)', () => {
    const a = ops.constant([1, 2, 3, 4], [2, 2]);
    const b = ops.constant([5, 6, 7, 8], [2, 2]);
    close(ops.matMul(a, b), [19, 22, 43, 50]);
    const a3 = ops.constant([1, 2, 3, 4, 0, 1, 1, 0], [2, 2, 2]);
    close(ops.matMul(a3, b), [19, 22, 43, 50, 7, 8, 5, 6]);
    const a4 = ops.reshape(a3, [1, 2, 2, 2]);
    const b4 = ops.reshape(ops.concat([b, b], 0), [1, 2, 2, 2]);
    close(ops.matMul(a4, b4), [19, 22, 43, 50, 7, 8, 5, 6]);
    expect(ops.shape(ops.matMul(ops.zeros([3, 4, 5, 2]), ops.zeros([2, 7])))).toEqual([3, 4, 5, 7]);
    expect(ops.shape(ops.matMul(ops.zeros([5, 2]), ops.zeros([3, 2, 7])))).toEqual([3, 5, 7]);
  });

  it('softmax, logSoftmax, layerNorm over the last axis', () => {
    const x = ops.constant([1, 2, 3, 0, 0, 0], [2, 3]);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0]! + e[1]! + e[2]!;
    close(ops.softmax(x), [e[0]! / z, e[1]! / z, e[2]! / z, 1 / 3, 1 / 3, 1 / 3]);
    close(ops.logSoftmax(x), [1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z), -Math.log(3), -Math.log(3), -Math.log(3)]);
    // x = [1, 2, 3]: mean 2, variance 2/3.
    const s = 1 / Math.sqrt(2 / 3 + 1e-5);
    const g = ops.constant([1, 2, 3], [3]);
    const b = ops.constant([0, 1, 0], [3]);
    close(ops.layerNorm(x, g, b, 1e-5), [-s, 1, 3 * s, 0, 1, 0], 1e-4);
  });

  it('gather, oneHot, sum', () => {
    const table = ops.constant([0, 1, 10, 11, 20, 21], [3, 2]);
    const idx = ops.constantInt([2, 0, 1, 2], [2, 2]);
    const g = ops.gather(table, idx);
    expect(ops.shape(g)).toEqual([2, 2, 2]);
    close(g, [20, 21, 0, 1, 10, 11, 20, 21]);
    const oh = ops.oneHot(ops.constantInt([1, 0], [2]), 3);
    expect(oh.dtype).toBe('float32');
    close(oh, [0, 1, 0, 1, 0, 0]);
    const x = ops.constant([1, 2, 3, 4, 5, 6], [2, 3]);
    close(ops.sum(x), [21]);
    close(ops.sum(x, [0]), [5, 7, 9]);
    close(ops.sum(x, [1]), [6, 15]);
  });

  it('dropout: inverted scaling, rate honoured, same masks for the same seed and stream', () => {
    const x = tf.ones([2000]);
    const y = values(ops.dropout(x, 0.25));
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 2000 - 0.75)).toBeLessThan(0.05);
    const twin = createTfjsOps(tf, { seed: 5 });
    ops.setRandomStream(3);
    twin.setRandomStream(3);
    const m1 = values(ops.dropout(x, 0.5));
    const m2 = values(twin.dropout(x, 0.5));
    expect(m1).toEqual(m2);
    expect(values(ops.dropout(x, 0.5))).not.toEqual(m1); // the next draw differs
    expect(values(createTfjsOps(tf, { seed: 6 }).dropout(x, 0.5))).not.toEqual(m1);
    expect(ops.dropout(x, 0)).toBe(x);
  });

  it('stopGradient: identity forward, zero gradient', () => {
    const x = ops.constant([1, 2], [2]);
    close(ops.stopGradient(x), [1, 2]);
    const [g] = tf.grads((a: Tensor) => tf.sum(tf.add(tf.mul(ops.stopGradient(a), a), a)))([x]);
    close(g!, [2, 3]); // d/da (stop(a)·a + a) = stop(a) + 1
  });
});

/** Scalar test functions of every differentiable op: f(...inputs) = Σ op(...) · w. */
function cases(o: TfjsOps, t: Tf): { name: string; inputs: () => Tensor[]; f: (...xs: Tensor[]) => Tensor }[] {
  const rnd = (shape: number[], seed: number, lo = -1, hi = 1) => t.randomUniform(shape, lo, hi, 'float32', seed);
  const weigh = (y: Tensor, seed: number) => t.sum(t.mul(y, rnd(y.shape, 1000 + seed)));
  const idx = () => o.constantInt([2, 0, 2, 1, 3, 2], [2, 3]);
  return [
    { name: 'add/sub/mul (broadcast)', inputs: () => [rnd([2, 3], 1), rnd([3], 2)], f: (a, b) => weigh(o.mul(o.sub(o.add(a!, b!), b!), b!), 1) },
    { name: 'add/mul (bias and gain over rank 3)', inputs: () => [rnd([2, 3, 4], 22), rnd([4], 23), rnd([3, 4], 24)], f: (a, b, c) => weigh(o.add(o.mul(o.add(a!, b!), c!), o.mul(b!, a!)), 15) },
    { name: 'scale', inputs: () => [rnd([4], 3)], f: (a) => weigh(o.scale(a!, -1.5), 2) },
    { name: 'relu', inputs: () => [t.add(rnd([6], 4, 0.2, 1), t.tensor([0, -2, 0, -2, 0, -2]))], f: (a) => weigh(o.relu(a!), 3) },
    { name: 'gelu', inputs: () => [rnd([6], 5, -3, 3)], f: (a) => weigh(o.gelu(a!), 4) },
    { name: 'matMul 2-D', inputs: () => [rnd([3, 4], 6), rnd([4, 2], 7)], f: (a, b) => weigh(o.matMul(a!, b!), 5) },
    { name: 'matMul rank-3 × rank-2', inputs: () => [rnd([2, 3, 4], 8), rnd([4, 2], 9)], f: (a, b) => weigh(o.matMul(a!, b!), 6) },
    { name: 'matMul batched rank-4', inputs: () => [rnd([2, 2, 3, 4], 10), rnd([2, 2, 4, 3], 11)], f: (a, b) => weigh(o.matMul(a!, b!), 7) },
    { name: 'softmax', inputs: () => [rnd([2, 5], 12, -2, 2)], f: (a) => weigh(o.softmax(a!), 8) },
    { name: 'logSoftmax', inputs: () => [rnd([2, 5], 13, -2, 2)], f: (a) => weigh(o.logSoftmax(a!), 9) },
    { name: 'layerNorm', inputs: () => [rnd([2, 6], 14, -2, 2), rnd([6], 15, 0.5, 1.5), rnd([6], 16)], f: (x, g, b) => weigh(o.layerNorm(x!, g!, b!, 1e-5), 10) },
    { name: 'layerNorm rank 3', inputs: () => [rnd([2, 2, 5], 25, -2, 2), rnd([5], 26, 0.5, 1.5), rnd([5], 27)], f: (x, g, b) => weigh(o.layerNorm(x!, g!, b!, 1e-3), 16) },
    { name: 'gather', inputs: () => [rnd([4, 3], 17)], f: (tab) => weigh(o.gather(tab!, idx()), 11) },
    { name: 'reshape/transpose/concat/slice', inputs: () => [rnd([2, 3], 18), rnd([2, 2], 19)], f: (a, b) => weigh(o.slice(o.concat([o.transpose(o.reshape(a!, [3, 2]), [1, 0]), b!], 1), [0, 1], [2, 3]), 12) },
    { name: 'sum', inputs: () => [rnd([2, 3, 2], 20)], f: (a) => weigh(o.sum(o.mul(a!, a!), [1]), 13) },
    { name: 'dropout (fixed stream)', inputs: () => [rnd([8], 21)], f: (a) => { o.setRandomStream(1); return weigh(o.dropout(a!, 0.3), 14); } },
  ];
}

function expectGradients(t: Tf, o: TfjsOps) {
  for (const c of cases(o, t)) {
    const inputs = c.inputs();
    const samples = gradientSamples(t, c.f, inputs, { eps: 1e-2 });
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) {
      expect(Math.abs(s.analytic - s.numeric), `${c.name}: input ${s.input}[${s.index}] analytic ${s.analytic} vs numeric ${s.numeric}`).toBeLessThan(
        2e-3 + 1e-2 * Math.abs(s.analytic),
      );
    }
    t.dispose(inputs);
  }
}

describe('relativeScores (core) on tfjs ops', () => {
  // q · P[:, clip(δ + i − j)] computed entry by entry, for queries at the last Tq of Tk positions.
  const direct = (q: number[], table: number[], B: number, H: number, tq: number, tk: number, hd: number, maxD: number) => {
    const out: number[] = [];
    for (let bh = 0; bh < B * H; bh++)
      for (let i = 0; i < tq; i++)
        for (let j = 0; j < tk; j++) {
          const d = Math.min(Math.max(tk - tq + i - j, 0), maxD - 1);
          let s = 0;
          for (let c = 0; c < hd; c++) s += q[(bh * tq + i) * hd + c]! * table[c * maxD + d]!;
          out.push(s);
        }
    return out;
  };

  it.each([
    [1, 7],
    [3, 3],
    [4, 9],
    [5, 12],
  ])('Tq %i, Tk %i: exact everywhere, and with futureMasked wherever d ≥ −1', (tq, tk) => {
    const [B, H, hd, maxD] = [2, 2, 3, 6];
    const q = Array.from({ length: B * H * tq * hd }, (_, i) => Math.sin(i * 1.3));
    const table = Array.from({ length: hd * maxD }, (_, i) => Math.cos(i * 0.7));
    const want = direct(q, table, B, H, tq, tk, hd, maxD);
    const qT = ops.constant(q, [B, H, tq, hd]);
    const pT = ops.constant(table, [hd, maxD]);
    close(relativeScores(ops, qT, pT, tk), want);
    const narrow = values(relativeScores(ops, qT, pT, tk, { futureMasked: true }));
    expect(narrow.length).toBe(want.length);
    for (let n = 0; n < want.length; n++) {
      const [i, j] = [Math.floor(n / tk) % tq, n % tk];
      if (tk - tq + i - j >= -1) expect(Math.abs(narrow[n]! - want[n]!), `entry ${n}`).toBeLessThan(1e-5);
      else expect(Number.isFinite(narrow[n]!)).toBe(true);
    }
  });
});

describe('tfjs ops: gradients match finite differences', () => {
  it('on CPU (native gather gradient, TF.js transposed matmuls)', () => {
    expectGradients(tf, createTfjsOps(tf, { gatherGradient: 'native', explicitTransposes: false }));
  });
  it('on CPU (one-hot gather gradient, explicit transposes)', () => {
    expectGradients(tf, createTfjsOps(tf, { gatherGradient: 'one-hot', explicitTransposes: true }));
  });
  it('on WASM without its own kernels (one-hot gather gradient, explicit transposes)', async () => {
    await withBackend('wasm', ({ tf: t }) => expectGradients(t, createTfjsOps(t, { wasmKernels: false })));
  });
  it('on WASM (auto: own kernels: SIMD matMul, scatter-add gather gradient, fused row sums)', async () => {
    await withBackend('wasm', ({ tf: t }) => {
      expect(t.getKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined(); // why the one-hot path exists
      const o = createTfjsOps(t);
      expect(o.name).toBe('tfjs-wasm');
      // WASM's OneHot kernel writes int32 bits whatever dtype is asked; ours must be real floats.
      expect(Array.from(o.oneHot(o.constantInt([1, 0], [2]), 2).dataSync())).toEqual([0, 1, 1, 0]);
      expectGradients(t, o);
      // The checks above ran this package's kernels (registered on first use), not the fallbacks.
      expect(t.getKernel(WASM_MATMUL_KERNEL, 'wasm')).toBeDefined();
      // selectBackend enabled relaxed SIMD, so the kernel runs fused multiply-adds.
      expect(wasmMatMulFused(t)).toBe(true);
      expect(t.getKernel(WASM_SCATTER_KERNEL, 'wasm')).toBeDefined();
      expect(t.getKernel(WASM_SUM_ROWS_KERNEL, 'wasm')).toBeDefined();
    });
  });
  it('gather through WASM with the native gradient fails (the reason for the custom one)', async () => {
    await withBackend('wasm', ({ tf: t }) => {
      const o = createTfjsOps(t, { gatherGradient: 'native' });
      const table = t.ones([3, 2]);
      expect(() => t.grad((x: Tensor) => t.sum(o.gather(x, o.constantInt([0, 2], [2]))))(table)).toThrow();
    });
  });
});

describe('tfjs ops: slice and concat by block copy on WASM', () => {
  it('equal the backend\'s own slice and concat for every rank, region and axis, float32 and int32', async () => {
    await withBackend('wasm', ({ tf: t }) => {
      const o = createTfjsOps(t);
      let seed = 7;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      for (let trial = 0; trial < 60; trial++) {
        const rank = 1 + (trial % 4);
        const shape = Array.from({ length: rank }, () => 1 + next(6));
        const dtype = trial % 3 === 0 ? 'int32' : 'float32';
        const x = t.tidy(() => t.cast(t.reshape(t.range(0, shape.reduce((p, q) => p * q, 1)), shape), dtype));
        const begin = shape.map((n) => next(n));
        const size = shape.map((n, d) => (next(4) === 0 ? -1 : next(n - begin[d]! + 1)));
        expect(values(o.slice(x, begin, size)), `slice ${JSON.stringify({ shape, begin, size })}`).toEqual(values(t.slice(x, begin, size)));
        const axis = next(rank) - (trial % 2 === 0 ? rank : 0); // negative half the time
        const other = t.tidy(() => {
          const s = [...shape];
          s[(axis + rank) % rank] = 1 + next(3);
          return t.cast(t.randomUniform(s, -9, 9, 'float32', trial), dtype);
        });
        expect(values(o.concat([x, other, x], axis)), `concat ${JSON.stringify({ shape, axis })}`).toEqual(values(t.concat([x, other, x], axis)));
        t.dispose([x, other]);
      }
      expect(t.getKernel(WASM_SLICE_KERNEL, 'wasm')).toBeDefined();
      expect(t.getKernel(WASM_CONCAT_KERNEL, 'wasm')).toBeDefined();
    });
  });
  it('gather by row copies equals the backend\'s GatherV2 (float32 and int32, rank 1 to 3), and refuses an index out of range', async () => {
    await withBackend('wasm', ({ tf: t }) => {
      const o = createTfjsOps(t);
      for (const shape of [[7], [7, 5], [7, 3, 2]]) {
        for (const dtype of ['float32', 'int32'] as const) {
          const table = t.tidy(() => t.cast(t.randomUniform(shape, -50, 50, 'float32', 3), dtype));
          const ids = o.constantInt([6, 0, 3, 3, 1, 6], [2, 3]);
          const got = o.gather(table, ids);
          expect(got.shape).toEqual([2, 3, ...shape.slice(1)]);
          expect(got.dtype).toBe(dtype);
          expect(values(got), `${dtype} ${JSON.stringify(shape)}`).toEqual(values(t.gather(table, ids)));
          t.dispose([table, ids, got]);
        }
      }
      expect(t.getKernel(WASM_GATHER_ROWS_KERNEL, 'wasm')).toBeDefined();
      const table = t.ones([4, 2]);
      expect(() => o.gather(table, o.constantInt([1, 4], [2]))).toThrow('GatherV2: the index value 4 is not in [0, 3]');
      table.dispose();
    });
  });
});

describe('tfjs ops: Identity on WASM', () => {
  it('is a second reference to the buffer once the ops run (no copy), and outlives the original', async () => {
    await withBackend('wasm', ({ tf: t }) => {
      const o = createTfjsOps(t);
      t.dispose(o.add(t.ones([2]), t.ones([2]))); // the ops install it with their heap kernels
      const x = t.tensor([1, 2, 3]);
      const buffers = t.backend().numDataIds();
      const y = t.clone(x);
      expect(t.backend().numDataIds()).toBe(buffers);
      x.dispose();
      expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
      y.dispose();
      expect(t.backend().numDataIds()).toBe(buffers - 1);
      // A gradient that reads a saved input (multiply saves both) after the forward pass.
      const a = t.tensor([2, 3]);
      const g = t.grad((v: Tensor) => t.sum(t.mul(v, v)))(a);
      expect(Array.from(g.dataSync())).toEqual([4, 6]);
      t.dispose([a, g]);
    });
  });
});

describe('tfjs ops: row sums on WASM (bias and gain gradients)', () => {
  it('equal float64 sums of the rows, in order, for every width (SIMD groups and tail) and row count', async () => {
    await withBackend('wasm', ({ tf: t }) => {
      for (const rows of [0, 1, 7, 1024]) {
        for (const width of [1, 3, 4, 5, 8, 13, 256]) {
          const values = Float32Array.from({ length: rows * width }, (_, i) => Math.fround(Math.sin(i * 0.37 + width) * 1e3 + 1 / (1 + (i % 17))));
          const x = t.tensor(values, [rows, width]);
          const got = wasmSumRows(t, x);
          const want = new Float64Array(width);
          for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) want[c]! += values[r * width + c]!;
          expect([...(got.dataSync() as Float32Array)], `[${rows}, ${width}]`).toEqual([...Float32Array.from(want)]);
          x.dispose();
          got.dispose();
        }
      }
      expect(t.getKernel(WASM_SUM_ROWS_KERNEL, 'wasm')).toBeDefined();
    });
  });
});
