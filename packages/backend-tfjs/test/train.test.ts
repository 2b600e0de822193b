import { beforeAll, describe, expect, it } from 'vitest';
import { learningRate } from '../src/schedule.js';
import { selectBackend } from '../src/select.js';
import type { Tf } from '../src/tf.js';
import { createTrainer } from '../src/train.js';
import { periodicBatch, toyModel } from './helpers.js';

let tf: Tf;
beforeAll(async () => {
  ({ tf } = await selectBackend({ backend: 'cpu' }));
});

describe('learning-rate schedule', () => {
  const o = { lr: 1, warmupSteps: 4, totalSteps: 14, minLrRatio: 0.1 };
  it('warms up linearly, then decays by a cosine to lr·minLrRatio', () => {
    expect([0, 1, 2, 3].map((s) => learningRate(s, o))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRate(4, o)).toBeCloseTo(1, 12);
    expect(learningRate(9, o)).toBeCloseTo(0.1 + 0.9 * 0.5, 12); // half-way: cos(π/2) = 0
    expect(learningRate(14, o)).toBeCloseTo(0.1, 12);
    expect(learningRate(100, o)).toBeCloseTo(0.1, 12);
    expect(learningRate(50, { ...o, totalSteps: undefined })).toBe(1);
  });
});

