import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeDevices, type HostTensor, nodePlacement, type OnnxSession, openSession } from '../src/runtime/index.js';
import { parsePlacementLog, placementNodes } from '../src/runtime/placement-log.js';
import { isSoftwareAdapter, patchWriteBuffer } from '../src/runtime/webgpu.js';
import { D, int64Model, layerModel, layerReference, mixedModel, SEQ, series, VOCAB, weights } from './fixtures-runtime/models.js';

// Mesa (lavapipe) complains on every start without a runtime dir; any writable directory will do.
process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'xdg-'));

const devices = await describeDevices();
const report = (d: string) => devices.find((r) => r.device === d)!;
const webgpu = report('webgpu');
const WEBGPU_SKIP = webgpu.available ? '' : ` (skipped: ${webgpu.reason})`;
const RUNNABLE = (['cpu', 'wasm', 'webgpu'] as const).filter((d) => report(d).available);

const sessions: OnnxSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});
async function open(model: Uint8Array, device: 'cpu' | 'wasm' | 'webgpu' | 'auto', threads?: number) {
  const s = await openSession(model, threads === undefined ? { device } : { device, threads });
  sessions.push(s);
  return s;
}

function layerFeeds(batch: number): { x: Float32Array; ids: Int32Array; feeds: Record<string, HostTensor> } {
  const x = new Float32Array(series(batch * SEQ * D, 1.5, batch));
  const ids = Int32Array.from({ length: batch * SEQ }, (_, i) => (i * 7 + batch) % VOCAB);
  return {
    x,
    ids,
    feeds: {
      x: { type: 'float32', data: x, dims: [batch, SEQ, D] },
      ids: { type: 'int32', data: ids, dims: [batch, SEQ] },
    },
  };
}

function expectClose(actual: Float32Array | Int32Array | BigInt64Array, expected: number[], tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(...expected.map((e, i) => Math.abs(Number(actual[i]) - e)));
  expect(worst).toBeLessThan(tol);
}

describe('describeDevices', () => {
  it('reports every device with a reason', () => {
    expect(devices.map((d) => d.device)).toEqual(['webgpu', 'wasm', 'cpu', 'auto']);
    for (const d of devices) expect(d.reason, d.device).toBeTruthy();
    expect(report('cpu').available).toBe(true);
    expect(report('wasm').available).toBe(true);
  });
});

describe.each(['cpu', 'wasm', 'webgpu'] as const)('openSession on %s', (device) => {
  const skip = !RUNNABLE.includes(device);
  const label = device === 'webgpu' ? WEBGPU_SKIP : '';

  it.skipIf(skip)(`runs MatMul/Add/Gather(int32)/LayerNorm/Transpose/Concat/Slice/Softmax/Reshape/ReduceSum like plain JS${label}`, async () => {
    const s = await open(layerModel(), device);
    expect(s.device).toBe(device);
    expect(s.runtime).toBe(device === 'cpu' ? 'onnxruntime-node' : 'onnxruntime-web');
    expect(s.inputNames).toEqual(['x', 'ids']);
    expect(s.outputNames).toEqual(['probs', 'sums']);
    // Two batch sizes through the same session: the batch dim is symbolic.
    for (const batch of [2, 3]) {
      const { x, ids, feeds } = layerFeeds(batch);
      const out = await s.run(feeds);
      const ref = layerReference(x, ids, batch);
      expect(out.probs!.type).toBe('float32');
      expect(out.probs!.dims).toEqual([batch, 16]);
      expect(out.sums!.dims).toEqual([batch, 1, 4]);
      expect(out.probs!.data).toBeInstanceOf(Float32Array);
      expectClose(out.probs!.data, ref.probs);
      expectClose(out.sums!.data, ref.sums);
    }
  });

  it.skipIf(skip)(`passes int64 tensors in and out${label}`, async () => {
    const s = await open(int64Model(), device);
    const x = BigInt64Array.from([-2n, 0n, 5n, 1n << 40n]);
    const out = await s.run({ x: { type: 'int64', data: x, dims: [4] } });
    expect(out.y!.type).toBe('int64');
    expect(out.y!.data).toBeInstanceOf(BigInt64Array);
    expect([...(out.y!.data as BigInt64Array)]).toEqual([...x].map((v) => v * 3n + 1n));
  });

  it.skipIf(skip)(`rejects wrong feeds with one line${label}`, async () => {
    const s = await open(layerModel(), device);
    const { feeds } = layerFeeds(1);
    await expect(s.run({ ...feeds, y: feeds.x! })).rejects.toThrow(/^unknown input\(s\) y; the model takes x, ids$/);
    await expect(s.run({ x: feeds.x! })).rejects.toThrow(/^missing input\(s\) ids$/);
    await expect(s.run({ ...feeds, x: { type: 'float32', data: new Float32Array(5), dims: [1, SEQ, D] } })).rejects.toThrow(
      /^input "x": dims \[1, 3, 4\] need 12 elements, data has 5$/,
    );
  });
});

