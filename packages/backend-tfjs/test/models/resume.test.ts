import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint-file.js';
import { type Checkpoint, CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint.js';
import { selectBackend } from '../../src/select.js';
import type { Tf } from '../../src/tf.js';
import { type Batch, type Trainer, createTrainer } from '../../src/train.js';
import { tinyKinds, tinyModel } from './kinds.js';

let tf: Tf;
const dir = mkdtempSync(join(tmpdir(), 'staircase-resume-'));
beforeAll(async () => {
  ({ tf } = await selectBackend({ backend: 'cpu' }));
});

// Two rows, each its own stream; segment s of row r continues segment s − 1 (the state is carried).
const B = 2;
const M = 4;
const STEPS = 6;
const token = (r: number, p: number) => ((p * 7 + r * 5 + ((p * p) % 3)) % 11 + 11) % 11;
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

function trainer(kind: string, accumulation: number): Trainer {
  return createTrainer(tinyModel(kind, { dropout: 0.1 }), { tf, seed: 5, accumulation, optimizer: { lr: 1e-2, warmupSteps: 2 } });
}

async function run(t: Trainer, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for (let s = from; s < to; s++) out.push((await t.step(segment(s))).loss);
  return out;
}

const cases = Object.keys(tinyKinds).flatMap((kind) => [1, 2].map((accumulation) => [kind, accumulation] as const));

describe.each(cases)('%s, accumulation %i: a resumed run', (kind, accumulation) => {
  it('has the losses of an uninterrupted run (exactly, on CPU)', async () => {
    const straight = trainer(kind, accumulation);
    const expected = await run(straight, 0, STEPS);
    straight.dispose();

    const first = trainer(kind, accumulation);
    const head = await run(first, 0, STEPS / 2);
    const ckpt = decodeCheckpoint(encodeCheckpoint(await first.checkpoint()), { model: first.model });
    first.dispose();
    expect(ckpt.modelState).toHaveLength(accumulation);
    expect(ckpt.modelState!.every((s) => s !== null && s.kind === kind && s.position === (STEPS / 2) * M)).toBe(true);

    const resumed = trainer(kind, accumulation);
    resumed.restore(ckpt);
    const tail = await run(resumed, STEPS / 2, STEPS);
    resumed.dispose();
    expect([...head, ...tail]).toEqual(expected);

    // The state matters: without it, the first resumed step differs.
    const stateless = trainer(kind, accumulation);
    stateless.restore({ ...ckpt, modelState: undefined });
    const [cold] = await run(stateless, STEPS / 2, STEPS / 2 + 1);
    stateless.dispose();
    expect(cold).not.toBe(expected[STEPS / 2]);
  });
});

describe('carried state in checkpoints', () => {
  it('survives saveCheckpoint/loadCheckpoint', async () => {
    const straight = trainer('cached-staircase', 2);
    const expected = await run(straight, 0, STEPS);
    straight.dispose();
    const first = trainer('cached-staircase', 2);
    const head = await run(first, 0, STEPS / 2);
    const path = join(dir, 'state.safetensors');
    await saveCheckpoint(path, await first.checkpoint());
    first.dispose();
    const resumed = trainer('cached-staircase', 2);
    resumed.restore(await loadCheckpoint(path, { model: resumed.model }));
    expect([...head, ...(await run(resumed, STEPS / 2, STEPS))]).toEqual(expected);
    resumed.dispose();
  });

  it('is covered by the checksum (state data and state skeleton)', async () => {
    const t = trainer('staircase', 1);
    await run(t, 0, 2);
    const bytes = encodeCheckpoint(await t.checkpoint());
    t.dispose();
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const header = JSON.parse(text);
    const stateNames = Object.keys(header).filter((k) => k.startsWith('state/'));
    expect(stateNames.length).toBeGreaterThan(0);
    expect(Object.keys(decodeCheckpoint(bytes).params).some((k) => k.startsWith('state/'))).toBe(false);
    const [begin, end] = header[stateNames.at(-1)!].data_offsets;
    const positions = [8 + n + begin + 1, 8 + n + end - 2];
    const at = text.indexOf('\\"position\\":8');
    expect(at).toBeGreaterThan(0);
    positions.push(8 + at + '\\"position\\":'.length); // the digit 8 of the state's position
    for (const p of positions) {
      const bad = bytes.slice();
      bad[p] = bad[p]! ^ 0x01;
      expect(() => decodeCheckpoint(bad, { source: 'checkpoint s' }), `byte ${p}`).toThrow(/^checkpoint s is corrupt: checksum/);
    }
  });

  it('does not leak tensors over repeated checkpoint/restore cycles', async () => {
    const t = trainer('staircase-ladder', 2);
    await run(t, 0, 2);
    // The state's size varies with its position: compare counts at the same position.
    for (let i = 0; i < 3; i++) {
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      for (let cycle = 0; cycle < 3; cycle++) {
        t.restore(decodeCheckpoint(encodeCheckpoint(await t.checkpoint())));
        counts.push(tf.memory().numTensors);
        t.restore(await t.checkpoint()); // the host form, without bytes
        counts.push(tf.memory().numTensors);
      }
      expect(counts).toEqual(counts.map(() => before));
      await t.step(segment(2 + i));
    }
    t.dispose();
  });

  it('restores an empty state, without failing, for another accumulation or model kind', async () => {
    const t = trainer('staircase', 2);
    await run(t, 0, 3);
    const ckpt = await t.checkpoint();
    t.dispose();
    const expectFresh = async (other: Trainer, from: Checkpoint) => {
      const cold = trainer(other.model.kind, other.options.accumulation);
      cold.restore({ ...ckpt, modelState: undefined });
      other.restore(from);
      expect(await run(other, 3, 4)).toEqual(await run(cold, 3, 4));
      cold.dispose();
      other.dispose();
    };
    await expectFresh(trainer('staircase', 1), ckpt);
    // Cached Staircase has the Staircase's parameters but another state.
    await expectFresh(trainer('cached-staircase', 2), ckpt);
  });

  it('keeps non-JSON values (Infinity, NaN, -0, undefined), "$" keys and shared tensors', async () => {
    const t = trainer('transformer-xl', 1);
    const base = await t.checkpoint();
    t.dispose();
    const kv = { shape: [1, 2], data: Float32Array.from([1.5, -2]) };
    const data = {
      limits: [Infinity, -Infinity, Number.NaN, -0, 0, 1e-30],
      missing: undefined,
      nested: { $: 'tensor', name: 'not a tensor', k: kv, again: kv, list: [[], {}, null, 'text', true] },
      empty: { shape: [0], data: new Float32Array(0) },
    };
    const ckpt = { ...base, modelState: [{ kind: 'x', batch: 1, position: 3, data }, null] };
    const back = decodeCheckpoint(encodeCheckpoint(ckpt)).modelState!;
    expect(back[1]).toBeNull();
    const got = back[0]!.data as typeof data;
    expect(got.limits.map(String)).toEqual(['Infinity', '-Infinity', 'NaN', '0', '0', '1e-30']);
    expect(Object.is(got.limits[3], -0)).toBe(true);
    expect('missing' in got && got.missing === undefined).toBe(true);
    expect(got.nested.$).toBe('tensor');
    expect(got.nested.name).toBe('not a tensor');
    expect(got.nested.list).toEqual([[], {}, null, 'text', true]);
    expect(got.nested.k.shape).toEqual([1, 2]);
    expect(Array.from(got.nested.k.data)).toEqual([1.5, -2]);
    expect(got.nested.again).toBe(got.nested.k);
    expect(got.empty.shape).toEqual([0]);
    expect(() => encodeCheckpoint({ ...base, modelState: [{ kind: 'x', batch: 1, position: 0, data: { m: new Map() } }] })).toThrow(
      CheckpointError,
    );
    const live = tf.zeros([1]);
    expect(() => encodeCheckpoint({ ...base, modelState: [{ kind: 'x', batch: 1, position: 0, data: { k: live } }] })).toThrow(
      'model state holds a TensorFlow.js tensor at "data.k"',
    );
    live.dispose();
  });
});
