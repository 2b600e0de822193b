import { describe, expect, it } from 'vitest';
import { DEFAULT_BENCH_MODELS } from '@staircase/trainer';
import { type SuiteReport, runSuite, suiteMarkdown, targets } from '../src/index.js';

// The whole bench at tiny size, 2 steps: structure only, no timing assertion anywhere.
describe('pnpm bench (tiny)', () => {
  let report: SuiteReport;

  it('runs TensorFlow.js, the ONNX hook and the PyTorch peer in one invocation', async () => {
    report = await runSuite({ size: 'tiny', steps: 2, warmup: 1, workers: 2, positions: [16, 64], streamTokens: 2 });
    expect(report.schema).toBe('staircase-bench-suite/1');
    const s = report.staircase;
    expect(s.size).toBe('tiny');
    expect(s.settings).toMatchObject({ steps: 2, warmup: 1, workers: 2, positions: [16, 64] });
    expect(s.machine).toEqual(expect.objectContaining({ cpu: expect.any(String), cores: expect.any(Number), node: process.version }));
    // Default backends at tiny: auto's pick, WASM and CPU.
    expect(s.backends.measured).toEqual(expect.arrayContaining(['wasm', 'cpu']));
    expect(s.results).toHaveLength(s.backends.measured.length * DEFAULT_BENCH_MODELS.length);
    for (const r of s.results) {
      expect(r.error).toBeUndefined();
      expect(r).toEqual(
        expect.objectContaining({
          train: expect.objectContaining({ tokensPerS: expect.any(Number), steps: 2, warmup: 1 }),
          eval: expect.objectContaining({ tokensPerS: expect.any(Number) }),
          memory: expect.objectContaining({ peakRssMb: expect.any(Number), tensorsGrowth: expect.any(Number), tensorsLeaked: expect.any(Number) }),
          stream: expect.objectContaining({ msPerToken: { '16': expect.any(Number), '64': expect.any(Number) } }),
        }),
      );
      // Data-parallel training is measured on the single-threaded backends (a failure is reported, not thrown).
      if (r.backend === 'wasm' || r.backend === 'cpu') expect(r.trainParallel).toEqual(expect.objectContaining({ workers: 2, tokensPerS: expect.any(Number) }));
    }
    expect(['measured', 'not installed', 'failed']).toContain(s.onnx.status);
    // The peer either measured every model or says why it could not run.
    if (report.pytorch.status === 'measured') {
      expect(report.pytorch.results.map((r) => r.model)).toEqual(DEFAULT_BENCH_MODELS);
      for (const r of report.pytorch.results) {
        if (r.error) continue;
        expect(r.measured).toEqual(
          expect.objectContaining({ torch: expect.any(String), train_tokens_per_s: expect.any(Number), eval_tokens_per_s: expect.any(Number) }),
        );
      }
    } else {
      expect(report.pytorch.status).toBe('unavailable');
      expect(report.pytorch.reason).toMatch(/\S/);
    }
  });

  it('reports every target with a met column, as JSON and markdown', () => {
    const figures = new Set(report.targets.map((t) => t.figure));
    expect([...figures]).toEqual(
      expect.arrayContaining([
        'TF.js WASM training tokens/s ÷ PyTorch',
        'ONNX Runtime evaluation tokens/s ÷ PyTorch (no grad)',
        'staircase tokens/s × n ÷ Transformer-XL tokens/s (schedule overhead)',
        'streaming latency per token at 64 ÷ at 16',
        'tensors alive: growth over the measured steps',
        'RSS growth over the measured steps, %',
      ]),
    );
    for (const t of report.targets) expect(['stretch', 'yes', 'no', 'n/a']).toContain(t.met);
    if (report.pytorch.status !== 'measured') {
      const wasm = report.targets.filter((t) => t.figure.startsWith('TF.js WASM'));
      expect(wasm.every((t) => t.met === 'n/a' && /pytorch: unavailable/.test(t.note ?? ''))).toBe(true);
    }
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);

    const md = suiteMarkdown(report);
    expect(md).toMatch(/### TensorFlow\.js/);
    expect(md).toMatch(/### PyTorch peer/);
    expect(md).toMatch(/\| figure \| backend \| model \| value \| target \| stretch \| met \| note \|/);
    expect(md.split('\n').filter((l) => l.startsWith('| ') && l.includes(' ≥ 0.5 '))).toHaveLength(
      report.targets.filter((t) => t.target === '≥ 0.5').length,
    );
    expect(md).toMatch(/onnx: /);
    if (report.pytorch.status !== 'measured') expect(md).toMatch(/pytorch: unavailable \(.+\)/);
  });

  it('computes ratios against the peer', () => {
    const fake = structuredClone(report);
    const xl = fake.staircase.results.find((r) => r.backend === 'wasm' && r.model === 'transformer-xl')!;
    const pytorch = {
      status: 'measured' as const,
      python: 'fake',
      results: [
        {
          model: 'transformer-xl',
          measured: {
            torch: '0',
            blas: 'none',
            threads: 1,
            blas_threads: 2,
            train_tokens_per_s: xl.train!.tokensPerS * 2,
            eval_tokens_per_s: 1,
            stream_ms_per_token: {},
            peak_rss_mb: 1,
          },
        },
      ],
    };
    const row = targets(fake.staircase, pytorch).find((t) => t.figure.startsWith('TF.js WASM') && t.model === 'transformer-xl')!;
    expect(row.value).toBe(0.5);
    expect(row.met).toBe('yes');
  });
});
