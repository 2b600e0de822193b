import type { ParamSpec } from '@staircase/core';
import { describe, expect, it } from 'vitest';
import { AdamW } from '../../src/adamw.js';
import { withBackend } from '../../src/testing.js';
import { WASM_ADAMW_KERNEL } from '../../src/wasm/adamw.js';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 31 + i * 0.7) * 2);

// 1 027 floats: a SIMD body and a scalar tail; one parameter decays, one does not.
const specs: ParamSpec[] = [
  { name: 'w', shape: [13, 79], init: 'zeros', decay: true },
  { name: 'b', shape: [6], init: 'zeros', decay: false },
];

describe('AdamW on the WASM backend: one SIMD loop per parameter', () => {
  it('matches the TensorFlow.js-op update over several steps (decay, no decay, a missing gradient, clipping scale)', async () => {
    await withBackend('wasm', async ({ tf }) => {
      const options = { betas: [0.9, 0.95] as const, eps: 1e-8, weightDecay: 0.1 };
      const run = async (wasmKernel: boolean) => {
        const vars = new Map(
          specs.map((s, i) => {
            const init = tf.tensor(values(s.shape[0]! * (s.shape[1] ?? 1), i + 1), [...s.shape]);
            const variable = tf.variable(init, true, `${s.name}-${wasmKernel}`);
            init.dispose(); // the variable keeps its own reference to the data
            return [s.name, variable] as const;
          }),
        );
        const opt = new AdamW(tf, specs, options, wasmKernel);
        for (let step = 0; step < 4; step++) {
          const grads = { w: tf.tensor(values(13 * 79, 10 + step), [13, 79]), ...(step === 2 ? {} : { b: tf.tensor(values(6, 20 + step), [6]) }) };
          opt.apply(vars, grads, 1e-2 * (step + 1), step === 1 ? 0.25 : 1);
          for (const g of Object.values(grads)) g.dispose();
        }
        const params = Object.fromEntries([...vars].map(([n, v]) => [n, v.dataSync() as Float32Array]));
        const state = await opt.state();
        for (const v of vars.values()) v.dispose();
        opt.dispose();
        return { params, state };
      };
      const before = tf.memory().numTensors;
      const fused = await run(true);
      const plain = await run(false);
      expect(tf.memory().numTensors).toBe(before);
      for (const name of ['w', 'b']) {
        for (const [got, want] of [
          [fused.params[name]!, plain.params[name]!],
          [fused.state.m[name]!, plain.state.m[name]!],
          [fused.state.v[name]!, plain.state.v[name]!],
        ] as const) {
          expect(got.length).toBe(want.length);
          for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${name}[${i}]`).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want[i]!)));
        }
      }
      expect(fused.state.step).toBe(4);
      expect(tf.getKernel(WASM_ADAMW_KERNEL, 'wasm')).toBeDefined();
    });
  });

  it('writes new tensors: a reshape of the old parameter (sharing its memory) keeps its values', async () => {
    await withBackend('wasm', ({ tf }) => {
      const p = tf.tidy(() => tf.variable(tf.tensor(values(1027, 3), [13, 79]), true, 'alias-p'));
      const alias = tf.reshape(p, [-1]);
      const old = (alias.dataSync() as Float32Array).slice();
      const opt = new AdamW(tf, specs.slice(0, 1), { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
      const g = tf.ones([13, 79]);
      opt.apply(new Map([['w', p]]), { w: g }, 0.1, 1);
      expect([...(alias.dataSync() as Float32Array)]).toEqual([...old]);
      // First step, constant gradient: m̂/√v̂ = 1, so every parameter moves by lr.
      const now = p.dataSync() as Float32Array;
      for (let i = 0; i < old.length; i++) expect(now[i]).toBeCloseTo(old[i]! - 0.1, 5);
      for (const t of [p, alias, g]) t.dispose();
      opt.dispose();
    });
  });
});
