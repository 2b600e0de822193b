/**
 * `auto` on a machine with a hardware WebGPU adapter: a float32 export would go to WebGPU, an int8
 * one must stay on the CPU path (WebGPU has no integer products). The probe is stubbed to report
 * such an adapter, so this holds on machines without a GPU too.
 */
import '@staircase/ladder';
import { createModel, initParams } from '@staircase/core';
import { expect, it, vi } from 'vitest';

vi.mock('../src/runtime/webgpu.js', async (original) => ({
  ...(await original<typeof import('../src/runtime/webgpu.js')>()),
  probeWebGpu: async () => ({ software: false, description: 'stub: a hardware adapter' }),
}));

const { OnnxModel, exportModel } = await import('../src/index.js');
const { resolveDevice } = await import('../src/runtime/devices.js');

it('auto picks WebGPU for float32 but opens an int8 export on the CPU path', async () => {
  expect((await resolveDevice('auto')).device).toBe('webgpu');
  const model = createModel({ kind: 'transformer-xl', memory: 4, vocabSize: 20, dModel: 16, heads: 2, layers: 1, dFF: 32, seed: 1 });
  const onnx = await OnnxModel.load(exportModel(model, initParams(model.paramSpecs(), 1), { quantize: 'int8' }));
  try {
    expect(onnx.device).toBe('cpu');
  } finally {
    await onnx.release();
  }
});
