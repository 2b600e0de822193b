import { describe, expect, it } from 'vitest';
import { describeDevices } from '@staircase/backend-onnx';
import { createModel } from '@staircase/core';
import {
  type OnnxBenchRequest,
  BENCH_MODELS,
  BenchmarkError,
  DEFAULT_BENCH_MODELS,
  benchMarkdown,
  benchModelConfig,
  resolveBenchModels,
  runBench,
} from '../src/index.js';

/** A mistake in the settings: a BenchmarkError, whose message a command line prints alone. */
const isSettingError = (e: unknown): e is BenchmarkError => e instanceof BenchmarkError && e.name === 'BenchmarkError' && !e.message.includes('\n');

const webgpu = (await describeDevices()).find((x) => x.device === 'webgpu');

// Structure only: no timing is asserted anywhere.
describe('runBench', () => {
  it('has a valid config for every model at every size; reference is the issue size', () => {
    for (const size of ['tiny', 'reference'] as const) {
      for (const id of BENCH_MODELS) expect(() => createModel(benchModelConfig(size, id))).not.toThrow();
    }
    const ref = benchModelConfig('reference', 'staircase-n4');
    expect(ref).toMatchObject({ dModel: 256, heads: 4, dFF: 1024, layers: 2, vocabSize: 256, passes: 4, chunk: 32 });
    // A staircase row (n chunks) is as wide as a Transformer-XL segment.
    expect((ref['chunk'] as number) * (ref['passes'] as number)).toBe(128);
    const base = createModel(benchModelConfig('reference', 'transformer-xl')).cost().parameters;
    for (const id of BENCH_MODELS) expect(createModel(benchModelConfig('reference', id)).cost().parameters).toBe(base);
  });

  it('resolves --kinds names and aliases, and refuses unknown ones in one line', () => {
    expect(resolveBenchModels(undefined)).toEqual(DEFAULT_BENCH_MODELS);
    expect(resolveBenchModels(['staircase'])).toEqual(['staircase-n2', 'staircase-n4']);
    expect(resolveBenchModels(['ladder', 'transformer-xl'])).toEqual(['transformer-xl', 'ladder-r2']);
    let error: unknown;
    try {
      resolveBenchModels(['lstm']);
    } catch (e) {
      error = e;
    }
    expect(isSettingError(error)).toBe(true);
    expect((error as Error).message).toMatch(/unknown model "lstm"/);
  });

  it('measures every default model at tiny size and reports JSON and markdown', async () => {
    const requests: OnnxBenchRequest[] = [];
    const report = await runBench({
      size: 'tiny',
      backends: ['cpu'],
      steps: 2,
      warmup: 1,
      positions: [8, 24],
      streamTokens: 2,
      measureOnnx: async (request) => {
        requests.push(request);
        return request.models.map((m) => ({ model: m.id, runtime: 'fake', executionProvider: 'none', evalTokensPerS: 1 }));
      },
    });
    expect(report.schema).toBe('staircase-bench/1');
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.tfjs).toMatch(/^\d+\.\d+/);
    expect(report.machine.node).toBe(process.version);
    expect(report.backends.measured).toEqual(['cpu']);
    expect(report.results.map((r) => r.model)).toEqual(DEFAULT_BENCH_MODELS);
    for (const r of report.results) {
      expect(r.error).toBeUndefined();
      expect(r.train!.tokensPerS).toBeGreaterThan(0);
      expect(r.eval!.tokensPerS).toBeGreaterThan(0);
      expect(Object.keys(r.stream!.msPerToken)).toEqual(['8', '24']);
      expect(r.stream!.ratio).toBeGreaterThan(0);
      expect(r.memory!.peakRssMb).toBeGreaterThan(0);
      // Leak check figures are present (their values are the bench's finding, not asserted here).
      expect(Number.isInteger(r.memory!.tensorsGrowth)).toBe(true);
      expect(Number.isInteger(r.memory!.tensorsLeaked)).toBe(true);
    }
    expect(report.derived.scheduleOverhead.map((f) => f.model)).toEqual(['staircase-n2', 'staircase-n4']);
    expect(report.derived.streamingRatio).toHaveLength(DEFAULT_BENCH_MODELS.length);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.models.map((m) => m.id)).toEqual(DEFAULT_BENCH_MODELS);
    expect(report.onnx.status).toBe('measured');
    // The report survives JSON.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);

    const md = benchMarkdown(report);
    expect(md).toMatch(/\| backend \| model \| params \| train tok\/s \| eval tok\/s \| stream ms\/token @8 \| stream ms\/token @24 \|/);
    expect(md.split('\n').filter((l) => l.startsWith('| cpu |'))).toHaveLength(DEFAULT_BENCH_MODELS.length);
    expect(md).toMatch(/Schedule overhead/);
    expect(md).toMatch(/onnx: transformer-xl \(fake, none\)/);
  });

  it('measures ONNX Runtime by default, and notes the global cache', async () => {
    const report = await runBench({ size: 'tiny', backends: ['cpu'], kinds: ['global-staircase'], steps: 1, warmup: 0, positions: [] });
    expect(report.results[0]!.note).toMatch(/grows with the history/);
    expect(report.results[0]!.stream).toBeUndefined();
    expect(report.onnx.status, report.onnx.reason).toBe('measured');
    // Default devices: cpu, and auto (WebGPU on a hardware adapter; here it resolves to cpu again
    // and is not measured twice).
    expect(report.settings.onnxDevices).toEqual(['cpu', 'auto']);
    const providers = report.onnx.results.map((r) => r.executionProvider);
    expect(new Set(providers).size).toBe(providers.length);
    expect(report.onnx.results[0]!.executionProvider).toBe('cpu');
    expect(report.onnx.results[0]!.evalTokensPerS).toBeGreaterThan(0);
    // …and again with int8 weight products, whose logits stay near float32's.
    expect(report.onnx.results[0]!.evalInt8TokensPerS).toBeGreaterThan(0);
    expect(report.onnx.results[0]!.int8LogitsRelError).toBeGreaterThan(0);
    expect(report.onnx.results[0]!.int8LogitsRelError).toBeLessThan(0.1);
    expect(benchMarkdown(report)).toMatch(/int8 weights [\d,]+ tok\/s \(logits ±[\d.e-]+\)/);
  });

  it('measures ONNX Runtime on the devices named, int8 on cpu only, and names the WebGPU adapter', async () => {
    const report = await runBench({
      size: 'tiny',
      backends: ['cpu'],
      kinds: ['transformer-xl'],
      steps: 1,
      warmup: 0,
      positions: [8, 24],
      streamTokens: 2,
      onnxDevices: ['wasm', 'webgpu'],
    });
    expect(report.settings.onnxDevices).toEqual(['wasm', 'webgpu']);
    const [wasm, gpu] = report.onnx.results;
    expect(report.onnx.results).toHaveLength(2);
    expect(wasm).toMatchObject({ model: 'transformer-xl', runtime: 'onnxruntime-web', executionProvider: 'wasm' });
    expect(wasm!.error).toBeUndefined();
    expect(wasm!.evalTokensPerS).toBeGreaterThan(0);
    expect(Object.keys(wasm!.streamMsPerToken!)).toEqual(['8', '24']);
    expect(wasm!.evalInt8TokensPerS).toBeUndefined();
    expect(gpu).toMatchObject({ model: 'transformer-xl', runtime: 'onnxruntime-web', executionProvider: 'webgpu' });
    if (webgpu?.available) {
      expect(gpu!.error).toBeUndefined();
      expect(gpu!.evalTokensPerS).toBeGreaterThan(0);
      expect(gpu!.int8Error).toBeUndefined();
      expect(report.machine.webgpuAdapter).toMatch(/\S/);
      expect(benchMarkdown(report)).toMatch(/WebGPU adapter: /);
    } else {
      // No adapter here: the device fails in one line, the rest of the report stands.
      expect(gpu!.error).toMatch(/^[^\n]+$/);
      expect(report.results[0]!.train!.tokensPerS).toBeGreaterThan(0);
    }
    expect(benchMarkdown(report)).toMatch(/transformer-xl \(onnxruntime-web, wasm\): eval [\d,]+ tok\/s, stream @8/);
  });

  it('measures no ONNX for an empty device list, no TF.js for an empty backend list, and refuses an unknown device in one line', async () => {
    const report = await runBench({ size: 'tiny', backends: ['cpu'], kinds: ['transformer-xl'], steps: 1, warmup: 0, positions: [], onnxDevices: [] });
    expect(report.onnx).toEqual({ status: 'skipped', reason: 'not requested', results: [] });
    expect(report.results.map((r) => r.backend)).toEqual(['cpu']);
    const onnxOnly = await runBench({ size: 'tiny', backends: [], kinds: ['transformer-xl'], steps: 1, warmup: 0, positions: [], onnxDevices: ['cpu'] });
    expect(onnxOnly.backends.measured).toEqual([]);
    expect(onnxOnly.results).toEqual([]);
    expect(onnxOnly.onnx.results.map((r) => [r.model, r.executionProvider])).toEqual([['transformer-xl', 'cpu']]);
    expect(benchMarkdown(onnxOnly)).toMatch(/\n\nTensorFlow.js: no backend measured.\n\nonnx: transformer-xl \(onnxruntime-node, cpu\): eval/);
    let error: unknown;
    try {
      await runBench({ size: 'tiny', backends: ['cpu'], kinds: ['transformer-xl'], onnxDevices: ['cpu', 'gpu'] });
    } catch (e) {
      error = e;
    }
    expect(isSettingError(error)).toBe(true);
    expect((error as Error).message).toBe('--onnx-devices: unknown device "gpu"; use cpu, wasm, webgpu, auto');
  });
});
