import { describe, expect, it } from 'vitest';
import { createTfjsOps } from '../../src/ops.js';
import { withBackend } from '../../src/testing.js';
import type { Tensor, Tf } from '../../src/tf.js';
import type { NamedTensorMap } from '@tensorflow/tfjs-core';
import { WASM_LOG_SOFTMAX_GRAD_KERNEL, WASM_LOG_SOFTMAX_KERNEL, WASM_SOFTMAX_GRAD_KERNEL } from '../../src/wasm/softmax.js';

/** Softmax and log-softmax of each row in float64. */
function reference(values: Float32Array, width: number): { p: Float64Array; logp: Float64Array } {
  const p = new Float64Array(values.length);
  const logp = new Float64Array(values.length);
  for (let r = 0; r < values.length / width; r++) {
    const row = Array.from(values.subarray(r * width, (r + 1) * width));
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    row.forEach((v, c) => {
      logp[r * width + c] = v - lse;
      p[r * width + c] = Math.exp(v - lse);
    });
  }
  return { p, logp };
}

/** Rows of smooth values in [-scale, scale], with a masked (−1e9) and an −∞ entry in every other row. */
function inputs(rows: number, width: number, scale: number): Float32Array {
  const v = Float32Array.from({ length: rows * width }, (_, i) => Math.sin(i * 0.61 + width) * scale);
  for (let r = 0; r < rows; r += 2) {
    if (width > 4) v[r * width + 1] = -1e9;
    if (width > 4) v[r * width + 3] = Number.NEGATIVE_INFINITY;
  }
  return v;
}

async function kernelsOf(t: Tf, f: () => Tensor | Tensor[]): Promise<string[]> {
  const info = await t.profile(() => f() as never);
  return info.kernels.map((k) => k.name);
}