describe('trainer', () => {
  it('memorises a periodic sequence: loss drops near zero', async () => {
    const trainer = createTrainer(toyModel(), { tf, optimizer: { lr: 2e-2, weightDecay: 0 } });
    let first = 0;
    let last = 0;
    for (let s = 0; s < 60; s++) {
      const r = await trainer.step(periodicBatch(s));
      if (s === 0) first = r.loss;
      last = r.loss;
      expect(r.applied).toBe(true);
    }
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(0.05);
    await trainer.evaluate(periodicBatch(99)); // gives the next segment its previous token
    const evalLoss = (await trainer.evaluate(periodicBatch(100))).loss;
    expect(evalLoss).toBeLessThan(0.05);
    trainer.dispose();
  });

  it('is deterministic: two runs with the same seed (dropout on) give identical losses', async () => {
    const run = async (seed: number) => {
      const trainer = createTrainer(toyModel({ dropout: 0.3 }), { tf, seed, optimizer: { lr: 1e-2 } });
      const losses: number[] = [];
      for (let s = 0; s < 8; s++) losses.push((await trainer.step(periodicBatch(s))).loss);
      trainer.dispose();
      return losses;
    };
    const a = await run(4);
    expect(await run(4)).toEqual(a);
    expect(await run(5)).not.toEqual(a);
  });

  it('accumulating 2 micro-batches of B/2 equals one batch of B', async () => {
    const a = createTrainer(toyModel(), { tf, optimizer: { lr: 1e-2 } });
    const b = createTrainer(toyModel(), { tf, optimizer: { lr: 1e-2 }, accumulation: 2 });
    for (let s = 0; s < 3; s++) {
      const batch = { ...periodicBatch(s), mask: Float32Array.from({ length: 32 }, (_, i) => (i % 7 === 3 ? 0 : 1)) };
      const ra = await a.step(batch);
      const rb = await b.step(batch);
      expect(rb.loss).toBeCloseTo(ra.loss, 5);
      expect(rb.gradNorm).toBeCloseTo(ra.gradNorm, 5);
    }
    const pa = await a.getParams();
    const pb = await b.getParams();
    for (const name of Object.keys(pa)) {
      const x = pa[name]!;
      const y = pb[name]!;
      let max = 0;
      for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
      expect(max, name).toBeLessThan(1e-5);
    }
    await expect(b.step(periodicBatch(0, 3))).rejects.toThrow(/cannot be split into 2/);
    a.dispose();
    b.dispose();
  });

  it('clips the global gradient norm: the update is bounded by lr·clipNorm', async () => {
    // With a large eps, Adam's first update is ≈ lr·g/eps, proportional to the (clipped) gradient.
    const delta = async (clipNorm: number) => {
      const t = createTrainer(toyModel(), { tf, optimizer: { lr: 1, eps: 1, weightDecay: 0, clipNorm } });
      const before = await t.getParams();
      const r = await t.step(periodicBatch(0));
      const after = await t.getParams();
      let sq = 0;
      for (const n of Object.keys(before)) for (let i = 0; i < before[n]!.length; i++) sq += (after[n]![i]! - before[n]![i]!) ** 2;
      t.dispose();
      return { norm: Math.sqrt(sq), gradNorm: r.gradNorm };
    };
    const free = await delta(0);
    const clipped = await delta(0.01);
    expect(free.gradNorm).toBeGreaterThan(0.1);
    expect(clipped.gradNorm).toBeCloseTo(free.gradNorm, 5); // reported before clipping
    expect(clipped.norm).toBeLessThanOrEqual(0.01 * 1.0001);
    expect(free.norm).toBeGreaterThan(10 * clipped.norm);
  });

  it('applies weight decay only to parameters whose spec says decay', async () => {
    const model = toyModel();
    const t = createTrainer(model, { tf, optimizer: { lr: 0.1, weightDecay: 0.5, clipNorm: 0 } });
    expect([...t.decayedParams].sort()).toEqual(model.paramSpecs().filter((s) => s.decay).map((s) => s.name).sort());
    expect([...t.decayedParams].sort()).toEqual(['out.w', 'prev.w']);
    const before = await t.getParams();
    // No scored targets: zero loss and zero gradients, so only the decay moves the parameters.
    const r = await t.step({ ...periodicBatch(0), mask: new Float32Array(32) });
    expect(Math.abs(r.loss)).toBe(0);
    const after = await t.getParams();
    for (const spec of model.paramSpecs()) {
      const factor = spec.decay ? 1 - 0.1 * 0.5 : 1;
      const b = before[spec.name]!;
      const a = after[spec.name]!;
      for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i]! * factor, 6);
    }
    t.dispose();
  });

  it('does not apply an update whose loss is not finite', async () => {
    const t = createTrainer(toyModel(), { tf });
    const before = await t.getParams();
    const mask = new Float32Array(32).fill(1);
    mask[5] = Number.NaN;
    const r = await t.step({ ...periodicBatch(0), mask });
    expect(r.applied).toBe(false);
    expect(Number.isNaN(r.loss)).toBe(true);
    expect(r.step).toBe(0);
    expect(t.stepCount).toBe(0);
    const after = await t.getParams();
    for (const n of Object.keys(before)) expect(Array.from(after[n]!)).toEqual(Array.from(before[n]!));
    const ok = await t.step(periodicBatch(1));
    expect(ok.applied).toBe(true);
    expect(ok.step).toBe(1);
    t.dispose();
  });

  it('carries the model state across steps; reset() starts afresh', async () => {
    const t = createTrainer(toyModel(), { tf, optimizer: { lr: 1e-9 } });
    // Segment 1 continues segment 0: with state its first position sees the true previous token.
    const whole = await t.evaluate({ ...periodicBatch(0, 4, 16) });
    t.reset();
    const a = await t.evaluate(periodicBatch(0, 4, 8));
    const b = await t.evaluate(periodicBatch(1, 4, 8));
    expect((a.loss + b.loss) / 2).toBeCloseTo(whole.loss, 5);
    t.reset('eval');
    const fresh = await t.evaluate(periodicBatch(1, 4, 8));
    expect(fresh.loss).not.toBeCloseTo(b.loss, 5);
    t.dispose();
  });

  it('does not leak tensors: the count after step 100 equals the count after step 10, and dispose frees all', async () => {
    const before = tf.memory().numTensors;
    const t = createTrainer(toyModel({ dropout: 0.1 }), { tf, accumulation: 2, optimizer: { warmupSteps: 5, totalSteps: 100 } });
    let at10 = 0;
    for (let s = 1; s <= 100; s++) {
      await t.step(periodicBatch(s));
      if (s % 10 === 0) await t.evaluate(periodicBatch(s));
      if (s === 10) at10 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(at10);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses unknown and invalid options with one clear line', () => {
    expect(() => createTrainer(toyModel(), { tf, optimiser: {} } as never)).toThrow('createTrainer options: unknown key "optimiser"');
    expect(() => createTrainer(toyModel(), { tf, optimizer: { lr: -1 } })).toThrow(/createTrainer options\.optimizer\.lr: got -1/);
    expect(() => createTrainer(toyModel(), { tf, optimizer: { learningRate: 1 } } as never)).toThrow(/unknown key "learningRate"/);
  });

  it('train() yields one result per batch, stops after `steps`', async () => {
    const t = createTrainer(toyModel(), { tf });
    const batches = (function* () {
      for (let s = 0; ; s++) yield periodicBatch(s);
    })();
    const seen: number[] = [];
    for await (const r of t.train(batches, { steps: 3 })) seen.push(r.step);
    expect(seen).toEqual([1, 2, 3]);
    const { values, shape } = await t.logits({ tokens: new Int32Array([1, 2, 3]), batch: 1, length: 3 });
    expect(shape).toEqual([1, 3, 8]);
    expect(values.length).toBe(24);
    t.dispose();
  });
});