describe('openSession choices', () => {
  it('honours threads on the CPU', async () => {
    const s = await open(layerModel(), 'cpu', 1);
    const { x, ids, feeds } = layerFeeds(2);
    expectClose((await s.run(feeds)).probs!.data, layerReference(x, ids, 2).probs);
  });

  it('auto picks what describeDevices says, never a software adapter', async () => {
    const s = await open(layerModel(), 'auto');
    expect(report('auto').reason).toBe(`picks ${s.device} here`);
    if (/software adapter/.test(webgpu.reason ?? '') || !webgpu.available) expect(s.device).toBe('cpu');
  });

  it('release is idempotent and later runs fail clearly', async () => {
    const s = await openSession(layerModel(), { device: 'cpu' });
    await s.release();
    await s.release();
    await expect(s.run(layerFeeds(1).feeds)).rejects.toThrow('this ONNX session was released');
  });
});

describe('invalid models', () => {
  const garbage = new TextEncoder().encode('this is certainly not an ONNX model, just some text');
  const truncated = layerModel().subarray(0, 600);
  const oneLine = /^not a valid ONNX model: [^\n]+$/;

  it.each(['cpu', 'wasm'] as const)('refuses garbage, truncated and empty bytes on %s with one line', async (device) => {
    await expect(openSession(garbage, { device })).rejects.toThrow(oneLine);
    await expect(openSession(truncated, { device })).rejects.toThrow(oneLine);
    await expect(openSession(new Uint8Array(0), { device })).rejects.toThrow(oneLine);
    const e = await openSession(truncated, { device }).catch((err: Error) => err);
    // onnxruntime-web's status wrapper is stripped, so both runtimes say the same thing.
    expect((e as Error).message).toBe('not a valid ONNX model: Failed to load model because protobuf parsing failed.');
  });

  it('nodePlacement refuses garbage with one line', async () => {
    await expect(nodePlacement(garbage, { device: 'cpu' })).rejects.toThrow(oneLine);
  });
});

describe('nodePlacement', () => {
  const layerNodes = ['MatMul', 'Add', 'Gather', 'Add', 'LayerNormalization', 'Transpose', 'Concat', 'Slice', 'Softmax', 'Reshape', 'ReduceSum'];

  it.each(['cpu', 'wasm'] as const)('puts every node on the CPU EP on %s, with no fallbacks', async (device) => {
    const r = await nodePlacement(layerModel(), { device });
    expect(r.device).toBe(device);
    expect(r.nodes.map((n) => n.opType)).toEqual(layerNodes);
    expect(new Set(r.nodes.map((n) => n.provider))).toEqual(new Set(['CPUExecutionProvider']));
    expect(r.fallbacks).toEqual([]);
    // ORT fuses MatMul+Add on the CPU, so it reports fewer nodes than the model has, and we say so.
    expect(r.warnings.some((w) => /^placement: ORT optimised the graph to \d+ node\(s\) \(the model has 11\)/.test(w))).toBe(true);
  });

  it.skipIf(!webgpu.available)(`places the layer model on the WebGPU EP${WEBGPU_SKIP}`, async () => {
    const r = await nodePlacement(layerModel(), { device: 'webgpu' });
    expect(r.nodes.map((n) => n.opType)).toEqual(layerNodes);
    // Whatever ORT leaves on the CPU must be listed as a fallback; ORT 1.30 leaves nothing here.
    expect(r.fallbacks).toEqual(r.nodes.filter((n) => n.provider === 'CPUExecutionProvider'));
    expect(r.nodes.every((n) => n.provider === 'WebGpuExecutionProvider')).toBe(true);
  });

  it.skipIf(!webgpu.available)(`lists int64 arithmetic as a CPU fallback on WebGPU${WEBGPU_SKIP}`, async () => {
    const r = await nodePlacement(mixedModel(), { device: 'webgpu' });
    expect(r.nodes).toContainEqual({ name: 'matmul_y', opType: 'MatMul', provider: 'WebGpuExecutionProvider' });
    expect(r.fallbacks).toEqual([{ name: 'add_k1', opType: 'Add', provider: 'CPUExecutionProvider' }]);
    expect(r.warnings.some((w) => w.startsWith('Some nodes were not assigned to the preferred execution providers'))).toBe(true);
  });
});

