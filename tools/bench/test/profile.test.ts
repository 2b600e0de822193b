import { describe, expect, it } from 'vitest';
import { BENCH_SIZE_SPECS, benchModelConfig } from '@staircase/benchmark';
import { profileMarkdown, profileOnnxEval } from '../src/index.js';

// ONNX Runtime's profile of the bench's evaluation at tiny size: structure and FLOP counts only,
// no timing assertion.
describe('pnpm bench:profile (tiny)', () => {
  it('profiles each model, leaving the warm-up out, and counts the products\' FLOPs', async () => {
    const profiles = await profileOnnxEval({ size: 'tiny', kinds: ['transformer-xl', 'staircase-n2'], runs: 3, warmup: 2 });
    expect(profiles.map((p) => p.model)).toEqual(['transformer-xl', 'staircase-n2']);
    const { batch, length, core, vocabSize } = BENCH_SIZE_SPECS.tiny;
    for (const p of profiles) {
      expect(p).toMatchObject({ batch, length, warmup: 2, label: 'onnxruntime-node cpu' });
      expect(p.profile.runs).toBe(3);
      expect(p.wallMsPerRun).toBeGreaterThan(0);
      expect(p.profile.ops.map((o) => o.op)).toEqual(expect.arrayContaining(['Softmax']));
      // The dense products alone (Q/K/V, output, FFN per layer; the output head) are a floor; the
      // attention products come on top.
      const tokens = batch * length * (p.model === 'staircase-n2' ? Number(benchModelConfig('tiny', 'staircase-n2').passes) : 1);
      const [d, ff, layers] = [Number(core.dModel), Number(core.dFF), Number(core.layers)];
      const dense = 2 * tokens * layers * (4 * d * d + 2 * d * ff) + 2 * batch * length * d * vocabSize;
      const flops = p.profile.ops.reduce((n, o) => n + (o.flopsPerRun ?? 0), 0);
      expect(flops).toBeGreaterThan(dense);
      expect(flops).toBeLessThan(2 * dense);
    }
    const md = profileMarkdown(profiles);
    expect(md).toMatch(/### transformer-xl \(onnxruntime-node cpu\), 2 × 16 tokens per run/);
    expect(md).toMatch(/3 runs after 2: [\d.]+ ms per run as called, [\d.]+ inside ONNX Runtime/);
    expect(md).toMatch(/\| Softmax \| [\d.]+ \| [\d.]+ \| \d+ \| – \| – \|/);
    // Tiny products still show their GFLOP (three significant digits, not 0.00).
    const xlFlops = profiles[0]!.profile.ops.reduce((n, o) => n + (o.flopsPerRun ?? 0), 0);
    expect(md).toContain(`${Number((xlFlops / 1e9).toPrecision(3))} GFLOP at`);
    expect(md).not.toMatch(/ 0\.00 GFLOP/);
  });

  it('refuses to profile no run', async () => {
    await expect(profileOnnxEval({ size: 'tiny', runs: 0 })).rejects.toThrow(/--runs: profile at least 1 run/);
  });
});
