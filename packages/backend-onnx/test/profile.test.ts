import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { openSession, summarizeProfile } from '../src/runtime/index.js';
import { productFlops } from '../src/runtime/profile.js';
import { D, layerModel, SEQ, series, VOCAB } from './fixtures-runtime/models.js';

const profileDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('staircase-ort-profile-'));

function feeds(batch: number) {
  return {
    x: { type: 'float32' as const, data: new Float32Array(series(batch * SEQ * D, 1.5, batch)), dims: [batch, SEQ, D] },
    ids: { type: 'int32' as const, data: Int32Array.from({ length: batch * SEQ }, (_, i) => (i * 7 + batch) % VOCAB), dims: [batch, SEQ] },
  };
}

describe('ONNX Runtime profiles (onnxruntime-node)', () => {
  it('counts the runs and times each operator type, with the products\' FLOPs from their shapes', async () => {
    const before = profileDirs();
    const session = await openSession(layerModel(), { device: 'cpu', profile: true, threads: 1 });
    try {
      for (let i = 0; i < 3; i++) await session.run(feeds(2));
      // The first run (memory planning) left out.
      const profile = await session.endProfile({ skipRuns: 1 });
      expect(profile.runs).toBe(2);
      expect(profile.msPerRun).toBeGreaterThan(0);
      const ops = new Map(profile.ops.map((o) => [o.op, o]));
      expect([...ops.keys()]).toEqual(expect.arrayContaining(['Softmax', 'Transpose', 'Concat', 'Slice']));
      // x [2, 3, 4] · W [4, 4], whatever ONNX Runtime fused it into: 2 · 2·3·4 outputs · 4.
      const products = profile.ops.filter((o) => o.flopsPerRun !== undefined);
      expect(products.length).toBeGreaterThan(0);
      expect(products.reduce((n, o) => n + o.flopsPerRun!, 0)).toBe(2 * 2 * SEQ * D * D);
      expect(ops.get('Softmax')!.nodes).toBe(1);
      expect(ops.get('Softmax')!.flopsPerRun).toBeUndefined();
      // Most time first; kernels are part of each run.
      expect(profile.ops.map((o) => o.msPerRun)).toEqual([...profile.ops.map((o) => o.msPerRun)].sort((a, b) => b - a));
      expect(profile.ops.reduce((t, o) => t + o.msPerRun, 0)).toBeLessThanOrEqual(profile.msPerRun + 1e-6);
      await expect(session.endProfile()).rejects.toThrow(/already ended/);
    } finally {
      await session.release();
    }
    expect(profileDirs()).toEqual(before);
  });

  it('says so when a session was opened without profile, or on a runtime that cannot profile', async () => {
    const plain = await openSession(layerModel(), { device: 'cpu' });
    try {
      await expect(plain.endProfile()).rejects.toThrow(/opened without profile: true/);
    } finally {
      await plain.release();
    }
    await expect(openSession(layerModel(), { device: 'wasm', profile: true })).rejects.toThrow(/onnxruntime-node only .*not on onnxruntime-web \(wasm\)/);
    // A model ONNX Runtime cannot open leaves no profile directory behind.
    const before = profileDirs();
    await expect(openSession(layerModel().subarray(0, 40), { device: 'cpu', profile: true })).rejects.toThrow(/ONNX/);
    expect(profileDirs()).toEqual(before);
  });

  it('removes an unread profile when the session is released', async () => {
    const before = profileDirs();
    const session = await openSession(layerModel(), { device: 'cpu', profile: true });
    await session.run(feeds(1));
    expect(profileDirs().length).toBe(before.length + 1);
    await session.release();
    expect(profileDirs()).toEqual(before);
  });
});

describe('summarizeProfile', () => {
  const node = (op: string, dur: number, inputs: number[][], output: number[]) => ({
    cat: 'Node',
    name: `${op}_node_kernel_time`,
    dur,
    args: { op_name: op, input_type_shape: inputs.map((s) => ({ float: s })), output_type_shape: [{ float: output }] },
  });
  const run = (dur: number) => ({ cat: 'Session', name: 'model_run', dur });

  it('averages per run and takes K from the first input whether or not it is transposed', () => {
    const trace = [
      run(1000),
      node('MatMul', 400, [[8, 128, 256], [256, 1024]], [8, 128, 1024]),
      // Queries · keysᵀ with the keys transposed inside the node: K = 64.
      node('FusedMatMul', 100, [[32, 128, 64], [32, 256, 64]], [32, 128, 256]),
      node('Softmax', 50, [[32, 128, 256]], [32, 128, 256]),
      { cat: 'Node', name: 'Softmax_node_fence_before', dur: 7, args: { op_name: 'Softmax' } },
      run(3000),
      node('MatMul', 600, [[8, 128, 256], [256, 1024]], [8, 128, 1024]),
      node('FusedMatMul', 100, [[32, 128, 64], [32, 256, 64]], [32, 128, 256]),
      node('Softmax', 250, [[32, 128, 256]], [32, 128, 256]),
    ];
    // Per run: the FFN-like product's and the softmax's time; the attention-like product takes 0.1 ms.
    const expected = (runs: number, msPerRun: number, matMulMs: number, softmaxMs: number) => ({
      runs,
      msPerRun,
      ops: [
        { op: 'MatMul', msPerRun: matMulMs, nodes: 1, flopsPerRun: 2 * 8 * 128 * 1024 * 256 },
        { op: 'Softmax', msPerRun: softmaxMs, nodes: 1 },
        { op: 'FusedMatMul', msPerRun: 0.1, nodes: 1, flopsPerRun: 2 * 32 * 128 * 256 * 64 },
      ],
    });
    expect(summarizeProfile(trace)).toEqual(expected(2, 2, 0.5, 0.15));
    // Leaving out the first run (it starts before the second; nodes are inside their run).
    const timed = trace.map((e, i) => ({ ...e, ts: i < 5 ? 10 + i : 100 + i }));
    expect(summarizeProfile(timed, { skipRuns: 1 })).toEqual(expected(1, 3, 0.6, 0.25));
    expect(summarizeProfile(timed, { skipRuns: 2 })).toEqual({ runs: 0, msPerRun: 0, ops: [] });
    // A transposed first operand ([K, M] with M = 128 rows out): the same K.
    expect(productFlops([[64, 128], [64, 256]], [128, 256])).toBe(2 * 128 * 256 * 64);
  });

  it('refuses what is not a profile; a profile without runs is empty', () => {
    expect(() => summarizeProfile({ traceEvents: [] })).toThrow(/not an ONNX Runtime profile/);
    expect(summarizeProfile([{ cat: 'Session', name: 'model_loading_array', dur: 5 }])).toEqual({ runs: 0, msPerRun: 0, ops: [] });
  });
});