describe('WASM softmax gradient and log-softmax (SIMD loops)', () => {
  it('equal the float64 definition for every width, row count and scale, masked entries exactly 0', async () => {
    await withBackend('wasm', async ({ tf: t }) => {
      const ops = createTfjsOps(t);
      for (const [rows, width, scale] of [[1, 4, 1], [3, 8, 5], [5, 12, 30], [64, 256, 8], [7, 260, 60]] as const) {
        const values = inputs(rows, width, scale);
        const x = t.tensor(values, [rows, width]);
        const { p, logp } = reference(values, width);
        const got = ops.softmax(x).dataSync();
        const gotLog = ops.logSoftmax(x).dataSync();
        for (let i = 0; i < values.length; i++) {
          const at = `[${rows}, ${width}] element ${i}`;
          if (values[i]! < -1e8) expect(got[i], at).toBe(0);
          // A few float32 roundings, plus that of x − max itself (relative error up to |log p|·2⁻²⁴ in exp).
          else expect(Math.abs(got[i]! - p[i]!), at).toBeLessThanOrEqual((1e-6 + 6e-8 * Math.abs(logp[i]!)) * p[i]! + 1e-37);
          if (values[i] === Number.NEGATIVE_INFINITY) expect(gotLog[i], at).toBe(Number.NEGATIVE_INFINITY);
          else expect(Math.abs(gotLog[i]! - logp[i]!), at).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(logp[i]!)));
        }
      }
    });
  });

  it("has exp's float32 accuracy down to underflow", async () => {
    await withBackend('wasm', ({ tf: t }) => {
      // The log-softmax gradient is dy − exp(out) · Σ dy: with dy = [0, 0, 0, 1] and out = [x, x′, x″, −∞]
      // it gives −exp of the first three lanes (SIMD lanes 0–2 of each row) and 1.
      createTfjsOps(t).logSoftmax(t.zeros([1, 4])); // registers the kernels
      const xs = Array.from({ length: 1746 }, (_, i) => Math.fround(-87.3 + i * 0.05));
      const rows = xs.length / 3;
      const out = t.tensor(Float32Array.from({ length: rows * 4 }, (_, i) => (i % 4 === 3 ? Number.NEGATIVE_INFINITY : xs[3 * Math.floor(i / 4) + (i % 4)]!)), [rows, 4]);
      const dy = t.tensor(Float32Array.from({ length: rows * 4 }, (_, i) => (i % 4 === 3 ? 1 : 0)), [rows, 4]);
      const dx = (t.engine().runKernel(WASM_LOG_SOFTMAX_GRAD_KERNEL, { out, dy } as unknown as NamedTensorMap) as Tensor).dataSync();
      let worst = 0;
      for (let i = 0; i < rows * 4; i++) {
        if (i % 4 === 3) expect(dx[i]).toBe(1);
        else worst = Math.max(worst, Math.abs(-dx[i]! - Math.exp(xs[3 * Math.floor(i / 4) + (i % 4)]!)) / Math.exp(xs[3 * Math.floor(i / 4) + (i % 4)]!));
      }
      expect(worst).toBeLessThan(3e-7);
      const under = t.tensor([-88, Number.NEGATIVE_INFINITY, -87.3, 0], [1, 4]);
      const dxUnder = (t.engine().runKernel(WASM_LOG_SOFTMAX_GRAD_KERNEL, { out: under, dy: t.tensor([0, 0, 0, 1], [1, 4]) } as unknown as NamedTensorMap) as Tensor).dataSync();
      expect([Math.abs(dxUnder[0]!), Math.abs(dxUnder[1]!)]).toEqual([0, 0]);
      expect(dxUnder[2]).toBeLessThan(0);
    });
  });

  it('propagates NaN to the whole row, as TensorFlow.js does', async () => {
    await withBackend('wasm', ({ tf: t }) => {
      const ops = createTfjsOps(t);
      const x = t.tensor([1, Number.NaN, 2, 3, 1, 2, 3, 4], [2, 4]);
      for (const y of [ops.softmax(x), ops.logSoftmax(x)]) {
        const v = Array.from(y.dataSync());
        expect(v.slice(0, 4).every(Number.isNaN)).toBe(true);
        expect(v.slice(4).some(Number.isNaN)).toBe(false);
      }
    });
  });

  it('gradients equal TensorFlow.js own softmax and log-softmax, and run on the loops', async () => {
    await withBackend('wasm', async ({ tf: t }) => {
      const own = createTfjsOps(t);
      const theirs = createTfjsOps(t, { wasmKernels: false });
      const [rows, width] = [6, 20];
      const values = inputs(rows, width, 4);
      const weights = t.tensor(Float32Array.from({ length: rows * width }, (_, i) => Math.cos(i * 1.3)), [rows, width]);
      for (const name of ['softmax', 'logSoftmax'] as const) {
        const loss = (o: typeof own) => (x: Tensor) => t.sum(t.mul(t.where(t.isFinite(o[name](x)), o[name](x), t.zerosLike(x)), weights));
        const x = t.tensor(values, [rows, width]);
        const want = t.grad(loss(theirs))(x).dataSync();
        const got = t.grad(loss(own))(x).dataSync();
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${name} element ${i}`).toBeLessThan(2e-6);
        const names = await kernelsOf(t, () => t.grad(loss(own))(x));
        const [forward, backward] = name === 'softmax' ? ['Softmax', WASM_SOFTMAX_GRAD_KERNEL] : [WASM_LOG_SOFTMAX_KERNEL, WASM_LOG_SOFTMAX_GRAD_KERNEL];
        expect(names).toContain(forward);
        expect(names).toContain(backward);
      }
    });
  });

  it('falls back to TensorFlow.js where the last axis is not a multiple of 4, or with wasmKernels off', async () => {
    await withBackend('wasm', async ({ tf: t }) => {
      const x = t.tensor(inputs(3, 6, 2), [3, 6]);
      const ops = createTfjsOps(t);
      expect(await kernelsOf(t, () => [ops.logSoftmax(x)])).not.toContain(WASM_LOG_SOFTMAX_KERNEL);
      const { p } = reference(inputs(3, 6, 2), 6);
      const got = ops.softmax(x).dataSync();
      for (let i = 0; i < p.length; i++) expect(Math.abs(got[i]! - p[i]!)).toBeLessThan(1e-6);
      const off = createTfjsOps(t, { wasmKernels: false });
      const y = t.tensor(inputs(2, 8, 2), [2, 8]);
      const names = await kernelsOf(t, () => [off.softmax(y), off.logSoftmax(y)]);
      expect(names.filter((n) => n.startsWith('StaircaseSoftmax') || n.startsWith('StaircaseLogSoftmax'))).toEqual([]);
      const gradNames = await kernelsOf(t, () => t.grad((a: Tensor) => t.sum(t.mul(off.softmax(a), a)))(y));
      expect(gradNames).not.toContain(WASM_SOFTMAX_GRAD_KERNEL);
    });
  });
});
