/**
 * The browser test's page: opens the export served next to it on the device in the query string
 * (`?device=wasm|webgpu`) and streams the reference tokens through the segment graph.
 */
import { OnnxModel } from '../../src/index.js';

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function run(device: 'wasm' | 'webgpu', tokens: number[]): Promise<{ device: string; logits: number[] }> {
  const files = { step: await bytes('model.onnx'), segment: await bytes('model.segment.onnx') };
  const model = await OnnxModel.load(files, { device, wasmPaths: '/ort/' });
  try {
    const logits = await model.stream(1, 'segment').append(tokens, tokens.length);
    return { device: model.device, logits: Array.from(logits) };
  } finally {
    await model.release();
  }
}

(globalThis as { runCase?: unknown }).runCase = async (device: 'wasm' | 'webgpu', tokens: number[]) => {
  try {
    return { ok: true, ...(await run(device, tokens)) };
  } catch (e) {
    return { ok: false, error: String((e as Error)?.message ?? e) };
  }
};
