import { describe, expect, it } from 'vitest';
import { ReplicaKernels } from '../../src/parallel/replica-kernels.js';
import { ReplicaMemory } from '../../src/parallel/replica-memory.js';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 97 + i * 1.7) * 3));

describe('replica kernels (WASM SIMD on shared memory)', () => {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
  const kernels = new ReplicaKernels(memory);
  const f = new Float32Array(memory.buffer);

  it('reduce: replica-order float32 sums, in place into one source, with float64 squares, for every tail length', () => {
    for (const n of [0, 1, 3, 4, 5, 8, 13]) {
      for (const count of [1, 2, 3]) {
        const stride = 64; // floats between the sources
        const start = 4 + (n % 3); // not 16-byte aligned for some n
        const inputs = Array.from({ length: count }, (_, r) => values(n, r + n));
        for (const [r, v] of inputs.entries()) f.set(v, start + r * stride);
        const sources = inputs.map((_, r) => f.subarray(start + r * stride, start + r * stride + n));
        const into = count - 1; // the last source receives the sum
        const squares = kernels.reduce(sources[into]!, sources);
        let want = 0;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (const v of inputs) s = Math.fround(s + v[i]!);
          expect(sources[into]![i], `n ${n}, count ${count}, element ${i}`).toBe(s);
          want += s * s;
        }
        expect(squares).toBeCloseTo(want, 9);
      }
    }
  });

  it('adamw: the float32 AdamW update, vector body and scalar tail alike', () => {
    const n = 11;
    const [g, p, m, v] = [values(n, 1), values(n, 2), values(n, 3).map(Math.abs), values(n, 4).map((x) => x * x)];
    const at = [0, 16, 32, 48];
    for (const [i, a] of [g, p, m, v].entries()) f.set(a, at[i]!);
    const view = (i: number) => f.subarray(at[i]!, at[i]! + n);
    const c = { b1: 0.9, b2: 0.999, step: 1e-3 / (1 - 0.9 ** 3), unbias2: 1 / (1 - 0.999 ** 3), eps: 1e-8, keep: 1 - 1e-3 * 0.01, scale: 0.5 };
    kernels.adamw(view(0), view(1), view(2), view(3), c);
    for (let i = 0; i < n; i++) {
      const gi = g[i]! * c.scale;
      const m1 = m[i]! * c.b1 + gi * (1 - c.b1);
      const v1 = v[i]! * c.b2 + gi * gi * (1 - c.b2);
      const p1 = p[i]! * c.keep - (m1 * c.step) / (Math.sqrt(v1 * c.unbias2) + c.eps);
      expect(view(2)[i]).toBeCloseTo(m1, 5);
      expect(view(3)[i]).toBeCloseTo(v1, 5);
      expect(Math.abs(view(1)[i]! - p1), `parameter ${i}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(p1)));
      expect(view(1)[i]).not.toBe(p[i]); // it moved
    }
  });

  it('lays out parameters, moments and gradient slots without overlap, each 16-byte aligned', () => {
    const shared = ReplicaMemory.allocate(3, 10);
    const { params, m, v, partials } = shared.optimizer;
    const spans = [partials, params, m, v].map((a) => [a.byteOffset, a.byteOffset + a.byteLength] as const);
    for (const [from] of spans.slice(1)) expect(from % 16).toBe(0);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    // Three replicas' vectors of 10 (9 parameters + loss); the sum lands in the caller's slot.
    for (let r = 0; r < 3; r++) shared.slots.write(1, r, Float32Array.from({ length: 10 }, (_, i) => i + 10 * r));
    const { values: sum } = shared.slots.reduceInto(1, 1, 0, 9);
    expect([...sum]).toEqual(Array.from({ length: 9 }, (_, i) => 3 * i + 30));
    expect([...shared.slots.sum(1, 9, 10)]).toEqual([9 + 19 + 29]); // the loss, read-only
    expect(params.every((x) => x === 0)).toBe(true); // slots never touch the parameters
  });
});
