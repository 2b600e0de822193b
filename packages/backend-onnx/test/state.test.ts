/**
 * The ONNX streaming state, carried through 1 000+ runs of the step graph, stays equal to the
 * TensorFlow.js streaming state of the same tokens (the padded empty slots hold nothing real).
 */
import { describe, expect, it } from 'vitest';
import { EMPTY_SLOT_BIAS, exportModel, type HostTensor, OnnxModel } from '../src/index.js';
import { KINDS, kvBlocks, maxDiff, TfjsReference, tinyModel, tokenStream } from './helpers.js';

const STEPS = 1000;
const B = 2;

/** The last `n` positions of a `[B, H, L, hd]` (or `[1, 1, 1, L]`) tensor, row-major. */
function lastPositions(data: ArrayLike<number>, dims: readonly number[], n: number): Float32Array {
  const [a, h, len, w] = dims as [number, number, number, number];
  const out = new Float32Array(a * h * n * w);
  for (let i = 0; i < a * h; i++) {
    for (let p = 0; p < n; p++) {
      for (let j = 0; j < w; j++) out[(i * n + p) * w + j] = data[(i * len + len - n + p) * w + j]!;
    }
  }
  return out;
}

describe.each(KINDS)('%s', (kind) => {
  it(`carries the same state as TensorFlow.js over ${STEPS} steps`, async () => {
    const { model, params } = tinyModel(kind);
    // The F-token step graph (what older exports hold): its state is laid out like TensorFlow.js's
    // row-parallel one. One-token step graphs are compared in stream-step.test.ts.
    const exported = exportModel(model, params, { maxPositions: STEPS * 3, stepTokens: (model.config as { chunk?: number }).chunk ?? 1 });
    const G = exported.stepMetadata.tokens;
    const onnx = await OnnxModel.load(exported, { device: 'cpu' });
    const ref = new TfjsReference(model, params);
    const stream = onnx.stream(B, 'step');
    const tokens = tokenStream(B * G * STEPS);
    let worstLogits = 0;
    let worstState = 0;
    let compared = 0;
    try {
      for (let s = 0; s < STEPS; s++) {
        const piece: number[] = [];
        for (let b = 0; b < B; b++) piece.push(...tokens.subarray((b * STEPS + s) * G, (b * STEPS + s + 1) * G));
        worstLogits = Math.max(worstLogits, maxDiff(await stream.append(piece, G), ref.append(piece, B, G)));
        if ((s + 1) % 100 !== 0) continue;
        // Once the TensorFlow.js state has all its blocks (the ONNX one has them from the start,
        // empty), every block equals the real (unmasked) suffix of its ONNX slot.
        const blocks = kvBlocks(ref.state!.data);
        const paths = exported.stepMetadata.state.filter((x) => x.role === 'k').map((x) => x.name.slice(0, -'.k'.length));
        if (paths.join() !== [...blocks.keys()].join()) continue;
        const carried = stream.carried;
        for (const path of paths) {
          const block = blocks.get(path);
          const bias = carried[`state.${path}.bias`] as HostTensor;
          for (const role of ['k', 'v'] as const) {
            const t = block![role] as { shape: number[]; dataSync(): Float32Array };
            const mine = carried[`state.${path}.${role}`] as HostTensor;
            const real = t.shape[2]!;
            worstState = Math.max(worstState, maxDiff(lastPositions(mine.data as Float32Array, mine.dims, real), t.dataSync()));
            compared++;
          }
          // Exactly the real positions are visible.
          const L = bias.dims[3]!;
          const visible = Array.from(bias.data as Float32Array).map((x) => (x === 0 ? 1 : x === EMPTY_SLOT_BIAS ? 0 : Number.NaN));
          const real = (block!.k as { shape: number[] }).shape[2]!;
          expect(visible).toEqual(Array.from({ length: L }, (_, i) => (i >= L - real ? 1 : 0)));
        }
      }
    } finally {
      await onnx.release();
    }
    expect(stream.position).toBe(STEPS * G);
    expect(compared).toBeGreaterThan(0);
    expect(worstLogits).toBeLessThan(1e-4);
    expect(worstState).toBeLessThan(1e-4);
  });
});
