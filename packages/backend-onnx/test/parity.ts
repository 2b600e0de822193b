/**
 * TensorFlow.js vs ONNX Runtime on the same weights, for every model kind and every runtime
 * present: logits, greedy generation and segment scores.
 */
import { describe, expect, it } from 'vitest';
import { type ExportedModel, OnnxModel, exportModel, generate, score } from '../src/index.js';
import { KINDS, TfjsReference, maxDiff, skipReason, tinyModel, tokenStream } from './helpers.js';

const exports = new Map<string, ExportedModel>();
function exported(kind: string): ExportedModel {
  if (!exports.has(kind)) {
    const { model, params } = tinyModel(kind);
    exports.set(kind, exportModel(model, params, { segmentTokens: 12, maxPositions: 320 }));
  }
  return exports.get(kind)!;
}

/** Scores `tokens` as {@link score} does, with TensorFlow.js: rows, segments, carried state. */
function tfjsScore(ref: TfjsReference, tokens: Int32Array, batch: number, T: number): number {
  ref.state = null;
  const V = ref.model.config.vocabSize;
  const row = Math.floor(tokens.length / batch);
  let nll = 0;
  let count = 0;
  for (let s = 0; s < row - 1; s += T) {
    const n = Math.min(T, row - 1 - s);
    const input: number[] = [];
    for (let b = 0; b < batch; b++) input.push(...tokens.subarray(b * row + s, b * row + s + n));
    const logits = ref.append(input, batch, n);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) {
        const o = (b * n + i) * V;
        const max = Math.max(...logits.subarray(o, o + V));
        const lse = Math.log(logits.subarray(o, o + V).reduce((a, x) => a + Math.exp(x - max), 0)) + max;
        nll -= logits[o + tokens[b * row + s + i + 1]!]! - lse;
        count++;
      }
    }
  }
  return nll / count / Math.LN2;
}

/**
 * The parity suite for one device. Each device runs in its own test file (its own process):
 * onnxruntime-web's WASM and WebGPU builds are separate wasm modules that do not share a process.
 */
export function parityTests(device: 'cpu' | 'wasm' | 'webgpu'): void {
  const skip = skipReason(device);
  describe.each(KINDS)('%s', (kind) => {
    it.skipIf(skip)(`logits, greedy generation and segment bpc equal TensorFlow.js's${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      const { model, params } = tinyModel(kind);
      const onnx = await OnnxModel.load(exported(kind), { device });
      try {
        expect(onnx.device).toBe(device);
        // Logits of a batch of 2 fed in uneven pieces (partial and whole runs mixed).
        const ref = new TfjsReference(model, params);
        const stream = onnx.stream(2, 'step');
        const tokens = tokenStream(2 * 40);
        let worst = 0;
        let at = 0;
        for (const n of [5, 1, 7, 2, 9, 3, 13]) {
          const piece: number[] = [];
          for (let b = 0; b < 2; b++) piece.push(...tokens.subarray(b * 40 + at, b * 40 + at + n));
          worst = Math.max(worst, maxDiff(await stream.append(piece, n), ref.append(piece, 2, n)));
          at += n;
        }
        expect(worst).toBeLessThan(1e-4);

        // 200 greedy tokens with the streaming step.
        const prompt = [3, 1, 4, 1, 5];
        const greedy: number[] = [];
        for await (const t of generate(onnx, prompt, 200, { temperature: 0, topK: 0, topP: 1, seed: 0 })) greedy.push(t);
        expect(greedy).toEqual(await ref.greedy(prompt, 200));

        // Bits per token of a 2-row sequence through the segment graph.
        const text = tokenStream(2 * 151);
        const s = await score(onnx, text, { batch: 2 });
        expect(s.count).toBe(2 * 150);
        expect(Math.abs(s.bitsPerToken - tfjsScore(ref, text, 2, onnx.segmentMetadata.tokens))).toBeLessThan(1e-4);
      } finally {
        await onnx.release();
      }
    });
  });
}
