import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, selectBackend } from '../../src/select.js';
import { withBackend } from '../../src/testing.js';
import { createTrainer } from '../../src/train.js';
import { tinyKinds, tinyModel } from './kinds.js';

// A memorisable stream: two rows of a fixed pseudo-random sequence, next-token targets.
const B = 2;
const M = 16;
const stream = Array.from({ length: B * (M + 1) }, (_, i) => ((i * 37 + 11) % 11 + (i % 3)) % 11);
const batch = {
  tokens: Int32Array.from({ length: B * M }, (_, i) => stream[Math.floor(i / M) * (M + 1) + (i % M)]!),
  targets: Int32Array.from({ length: B * M }, (_, i) => stream[Math.floor(i / M) * (M + 1) + (i % M) + 1]!),
  batch: B,
  length: M,
};

async function losses(kind: string, steps: number, backend: 'cpu' | 'wasm' | 'webgpu' = 'cpu', onStep?: (s: number, n: number) => void) {
  return withBackend(backend, async ({ tf }) => {
    const trainer = createTrainer(tinyModel(kind, { dropout: 0.1 }), { tf, seed: 5, optimizer: { lr: 1e-2, warmupSteps: 10 } });
    const out: number[] = [];
    for (let s = 1; s <= steps; s++) {
      trainer.reset('train'); // every step sees the same segment from an empty state
      out.push((await trainer.step(batch)).loss);
      onStep?.(s, tf.memory().numTensors);
    }
    trainer.dispose();
    return out;
  });
}

describe.each(Object.keys(tinyKinds))('%s trains', (kind) => {
  it('drives the loss near zero on a memorisable sequence, identically for the same seed, without leaks', async () => {
    const counts = new Map<number, number>();
    const a = await losses(kind, 150, 'cpu', (s, n) => counts.set(s, n));
    expect(a[0]!).toBeGreaterThan(1.5);
    expect(Math.min(...a.slice(-5))).toBeLessThan(0.05);
    expect(counts.get(100)).toBe(counts.get(10));
    const b = await losses(kind, 20);
    expect(b).toEqual(a.slice(0, 20));
  });
});

describe('WebGPU', () => {
  it('trains a Staircase and a Cached Staircase like the CPU (to 1e-4)', async (ctx) => {
    try {
      await selectBackend({ backend: 'webgpu' });
    } catch (e) {
      if (e instanceof BackendUnavailableError) return ctx.skip(`WebGPU unavailable here — ${e.message}`);
      throw e;
    }
    for (const kind of ['staircase', 'cached-staircase']) {
      const cpu = await losses(kind, 4, 'cpu');
      const gpu = await losses(kind, 4, 'webgpu');
      for (let i = 0; i < cpu.length; i++) expect(Math.abs(cpu[i]! - gpu[i]!)).toBeLessThan(1e-4);
    }
  });
});
