import { mkdirSync, mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_CHECKPOINT_FILE_BYTES, loadCheckpoint, saveCheckpoint } from '../src/checkpoint-file.js';
import { CheckpointError, MAX_CHECKPOINT_ENTRIES, decodeCheckpoint, encodeCheckpoint } from '../src/checkpoint.js';
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

// biome-ignore lint/suspicious/noExplicitAny: the tests edit crafted headers freely, as an attacker would
type Header = Record<string, any>;

/** The header and data section of an encoded checkpoint. */
function split(bytes: Uint8Array): { header: Header; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.slice(8 + n) };
}

function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/**
 * A crafted file: any header and data, with a checksum that matches, as an attacker (or a buggy
 * writer) would make it, so that only the layout checks stand between it and the allocator.
 */
function craft(header: Header, data: Uint8Array): Uint8Array {
  const { crc32: _, ...meta } = header['__metadata__'];
  const crc = crc32(data, crc32(new TextEncoder().encode(canonical({ ...header, __metadata__: meta }))));
  const json = JSON.stringify({ ...header, __metadata__: { ...meta, crc32: crc.toString(16).padStart(8, '0') } });
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

describe('crafted checkpoints are refused before any tensor is copied', () => {
  let base: Uint8Array;
  // Tensor data is copied out of the file with Uint8Array.prototype.slice: counting its calls shows
  // whether a refusal came before the allocations.
  const spyOnCopies = () => vi.spyOn(Uint8Array.prototype, 'slice');
  let copies: ReturnType<typeof spyOnCopies> | undefined;
  beforeAll(async () => {
    const t = await trained(1, 0);
    base = encodeCheckpoint(await t.checkpoint());
    t.dispose();
  });
  const spyCopies = () => {
    copies = spyOnCopies();
  };
  afterEach(() => copies?.mockRestore());
  const decode = (bytes: Uint8Array, options = {}) => () => decodeCheckpoint(bytes, { source: 'checkpoint c', ...options });

  it('decodes the untouched re-crafted base (the crafting itself is sound)', () => {
    const { header, data } = split(base);
    expect(decodeCheckpoint(craft(header, data)).params['embed']?.shape).toEqual([8, 16]);
  });

  it('entries pointing at the same bytes (the 150-entry file of issue 23)', () => {
    const { header } = split(base);
    const data = new Uint8Array(1 << 20);
    const entries: Record<string, unknown> = { __metadata__: header['__metadata__'] };
    for (let i = 0; i < 150; i++) entries[`w${i}`] = { dtype: 'F32', shape: [data.length / 4], data_offsets: [0, data.length] };
    const bytes = craft(entries, data);
    spyCopies();
    expect(decode(bytes)).toThrow(/^checkpoint c has a malformed header: tensor "w\d+" \(bytes \[0, 1048576\)\) overlaps tensor "w\d+" \(which ends at byte 1048576\)$/);
    expect(copies).not.toHaveBeenCalled();
  });

  it('a partial overlap and a gap between two entries', () => {
    const { header } = split(base);
    const meta = header['__metadata__'];
    const overlap = craft({ __metadata__: meta, a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, new Uint8Array(24));
    expect(decode(overlap)).toThrow('checkpoint c has a malformed header: tensor "b" (bytes [8, 24)) overlaps tensor "a" (which ends at byte 16)');
    const gap = craft({ __metadata__: meta, a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [32, 48] } }, new Uint8Array(48));
    expect(decode(gap)).toThrow('checkpoint c is damaged: bytes [16, 32) of its data belong to no tensor (the gap before "b")');
    // Zero-sized tensors sit between others without overlapping them.
    const empty = craft(
      { __metadata__: meta, a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, e: { dtype: 'F32', shape: [0, 3], data_offsets: [16, 16] }, b: { dtype: 'F32', shape: [1], data_offsets: [16, 20] } },
      new Uint8Array(20),
    );
    expect(decode(empty)).toThrow(/does not match its own config: it lacks parameter "embed"/); // layout fine, the model is not
  });

  it('an entry that ends past the end of the file', () => {
    const { header, data } = split(base);
    header['embed'].shape = [2 ** 20, 2 ** 20];
    header['embed'].data_offsets = [header['embed'].data_offsets[0], header['embed'].data_offsets[0] + 2 ** 42];
    const bytes = craft(header, data);
    spyCopies();
    expect(decode(bytes)).toThrow(/^checkpoint c is truncated: expected \d+ bytes, found \d+ \(tensor "embed" ends past the end of the file\)$/);
    expect(copies).not.toHaveBeenCalled();
  });

  it('absurd shapes, offsets and entries: one line naming the entry', () => {
    const { header, data } = split(base);
    const [begin, end] = header['embed'].data_offsets;
    const cases: [unknown, unknown, RegExp][] = [
      [[1e9, 1e9, 1e9], [begin, end], /entry for "embed": offsets \[\d+, \d+\] \(512 bytes\) do not hold shape \[1000000000, 1000000000, 1000000000\] \(4e\+27 bytes of F32\)$/],
      [[0, 1e300], [begin, begin], /entry for "embed": shape \[0,1e\+300\] is not a list of at most 16 sizes/],
      [new Array(1000).fill(1), [begin, end], /entry for "embed": shape \[1,1,1,.*\.\.\. is not a list/],
      [[-1], [begin, end], /entry for "embed": shape \[-1\]/],
      [['8', 16], [begin, end], /entry for "embed": shape \["8",16\]/],
      [[8, 16], [end, begin], /entry for "embed": data_offsets \[\d+,\d+\] are not \[begin, end\]/],
      [[8, 16], [begin, end, 0], /entry for "embed": data_offsets/],
      [[8, 16], [-4, end - 4], /entry for "embed": data_offsets/],
      [[8, 16], [begin, 2 ** 60], /entry for "embed": data_offsets/],
    ];
    for (const [shape, offsets, message] of cases) {
      const h = structuredClone(header);
      h['embed'].shape = shape;
      h['embed'].data_offsets = offsets;
      expect(decode(craft(h, data)), JSON.stringify(shape).slice(0, 40)).toThrow(new RegExp(`^checkpoint c has a malformed header ${message.source}`));
    }
    const notObject = structuredClone(header);
    notObject['embed'] = null;
    expect(decode(craft(notObject, data))).toThrow('checkpoint c has a malformed header entry for "embed": it is not an object');
    const extraKey = structuredClone(header);
    extraKey['embed'].deep = [[[[]]]];
    expect(decode(craft(extraKey, data))).toThrow('checkpoint c has a malformed header entry for "embed": unknown key "deep"');
    const metaObject = structuredClone(header);
    metaObject['__metadata__'].step = { nested: true };
    expect(decode(craft(metaObject, data))).toThrow('checkpoint c has a malformed header: __metadata__.step is not a string');
  });

  it('more entries than any checkpoint holds', () => {
    const { header } = split(base);
    const entries: Record<string, unknown> = { __metadata__: header['__metadata__'] };
    const empty = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
    for (let i = 0; i <= MAX_CHECKPOINT_ENTRIES; i++) entries[`e${i}`] = empty;
    expect(decode(craft(entries, new Uint8Array(0)))).toThrow(`checkpoint c declares ${MAX_CHECKPOINT_ENTRIES + 1} tensors; a checkpoint holds at most ${MAX_CHECKPOINT_ENTRIES}`);
  });

  it('parameters that its own config, or the given model, does not imply', () => {
    const { header, data } = split(base);
    // A consistent layout whose config was edited (dModel 16 → 32), checksum recomputed.
    const meta = header['__metadata__'];
    const edited = { ...header, __metadata__: { ...meta, config: JSON.stringify({ ...JSON.parse(meta.config), dModel: 32 }) } };
    spyCopies();
    expect(decode(craft(edited, data))).toThrow('checkpoint c does not match its own config: it has parameter "embed" of shape [8, 16], its config implies [8, 32]');
    expect(decode(base, { model: toyModel({ dModel: 32 }) })).toThrow('checkpoint c was written for a model with dModel 16, this model has 32');
    expect(copies).not.toHaveBeenCalled();
    // A kind this process does not know cannot be checked here; its weights still load.
    const unknownKind = { ...header, __metadata__: { ...meta, config: JSON.stringify({ kind: 'not-registered' }) } };
    copies?.mockRestore();
    expect(Object.keys(decodeCheckpoint(craft(unknownKind, data)).params)).toContain('embed');
  });

  it('loadCheckpoint refuses a directory and a file too large to read, without reading it', async () => {
    const sub = join(dir, 'a-directory.safetensors');
    mkdirSync(sub, { recursive: true });
    await expect(loadCheckpoint(sub)).rejects.toThrow(`checkpoint ${sub} is not a file`);
    const big = join(dir, 'big.safetensors');
    writeFileSync(big, '');
    truncateSync(big, MAX_CHECKPOINT_FILE_BYTES + 1); // sparse: takes no disk space
    await expect(loadCheckpoint(big)).rejects.toThrow(`checkpoint ${big} is 2.0 GiB; checkpoints of at most 2 GiB can be read`);
  });
});
