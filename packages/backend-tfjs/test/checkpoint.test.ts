import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { crc32 } from '../src/crc32.js';
import { selectBackend } from '../src/select.js';
import type { Tf } from '../src/tf.js';
import { createTrainer } from '../src/train.js';
import { periodicBatch, toyModel } from './helpers.js';

let tf: Tf;
const dir = mkdtempSync(join(tmpdir(), 'staircase-ckpt-'));
beforeAll(async () => {
  ({ tf } = await selectBackend({ backend: 'cpu' }));
});

async function trained(steps = 3, dropout = 0.2) {
  const t = createTrainer(toyModel({ dropout }), { tf, optimizer: { lr: 1e-2, warmupSteps: 2, totalSteps: 20 } });
  for (let s = 0; s < steps; s++) await t.step(periodicBatch(s));
  return t;
}

describe('checkpoints', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('round trip: identical params, optimizer state and an identical next step', async () => {
    const a = await trained();
    const path = join(dir, 'rt.safetensors');
    await saveCheckpoint(path, await a.checkpoint({ dataPosition: { segment: 3 }, tokenizer: { type: 'bytes' }, metadata: { run: 'x' } }));
    const ckpt = await loadCheckpoint(path, { model: a.model });
    expect(ckpt.step).toBe(3);
    expect(ckpt.dataPosition).toEqual({ segment: 3 });
    expect(ckpt.tokenizer).toEqual({ type: 'bytes' });
    expect(ckpt.metadata).toEqual({ run: 'x' });
    expect(ckpt.config).toEqual(a.model.config);
    const b = createTrainer(toyModel({ dropout: 0.2 }), { tf, optimizer: { lr: 1e-2, warmupSteps: 2, totalSteps: 20 } });
    b.restore(ckpt);
    expect(b.stepCount).toBe(3);
    const pa = await a.getParams();
    const pb = await b.getParams();
    for (const n of Object.keys(pa)) expect(Array.from(pb[n]!)).toEqual(Array.from(pa[n]!));
    // The carried model state is part of the checkpoint: no reset, both continue the same stream.
    expect(ckpt.modelState).toHaveLength(1);
    expect(ckpt.modelState?.[0]?.position).toBe(24);
    const ra = await a.step(periodicBatch(3));
    const rb = await b.step(periodicBatch(3));
    expect(rb.loss).toBe(ra.loss);
    expect(rb.gradNorm).toBe(ra.gradNorm);
    expect(rb.lr).toBe(ra.lr);
    const qa = await a.getParams();
    const qb = await b.getParams();
    for (const n of Object.keys(qa)) expect(Array.from(qb[n]!)).toEqual(Array.from(qa[n]!));
    a.dispose();
    b.dispose();
  });

  it('is a valid safetensors file (8-byte LE length, JSON header, data offsets)', async () => {
    const t = await trained(1);
    const bytes = encodeCheckpoint(await t.checkpoint());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__.format).toBe('staircase-checkpoint');
    expect(Object.values(header.__metadata__).every((v) => typeof v === 'string')).toBe(true);
    expect(header.embed).toEqual({ dtype: 'F32', shape: [8, 16], data_offsets: expect.any(Array) });
    const [begin, end] = header.embed.data_offsets;
    const embed = new Float32Array(bytes.slice(8 + n + begin, 8 + n + end).buffer);
    expect(Array.from(embed)).toEqual(Array.from((await t.getParams())['embed']!));
    expect(header['optimizer/m/embed'].shape).toEqual([8, 16]);
    t.dispose();
  });

  it('refuses a truncated file with the expected and found sizes', async () => {
    const t = await trained(1);
    const bytes = encodeCheckpoint(await t.checkpoint());
    const path = join(dir, 'trunc.safetensors');
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    await expect(loadCheckpoint(path)).rejects.toThrow(
      `checkpoint ${path} is truncated: expected ${bytes.length} bytes, found ${bytes.length - 10}`,
    );
    writeFileSync(path, bytes.subarray(0, 20));
    await expect(loadCheckpoint(path)).rejects.toThrow(/is truncated: expected at least \d+ bytes, found 20/);
    writeFileSync(path, bytes.subarray(0, 3));
    await expect(loadCheckpoint(path)).rejects.toThrow(/is truncated: expected at least 8 bytes, found 3/);
    t.dispose();
  });

  it('refuses a file with any altered byte (data or header)', async () => {
    const t = await trained(1);
    const bytes = encodeCheckpoint(await t.checkpoint());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const positions = [8 + n + 5, bytes.length - 1, 8 + n + Math.floor((bytes.length - 8 - n) / 2), 8 + n - 3 /* header padding */];
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    positions.push(8 + header.indexOf('"step":"1"') + 8); // the step value itself
    for (const at of positions) {
      const bad = bytes.slice();
      bad[at] = bad[at]! ^ (at === positions[4] ? 0x01 : 0x40);
      expect(() => decodeCheckpoint(bad, { source: 'checkpoint c' }), `byte ${at}`).toThrow(CheckpointError);
    }
    const bad = bytes.slice();
    bad[bytes.length - 1] = bad[bytes.length - 1]! ^ 0x40;
    expect(() => decodeCheckpoint(bad, { source: 'checkpoint c' })).toThrow(/^checkpoint c is corrupt: checksum/);
    expect(() => decodeCheckpoint(new TextEncoder().encode('hello world, this is not a checkpoint'))).toThrow(/not a staircase-checkpoint/);
    t.dispose();
  });

  it('refuses a checkpoint for a differently shaped model, naming the config field', async () => {
    const t = await trained(1, 0);
    const path = join(dir, 'shape.safetensors');
    await saveCheckpoint(path, await t.checkpoint());
    await expect(loadCheckpoint(path, { model: toyModel({ dModel: 32 }) })).rejects.toThrow(
      `checkpoint ${path} was written for a model with dModel 16, this model has 32`,
    );
    // Config fields that do not change shapes (dropout, seed) do not matter.
    await expect(loadCheckpoint(path, { model: toyModel({ dropout: 0.5, seed: 9 }) })).resolves.toBeDefined();
    const other = createTrainer(toyModel({ vocabSize: 9 }), { tf });
    expect(() => other.restore(decodeCheckpoint(readFileSync(path)))).toThrow('checkpoint was written for a model with vocabSize 8, this model has 9');
    other.dispose();
    t.dispose();
  });

  it('an interrupted save leaves the previous checkpoint loadable', async () => {
    const t = await trained(2, 0);
    const path = join(dir, 'atomic.safetensors');
    await saveCheckpoint(path, await t.checkpoint());
    await t.step(periodicBatch(5));
    let tempSeen = '';
    await expect(
      saveCheckpoint(path, await t.checkpoint(), {
        beforeRename: (temp) => {
          tempSeen = temp;
          expect(readFileSync(temp).length).toBeGreaterThan(0); // the new file was written…
          throw new Error('simulated crash'); // …but the process dies before the rename
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(tempSeen).toBe(`${path}.tmp-${process.pid}`);
    const back = await loadCheckpoint(path, { model: t.model });
    expect(back.step).toBe(2);
    expect(readdirSync(dir).filter((f) => f.startsWith('atomic.safetensors.tmp'))).toEqual([]);
    // A crash that leaves its temporary file behind does not matter either.
    writeFileSync(`${path}.tmp-999999`, 'partial');
    expect((await loadCheckpoint(path)).step).toBe(2);
    await saveCheckpoint(path, await t.checkpoint());
    expect((await loadCheckpoint(path)).step).toBe(3);
    t.dispose();
  });

  it('a missing file is one clear line', async () => {
    await expect(loadCheckpoint(join(dir, 'nope.safetensors'))).rejects.toThrow(`checkpoint ${join(dir, 'nope.safetensors')} does not exist`);
  });
});
