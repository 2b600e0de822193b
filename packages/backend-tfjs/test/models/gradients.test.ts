import { type Model, crossEntropy } from '@staircase/core';
import { describe, expect, it } from 'vitest';
import { createTfjsOps } from '../../src/ops.js';
import { selectBackend } from '../../src/select.js';
import type { Tensor } from '../../src/tf.js';
import { tensorParams, tinyKinds, tinyModel } from './kinds.js';

const T = 9;
const tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3];
const targets = [1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8];

describe.each(['cpu', 'wasm'] as const)('gradients on %s match finite differences', (backend) => {
  it.each(Object.keys(tinyKinds))('%s', async (kind) => {
    const { tf } = await selectBackend({ backend });
    const ops = createTfjsOps(tf);
    const model: Model = tinyModel(kind);
    const params = tensorParams(tf, model);
    const names = ['embed', 'pos.rel', 'layers.0.attn.wq', 'layers.0.attn.wk', 'layers.1.attn.wv', 'layers.0.ffn.w1', 'layers.1.ln2.g', 'out.w'];
    const loss = (p: Record<string, Tensor>) =>
      tf.tidy(() => {
        const { logits } = model.forward(ops, p, ops.constantInt(tokens, [2, T]), null);
        return crossEntropy(ops, logits, ops.constantInt(targets, [2, T]), tf.ones([2, T]), 2 * T) as Tensor;
      });
    const grads = tf.grads((...xs: Tensor[]) => loss({ ...params, ...Object.fromEntries(names.map((n, i) => [n, xs[i]!])) }))(
      names.map((n) => params[n]!),
    );
    const eps = 1e-2;
    let checked = 0;
    for (const [i, name] of names.entries()) {
      const g = grads[i]!.dataSync();
      const base = params[name]!.dataSync();
      // The coordinates with the largest gradients, where float32 finite differences are reliable.
      const order = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3);
      for (const j of order) {
        const at = (delta: number) => {
          const v = Float32Array.from(base);
          v[j]! += delta;
          const p = { ...params, [name]: tf.tensor(v, params[name]!.shape) };
          const l = loss(p).dataSync()[0]!;
          p[name]!.dispose();
          return l;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(fd - g[j]!), `${name}[${j}]: fd ${fd} vs ${g[j]}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(g[j]!));
        checked++;
      }
    }
    expect(checked).toBe(names.length * 3);
    tf.dispose([...grads, ...Object.values(params)]);
  });
});
