import { describe, expect, it } from 'vitest';
import { createTfjsOps } from '../../src/ops.js';
import { withBackend } from '../../src/testing.js';
import type { Tensor, Tf } from '../../src/tf.js';
import { WASM_LAYER_NORM_GRAD_KERNEL, WASM_LAYER_NORM_KERNEL } from '../../src/wasm/layer-norm.js';

const wave = (n: number, a: number, b: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * a + b) * scale + (i % 7) * 0.1 * scale);

/** LayerNorm of each row in float64, and the gradients of `Σ w · LN(x)` by the closed form. */
function reference(x: Float32Array, g: Float32Array, b: Float32Array, w: Float32Array, eps: number) {
  const width = g.length;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dg = new Float64Array(width);
  const db = new Float64Array(width);
  for (let r = 0; r < x.length / width; r++) {
    const row = Array.from(x.subarray(r * width, (r + 1) * width));
    const mean = row.reduce((s, v) => s + v, 0) / width;
    const rstd = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / width + eps);
    const xh = row.map((v) => (v - mean) * rstd);
    const dxh = xh.map((_, c) => w[r * width + c]! * g[c]!);
    const m1 = dxh.reduce((s, v) => s + v, 0) / width;
    const m2 = dxh.reduce((s, v, c) => s + v * xh[c]!, 0) / width;
    xh.forEach((v, c) => {
      const i = r * width + c;
      y[i] = v * g[c]! + b[c]!;
      dx[i] = rstd * (dxh[c]! - m1 - v * m2);
      dg[c]! += w[i]! * v;
      db[c]! += w[i]!;
    });
  }
  return { y, dx, dg, db };
}

async function kernelNames(t: Tf, f: () => Tensor[]): Promise<string[]> {
  return (await t.profile(() => f() as never)).kernels.map((k) => k.name);
}

describe('WASM LayerNorm (SIMD loops)', () => {
  it('values and gradients (x, gain, bias) equal the float64 definition, on the loops', async () => {
    await withBackend('wasm', async ({ tf: t }) => {
      const ops = createTfjsOps(t);
      for (const [shape, eps, scale] of [[[1, 4], 1e-5, 1], [[3, 8], 1e-3, 10], [[2, 5, 12], 1e-5, 0.01], [[2, 32, 256], 1e-5, 3], [[7, 260], 1e-6, 100]] as const) {
        const n = (shape as readonly number[]).reduce((p, q) => p * q, 1);
        const width = shape[shape.length - 1]!;
        const [xv, gv, bv, wv] = [wave(n, 0.37, 1, scale), wave(width, 0.9, 2, 1), wave(width, 1.3, 3, 0.5), wave(n, 0.77, 4, 1)];
        const [x, g, b, w] = [t.tensor(xv, [...shape]), t.tensor(gv, [width]), t.tensor(bv, [width]), t.tensor(wv, [...shape])];
        const want = reference(xv, gv, bv, wv, eps);
        const f = (a: Tensor, c: Tensor, d: Tensor) => t.sum(t.mul(ops.layerNorm(a, c, d, eps), w));
        const got = [ops.layerNorm(x, g, b, eps), ...t.grads(f)([x, g, b])].map((v) => v.dataSync());
        const wants = [want.y, want.dx, want.dg, want.db];
        ['y', 'dx', 'dg', 'db'].forEach((name, k) => {
          const tol = name === 'dx' ? 2e-5 : 1e-5;
          for (let i = 0; i < wants[k]!.length; i++) {
            expect(Math.abs(got[k]![i]! - wants[k]![i]!), `[${shape}] ${name} ${i}: ${got[k]![i]} vs ${wants[k]![i]}`).toBeLessThan(tol * Math.max(1, Math.abs(wants[k]![i]!)));
          }
        });
        const names = await kernelNames(t, () => t.grads(f)([x, g, b]));
        expect(names).toContain(WASM_LAYER_NORM_KERNEL);
        expect(names).toContain(WASM_LAYER_NORM_GRAD_KERNEL);
      }
    });
  });

  it('keeps no tensor beyond the result, and falls back where the width is not a multiple of 4', async () => {
    await withBackend('wasm', async ({ tf: t }) => {
      const ops = createTfjsOps(t);
      const [x, g, b] = [t.tensor(wave(24, 0.3, 0, 2), [4, 6]), t.tensor(wave(6, 1, 1, 1), [6]), t.tensor(wave(6, 2, 1, 1), [6])];
      expect(await kernelNames(t, () => [ops.layerNorm(x, g, b, 1e-5)])).not.toContain(WASM_LAYER_NORM_KERNEL);
      const [x8, g8, b8] = [t.tensor(wave(32, 0.3, 0, 2), [4, 8]), t.tensor(wave(8, 1, 1, 1), [8]), t.tensor(wave(8, 2, 1, 1), [8])];
      const before = t.memory().numTensors;
      const y = ops.layerNorm(x8, g8, b8, 1e-5);
      expect(t.memory().numTensors).toBe(before + 1);
      const grads = t.tidy(() => t.grads((a: Tensor) => t.sum(ops.layerNorm(a, g8, b8, 1e-5)))([x8]));
      expect(t.memory().numTensors).toBe(before + 1 + grads.length);
      t.dispose([y, ...grads]);
    });
  });
});
