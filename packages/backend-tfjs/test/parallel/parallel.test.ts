import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint.js';
import { createParallelTrainer, withoutCondition } from '../../src/parallel/trainer.js';
import { withBackend } from '../../src/testing.js';
import type { Tf } from '../../src/tf.js';
import { type Batch, type Trainer, type TrainerOptions, createTrainer } from '../../src/train.js';
import { tinyModel } from '../models/kinds.js';
import { bundleWorker } from './bundle.js';

let bundle: { workerUrl: URL; kindModules: string[] };
beforeAll(async () => {
  bundle = await bundleWorker();
}, 120_000);

// Four rows, each its own stream; segment s of row r continues segment s − 1 (the state is carried).
const B = 4;
const M = 6;
const token = (r: number, p: number) => (((p * 7 + r * 5 + ((p * p) % 3)) % 11) + 11) % 11;
function segment(s: number): Batch {
  const tokens = new Int32Array(B * M);
  const targets = new Int32Array(B * M);
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < M; t++) {
      tokens[r * M + t] = token(r, s * M + t);
      targets[r * M + t] = token(r, s * M + t + 1);
    }
  }
  return { tokens, targets, batch: B, length: M };
}

const options = (tf: Tf, accumulation = 1): TrainerOptions => ({ tf, seed: 5, accumulation, optimizer: { lr: 1e-2, warmupSteps: 2 } });
const parallel = (kind: string, opts: TrainerOptions) => createParallelTrainer(tinyModel(kind), { ...opts, workers: 2, ...bundle });

async function losses(t: Trainer, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for (let s = from; s < to; s++) out.push((await t.step(segment(s))).loss);
  return out;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length, what).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst, what).toBeLessThan(tol);
}

async function expectSameParams(a: Trainer, b: Trainer): Promise<void> {
  const [pa, pb] = [await a.getParams(), await b.getParams()];
  for (const name of Object.keys(pa)) expectClose(pa[name]!, pb[name]!, 1e-5, name);
}

const cases = [
  ['wasm', 'transformer-xl', 1],
  ['wasm', 'staircase', 1],
  ['wasm', 'cached-staircase', 2],
  ['cpu', 'transformer-xl', 1],
] as const;

describe.each(cases)('on %s, %s, accumulation %i: workers 2', (backend, kind, accumulation) => {
  it('gives the losses, parameters and checkpoint of workers 1 (to 1e-5)', async () => {
    await withBackend(backend, async ({ tf }) => {
      const one = createTrainer(tinyModel(kind), options(tf, accumulation));
      const two = await parallel(kind, options(tf, accumulation));
      try {
        expectClose(await losses(two, 0, 5), await losses(one, 0, 5), 1e-5, 'losses');
        await expectSameParams(one, two);
        const [c1, c2] = [await one.checkpoint(), await two.checkpoint()];
        expect(c2.step).toBe(c1.step);
        expect(c2.modelState).toHaveLength(accumulation);
        // Same layout: the encoded checkpoints have the same header, only float bits may differ.
        const header = (c: typeof c1) => JSON.stringify(decodeCheckpoint(encodeCheckpoint(c), { model: one.model }).modelState, (_k, v) => (v instanceof Float32Array ? v.length : v));
        expect(header(c2)).toBe(header(c1));
        for (const name of Object.keys(c1.optimizer!.m)) expectClose(c2.optimizer!.m[name]!, c1.optimizer!.m[name]!, 1e-5, `m ${name}`);
      } finally {
        one.dispose();
        two.dispose();
      }
    });
  });
});

describe('workers 2 on wasm', () => {
  it('resumes a workers-1 checkpoint, and workers 1 resumes its checkpoint, like an uninterrupted run', async () => {
    await withBackend('wasm', async ({ tf }) => {
      const straight = createTrainer(tinyModel('staircase'), options(tf));
      const expected = await losses(straight, 0, 6);
      straight.dispose();

      const first = createTrainer(tinyModel('staircase'), options(tf));
      await losses(first, 0, 2);
      const a = decodeCheckpoint(encodeCheckpoint(await first.checkpoint()), { model: first.model });
      first.dispose();

      const middle = await parallel('staircase', options(tf));
      middle.restore(a);
      const mid = await losses(middle, 2, 4);
      const b = decodeCheckpoint(encodeCheckpoint(await middle.checkpoint()), { model: middle.model });
      middle.dispose();

      const last = createTrainer(tinyModel('staircase'), options(tf));
      last.restore(b);
      const tail = await losses(last, 4, 6);
      last.dispose();
      expectClose([...mid, ...tail], expected.slice(2), 1e-5, 'resumed losses');
    });
  });

  it('sends setParams and reset to every replica', async () => {
    await withBackend('wasm', async ({ tf }) => {
      const one = createTrainer(tinyModel('transformer-xl'), options(tf));
      const two = await parallel('transformer-xl', options(tf));
      try {
        await losses(one, 0, 2);
        await losses(two, 0, 2);
        const halved = Object.fromEntries(Object.entries(await one.getParams()).map(([n, v]) => [n, v.map((x) => x / 2)]));
        one.setParams(halved);
        two.setParams(halved);
        one.reset('train');
        two.reset('train');
        expectClose(await losses(two, 0, 3), await losses(one, 0, 3), 1e-5, 'losses after setParams and reset');
        await expectSameParams(one, two);
      } finally {
        one.dispose();
        two.dispose();
      }
    });
  });

  it('refuses a batch that does not split across the workers, and stays usable', async () => {
    await withBackend('wasm', async ({ tf }) => {
      const t = await parallel('transformer-xl', options(tf));
      try {
        const odd = { tokens: new Int32Array(3 * M), targets: new Int32Array(3 * M), batch: 3, length: M };
        await expect(t.step(odd)).rejects.toThrow(/cannot be split .* of 2 equal parts \(workers\)/);
        expect((await t.step(segment(0))).applied).toBe(true);
        t.reset('train');
        expect(t.stepCount).toBe(1);
      } finally {
        t.dispose();
      }
    });
  });

  it('fails to start with a clear message when a worker cannot build the model', async () => {
    await withBackend('wasm', async ({ tf }) => {
      await expect(createParallelTrainer(tinyModel('staircase'), { ...options(tf), workers: 2, workerUrl: bundle.workerUrl })).rejects.toThrow(
        /a worker failed to start: .*staircase/,
      );
    });
  });

  it('is the plain trainer with workers 1, and refuses unknown options', async () => {
    await withBackend('wasm', async ({ tf }) => {
      const t = await createParallelTrainer(tinyModel('transformer-xl'), { ...options(tf), workers: 1 });
      expect(t.constructor.name).toBe('TfjsTrainer');
      t.dispose();
      await expect(createParallelTrainer(tinyModel('transformer-xl'), { tf, workers: 0 })).rejects.toThrow(/workers/);
    });
  });
});

describe('the workers\' Node options', () => {
  it('drop the parent\'s `source` export condition in every spelling, and nothing else', () => {
    // What vitest passes its test processes (the workers run built code and must not resolve sources).
    expect(withoutCondition(['--conditions', 'source', '--conditions', 'node', '--conditions', 'development'], 'source')).toEqual([
      '--conditions',
      'node',
      '--conditions',
      'development',
    ]);
    expect(withoutCondition(['--conditions=source', '-C', 'source', '-C=source', '--max-old-space-size=512', '-C', 'sources'], 'source')).toEqual([
      '--max-old-space-size=512',
      '-C',
      'sources',
    ]);
    expect(withoutCondition([], 'source')).toEqual([]);
  });
});
