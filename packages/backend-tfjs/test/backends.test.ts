import { describe, expect, it } from 'vitest';
import { type BackendName, BackendUnavailableError, selectBackend } from '../src/select.js';
import { withBackend } from '../src/testing.js';
import { createTrainer } from '../src/train.js';
import { periodicBatch, toyModel } from './helpers.js';

/** A tiny training run (dropout on, accumulation 2, clipping, warm-up) on one backend. */
async function tinyRun(name: BackendName) {
  return withBackend(name, async ({ tf }) => {
    const t = createTrainer(toyModel({ dropout: 0.1 }), {
      tf,
      seed: 2,
      accumulation: 2,
      optimizer: { lr: 1e-2, warmupSteps: 2, totalSteps: 6, clipNorm: 0.5 },
    });
    const losses: number[] = [];
    for (let s = 0; s < 6; s++) losses.push((await t.step(periodicBatch(s))).loss);
    const params = await t.getParams();
    t.dispose();
    return { losses, params };
  });
}

function expectClose(a: Awaited<ReturnType<typeof tinyRun>>, b: Awaited<ReturnType<typeof tinyRun>>, tol: number) {
  for (let i = 0; i < a.losses.length; i++) expect(Math.abs(a.losses[i]! - b.losses[i]!), `loss ${i}`).toBeLessThan(tol);
  for (const name of Object.keys(a.params)) {
    const x = a.params[name]!;
    const y = b.params[name]!;
    let max = 0;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
    expect(max, name).toBeLessThan(tol);
  }
}

describe('the same tiny training run on every backend', () => {
  it('WASM matches CPU', async () => {
    const cpu = await tinyRun('cpu');
    const wasm = await tinyRun('wasm');
    expect(cpu.losses[5]!).toBeLessThan(cpu.losses[0]!);
    expectClose(wasm, cpu, 1e-4);
  });

  it('WebGPU (Node, `webgpu` package) matches CPU to 1e-4', async (ctx) => {
    try {
      await selectBackend({ backend: 'webgpu' });
    } catch (e) {
      if (e instanceof BackendUnavailableError) {
        ctx.skip(`WebGPU unavailable here — ${e.message}`);
        return;
      }
      throw e;
    }
    const cpu = await tinyRun('cpu');
    const gpu = await tinyRun('webgpu');
    expectClose(gpu, cpu, 1e-4);
  });
});
