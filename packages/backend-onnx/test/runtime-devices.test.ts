/**
 * Device selection against stand-in `navigator.gpu` objects, so the "no adapter" and "software
 * adapter" paths are tested on every machine. Its own file: the stub must be in place before the
 * runtime layer first looks for WebGPU, and vitest isolates test files.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeDevices, openSession, probeWebGpu } from '../src/runtime/index.js';
import { isModuleNotFound, missingPackageMessage } from '../src/runtime/ort.js';
import { int64Model } from './fixtures-runtime/models.js';

type Adapter = { info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null;
const nav = globalThis as { navigator?: { gpu?: unknown } };
const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');

function stubAdapter(adapter: Adapter) {
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(nav.navigator ?? {}), gpu: { requestAdapter: async () => adapter } },
    configurable: true,
    writable: true,
  });
}

afterEach(() => {
  if (original) Object.defineProperty(globalThis, 'navigator', original);
  else delete nav.navigator;
});

describe('device selection', () => {
  it('explains a missing adapter in one line and falls back for auto', async () => {
    stubAdapter(null);
    await expect(openSession(int64Model(), { device: 'webgpu' })).rejects.toThrow(
      /^WebGPU: no adapter found \(install a Vulkan driver, e\.g\. mesa-vulkan-drivers\) — use --device cpu$/,
    );
    const webgpu = (await describeDevices()).find((d) => d.device === 'webgpu')!;
    expect(webgpu).toEqual({ device: 'webgpu', available: false, reason: expect.stringMatching(/^WebGPU: no adapter found/) });
    expect(await probeWebGpu()).toMatchObject({ error: expect.stringMatching(/^WebGPU: no adapter found/), description: '' });
    const s = await openSession(int64Model(), { device: 'auto' });
    expect([s.runtime, s.device]).toEqual(['onnxruntime-node', 'cpu']);
    await s.release();
  });

  it('auto skips a software adapter but an explicit request may use it', async () => {
    stubAdapter({ info: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } });
    const reports = await describeDevices();
    expect(reports.find((d) => d.device === 'webgpu')).toMatchObject({ available: true, reason: expect.stringMatching(/^software adapter \(llvmpipe/) });
    expect(reports.find((d) => d.device === 'auto')?.reason).toBe('picks cpu here');
    const s = await openSession(int64Model(), { device: 'auto' });
    expect(s.device).toBe('cpu');
    await s.release();
  });

  it('auto would pick a hardware adapter', async () => {
    stubAdapter({ info: { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA A100' } });
    const reports = await describeDevices();
    expect(reports.find((d) => d.device === 'webgpu')?.reason).toBe('onnxruntime-web WebGPU EP on NVIDIA A100, nvidia, ampere');
    expect(await probeWebGpu()).toEqual({ software: false, description: 'NVIDIA A100, nvidia, ampere' });
    expect(reports.find((d) => d.device === 'auto')?.reason).toBe('picks webgpu here');
  });

  it('rejects an unknown device name', async () => {
    await expect(openSession(int64Model(), { device: 'tpu' as never })).rejects.toThrow(/^unknown ONNX device "tpu": use auto, webgpu, wasm or cpu$/);
  });
});

describe('missing packages', () => {
  it('says which package to install', () => {
    expect(missingPackageMessage('node')).toMatch(/^onnxruntime-node is not installed: install onnxruntime-node to run on the CPU in Node/);
    expect(missingPackageMessage('web-webgpu')).toBe('onnxruntime-web is not installed: install onnxruntime-web to run on WebGPU');
    expect(isModuleNotFound(Object.assign(new Error("Cannot find package 'onnxruntime-node'"), { code: 'ERR_MODULE_NOT_FOUND' }))).toBe(true);
    expect(isModuleNotFound(new Error('protobuf parsing failed'))).toBe(false);
  });
});
