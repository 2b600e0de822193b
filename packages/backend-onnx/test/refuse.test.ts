/** Files that cannot be used are refused with one line saying what is wrong. */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { exportModel, FORMAT_VERSION, METADATA_KEY, OnnxModel, } from '../src/index.js';
import { refusalOf, tinyModel } from './helpers.js';

const { model, params } = tinyModel('staircase');
const good = exportModel(model, params);

/** Decodes a graph, lets `edit` change it, encodes it again. */
function edited(bytes: Uint8Array, edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnxProto.onnx.ModelProto.decode(bytes);
  edit(m);
  return onnxProto.onnx.ModelProto.encode(m).finish();
}

function setMetadata(m: onnxProto.onnx.ModelProto, change: (meta: Record<string, unknown>) => void): void {
  const prop = m.metadataProps.find((p) => p.key === METADATA_KEY)!;
  const meta = JSON.parse(prop.value!);
  change(meta);
  prop.value = JSON.stringify(meta);
}

const refusal = (step: Uint8Array, segment = good.segment) => refusalOf({ step, segment });

describe('loading refuses', () => {
  it('a file that is not ONNX', async () => {
    expect(await refusal(new TextEncoder().encode('{"this": "is JSON, not ONNX"}\n'.repeat(20)))).toMatch(/not an ONNX model/);
  });

  it('a truncated file', async () => {
    expect(await refusal(good.step.subarray(0, Math.floor(good.step.length * 0.6)))).toMatch(/truncated/);
  });

  it('an ONNX file without staircase metadata', async () => {
    expect(await refusal(edited(good.step, (m) => m.metadataProps.splice(0)))).toMatch(/no staircase metadata/);
  });

  it('metadata that does not match the graph', async () => {
    const renamed = edited(good.step, (m) => {
      m.graph!.input![0]!.name = 'state.something.else';
    });
    expect(await refusal(renamed)).toMatch(/do not match its staircase metadata/);
    const resized = edited(good.step, (m) => setMetadata(m, (meta) => (meta.tokens = 5)));
    expect(await refusal(resized)).toMatch(/do not match its staircase metadata/);
  });

  it('another format version', async () => {
    const future = edited(good.step, (m) => setMetadata(m, (meta) => (meta.version = FORMAT_VERSION + 1)));
    expect(await refusal(future)).toMatch(new RegExp(`format version ${FORMAT_VERSION + 1}.*reads versions 1 and ${FORMAT_VERSION}`));
  });

  it('a step and a segment graph of different exports, or swapped', async () => {
    const other = exportModel(model, params);
    expect(await refusal(good.step, other.segment)).toMatch(/different exports/);
    expect(await refusal(good.segment, good.step)).toMatch(/is the segment graph, expected the step graph/);
  });
});

it('loads a good export', async () => {
  const m = await OnnxModel.load(good, { device: 'cpu' });
  expect(m.metadata.kind).toBe('staircase');
  await m.release();
});