describe('pieces', () => {
  it('parses ORT 1.30 placement logs, split and whole', () => {
    const log = [
      '2026-11-29 02:45:06.759037 [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements',
      '2026-11-29 02:45:06.759170 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1',
      '2026-11-29 02:45:06.759224 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   Add (add_k1)',
      '2026-11-29 02:45:06.759273 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 1',
      '2026-11-29 02:45:06.759323 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   MatMul (matmul_y)',
      '\u001b[0;93m2026-11-29 02:45:06.759371 [W:onnxruntime:, session_state.cc:1397 VerifyEachNodeIsAssignedToAnEp] Some nodes were not assigned\u001b[m',
      '2026-11-29 02:45:06.759400 [V:onnxruntime:, session_state.cc:186 CreateGraphInfo] SaveMLValueNameIndexMapping',
    ].join('\n');
    const p = parsePlacementLog(log);
    expect(p.reported).toBe(true);
    expect(p.warnings).toEqual(['Some nodes were not assigned']);
    expect(placementNodes(p, []).nodes).toEqual([
      { name: 'add_k1', opType: 'Add', provider: 'CPUExecutionProvider' },
      { name: 'matmul_y', opType: 'MatMul', provider: 'WebGpuExecutionProvider' },
    ]);
    const whole = parsePlacementLog(
      '2026-11-29 02:17:46.224177847 [V:onnxruntime:, session_state.cc:1380 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [CPUExecutionProvider]. Number of nodes: 2',
    );
    expect(placementNodes(whole, [{ name: 'a', opType: 'MatMul' }, { name: 'b', opType: 'Softmax' }])).toEqual({
      nodes: [
        { name: 'a', opType: 'MatMul', provider: 'CPUExecutionProvider' },
        { name: 'b', opType: 'Softmax', provider: 'CPUExecutionProvider' },
      ],
      notes: [],
    });
    expect(parsePlacementLog('nothing here').reported).toBe(false);
  });

  it('copies shared views before writeBuffer and leaves others alone', () => {
    const calls: unknown[][] = [];
    class FakeQueue {
      writeBuffer(...args: unknown[]) {
        calls.push(args);
      }
    }
    patchWriteBuffer(FakeQueue);
    patchWriteBuffer(FakeQueue); // idempotent: no double wrapping
    const shared = new Float32Array(new SharedArrayBuffer(16)).fill(2.5);
    const plain = new Float32Array([1, 2]);
    new FakeQueue().writeBuffer('buf', 0, shared, 1, 2);
    new FakeQueue().writeBuffer('buf', 8, plain);
    expect(calls).toHaveLength(2);
    const sent = calls[0]![2] as Float32Array;
    expect(sent).toBeInstanceOf(Float32Array);
    expect(sent.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...sent]).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(calls[0]!.slice(3)).toEqual([1, 2]);
    expect(calls[1]).toEqual(['buf', 8, plain]);
  });

  it('recognises software adapters', () => {
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { description: 'Google SwiftShader' } })).toBe(true);
    expect(isSoftwareAdapter({ isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA A100' } })).toBe(false);
  });

  it('keeps the reference honest: weights are the ones the model embeds', () => {
    expect(weights.w).toHaveLength(D * D);
    expect(weights.emb).toHaveLength(VOCAB * D);
  });
});
