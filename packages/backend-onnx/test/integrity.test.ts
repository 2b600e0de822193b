/**
 * Integrity and self-check: a file whose bytes changed is refused by its checksum, a runtime that
 * returns wrong numbers is refused by the reference batch, and exports from before either existed
 * still load (with a warning).
 */
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import { describe, expect, it, vi } from 'vitest';
import { Sha256 } from '../src/checksum.js';
import { exportModel, METADATA_KEY, OnnxModel, } from '../src/index.js';
import type { OnnxSession } from '../src/runtime/index.js';
import { KINDS, maxDiff, refusalOf, TfjsReference, tinyModel } from './helpers.js';

// A hook the tests set to corrupt what the sessions return (a runtime computing wrongly).
const corrupt: { logits?: (x: Float32Array) => void } = {};
vi.mock('../src/runtime/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/runtime/index.js')>();
  return {
    ...real,
    openSession: async (...args: Parameters<typeof real.openSession>): Promise<OnnxSession> => {
      const session = await real.openSession(...args);
      return {
        ...session,
        release: () => session.release(),
        endProfile: (o) => session.endProfile(o),
        async run(feeds) {
          const out = await session.run(feeds);
          if (corrupt.logits) corrupt.logits(out.logits!.data as Float32Array);
          return out;
        },
      };
    },
  };
});

const { model, params } = tinyModel('staircase');
const good = exportModel(model, params, { segmentTokens: 24 });

const refusal = refusalOf;

it('Sha256 equals node:crypto on lengths around block boundaries, fed in pieces', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255);
    const h = new Sha256();
    for (let at = 0; at < n; at += 37) h.update(bytes.subarray(at, at + 37));
    expect(h.hex()).toBe(createHash('sha256').update(bytes).digest('hex'));
  }
});

describe('the checksum', () => {
  it('is stored in both graphs', () => {
    expect(good.stepMetadata.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(good.segmentMetadata.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses flipped bytes in the weights of either graph', async () => {
    for (const which of ['step', 'segment'] as const) {
      const bytes = good[which].slice();
      // The middle of the file is weights (raw float data): flipping bits there still decodes.
      const at = Math.floor(bytes.length / 2);
      bytes[at]! ^= 0x10;
      bytes[at + 1]! ^= 0x01;
      const files = { ...good, [which]: bytes };
      expect(await refusal(files)).toMatch(new RegExp(`${which} graph: checksum mismatch`));
    }
  });
});

describe('the self-check', () => {
  it('passes on the CPU for every kind, float32 and int8 (the host reference is the model)', async () => {
    for (const kind of KINDS) {
      const t = tinyModel(kind);
      for (const quantize of [undefined, 'int8'] as const) {
        const m = await OnnxModel.load(exportModel(t.model, t.params, { segmentTokens: 12, maxPositions: 64, quantize }), { device: 'cpu' });
        await m.release();
      }
    }
  });

  it("stores logits equal to TensorFlow.js's", () => {
    const ref = good.segmentMetadata.reference!;
    const tf = new TfjsReference(model, params).append(ref.tokens, 1, ref.tokens.length);
    const V = model.config.vocabSize;
    const expected = ref.tokens.flatMap((_, t) => [tf.subarray(t * V, (t + 1) * V).reduce((a, b) => a + b, 0) / V, ...ref.probe.map((v) => tf[t * V + v]!)]);
    expect(maxDiff(ref.logits.flat(), expected)).toBeLessThan(1e-5);
  });

  it('refuses a runtime that returns zeros, or slightly wrong numbers, naming the device', async () => {
    try {
      corrupt.logits = (x) => x.fill(0);
      expect(await refusal(good)).toMatch(/step graph: self-check failed on onnxruntime-node \(cpu\): logits differ .* by [\d.e+-]+ \(tolerance/);
      corrupt.logits = (x) => {
        x[x.length - 1]! += 0.05;
      };
      expect(await refusal(good)).toMatch(/self-check failed on onnxruntime-node \(cpu\).*selfCheck: false/);
      // Skipping the check loads it (and the wrong numbers come back: that is what it guards).
      const m = await OnnxModel.load(good, { device: 'cpu', selfCheck: false });
      await m.release();
    } finally {
      delete corrupt.logits;
    }
  });
});

it('loads an export written before checksums and references, with a warning', async () => {
  const strip = (bytes: Uint8Array) => {
    const m = onnxProto.onnx.ModelProto.decode(bytes);
    const prop = m.metadataProps.find((p) => p.key === METADATA_KEY)!;
    const { sha256: _s, reference: _r, ...old } = JSON.parse(prop.value!);
    prop.value = JSON.stringify(old);
    return onnxProto.onnx.ModelProto.encode(m).finish();
  };
  const warnings: string[] = [];
  const m = await OnnxModel.load({ step: strip(good.step), segment: strip(good.segment) }, { device: 'cpu', onWarning: (w) => warnings.push(w) });
  await m.release();
  expect(warnings).toEqual([expect.stringMatching(/older staircase \(no checksum, no self-check reference\): loading it unchecked/)]);
  const none: string[] = [];
  await (await OnnxModel.load(good, { device: 'cpu', onWarning: (w) => none.push(w) })).release();
  expect(none).toEqual([]);
});
