import { describe, expect, it } from 'vitest';
import { DEFAULT_BENCH_MODELS } from '@staircase/trainer';
import { combineRounds, type SuiteReport, runSuite, suiteMarkdown, type TargetRow, targets } from '../src/index.js';

// The whole bench at tiny size, 2 steps: structure only, no timing assertion anywhere.
describe('pnpm bench (tiny)', () => {
  let report: SuiteReport;
  const progress: string[] = [];

  it('runs TensorFlow.js, the ONNX hook and the PyTorch peer in one invocation', async () => {
    report = await runSuite({ size: 'tiny', steps: 2, warmup: 1, workers: 2, positions: [16, 64], streamTokens: 2, rounds: 2, onProgress: (l) => progress.push(l) });
    expect(report.schema).toBe('staircase-bench-suite/2');
    expect(report.rounds).toHaveLength(2);
    const s = report.rounds[1]!.staircase;
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
    // Measured model by model, the rounds merge into one report each: the schedule overhead needs
    // Transformer-XL, which was measured in another part of the round.
    for (const r of report.rounds) {
      expect(r.staircase.models.map((m) => m.id)).toEqual(DEFAULT_BENCH_MODELS);
      expect(r.staircase.derived.scheduleOverhead.filter((f) => f.backend === 'wasm').map((f) => f.model)).toEqual(['staircase-n2', 'staircase-n4']);
    }
    const pytorch = report.rounds[1]!.pytorch;
    if (pytorch.status === 'measured') {
      expect(pytorch.results.map((r) => r.model)).toEqual(DEFAULT_BENCH_MODELS);
      // Round 1 measures TensorFlow.js first, round 2 the peer first, model by model.
      const at = (prefix: string) => progress.findIndex((l) => l.startsWith(prefix));
      const [round1, round2] = [at('round 1 of 2: staircase-n2'), at('round 2 of 2: staircase-n2')];
      const firstAfter = (start: number) => progress.slice(start + 1).find((l) => /^(pytorch|wasm|cpu|webgpu|tensorflow) /.test(l))!;
      expect(firstAfter(round1)).not.toMatch(/^pytorch/);
      expect(firstAfter(round2)).toMatch(/^pytorch staircase-n2/);
      for (const r of pytorch.results) {
        if (r.error) continue;
        expect(r.measured).toEqual(
          expect.objectContaining({ torch: expect.any(String), train_tokens_per_s: expect.any(Number), eval_tokens_per_s: expect.any(Number) }),
        );
      }
    } else {
      expect(pytorch.status).toBe('unavailable');
      expect(pytorch.reason).toMatch(/\S/);
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
    for (const t of report.targets) {
      expect(['stretch', 'yes', 'no', 'n/a']).toContain(t.met);
      expect(t.rounds).toHaveLength(2);
    }
    const peerMeasured = report.rounds[0]!.pytorch.status === 'measured';
    if (!peerMeasured) {
      const wasm = report.targets.filter((t) => t.figure.startsWith('TF.js WASM'));
      expect(wasm.every((t) => t.met === 'n/a' && /pytorch: unavailable/.test(t.note ?? ''))).toBe(true);
    }
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);

    const md = suiteMarkdown(report);
    expect(md).toMatch(/### TensorFlow\.js \(`staircase bench`\) \(round 2 of 2\)/);
    expect(md).toMatch(/### PyTorch peer \(round 1 of 2\)/);
    expect(md).toMatch(/\| figure \| backend \| model \| value \| rounds \| target \| stretch \| met \| met every round \| note \|/);
    expect(md.split('\n').filter((l) => l.startsWith('| ') && l.includes(' ≥ 0.5 '))).toHaveLength(
      report.targets.filter((t) => t.target === '≥ 0.5').length,
    );
    expect(md).toMatch(/onnx: /);
    if (!peerMeasured) expect(md).toMatch(/pytorch: unavailable \(.+\)/);
  });

  it('computes ratios against the peer', () => {
    const fake = structuredClone(report.rounds[0]!);
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

  it('combines rounds: the median of a speed ratio, the worst of a memory figure, met in every round', () => {
    const ratio = (model: string, value: number | null): TargetRow => ({
      figure: 'TF.js WASM training tokens/s ÷ PyTorch',
      backend: 'wasm',
      model,
      value,
      target: '≥ 0.5',
      stretch: '≥ 1',
      met: value === null ? 'n/a' : value >= 1 ? 'stretch' : value >= 0.5 ? 'yes' : 'no',
      combine: 'median',
    });
    const rss = (model: string, value: number): TargetRow => ({
      figure: 'RSS growth over the measured steps, %',
      backend: 'wasm',
      model,
      value,
      target: '< 5',
      stretch: '',
      met: value < 5 ? 'yes' : 'no',
      combine: 'worst',
    });
    const rows = combineRounds([
      [ratio('transformer-xl', 0.45), ratio('ladder-r2', 0.7), rss('worst of 2: ladder-r2', 1.5)],
      [ratio('transformer-xl', 0.6), ratio('ladder-r2', null), rss('worst of 2: transformer-xl', 6)],
      [ratio('transformer-xl', 0.55), ratio('ladder-r2', 1.2), rss('worst of 2: ladder-r2', 2)],
    ]);
    expect(rows).toHaveLength(3);
    const [xl, ladder, memory] = rows as [(typeof rows)[number], (typeof rows)[number], (typeof rows)[number]];
    expect(xl).toMatchObject({ value: 0.55, rounds: [0.45, 0.6, 0.55], met: 'yes', metEveryRound: 'no' });
    expect(ladder).toMatchObject({ value: 0.95, rounds: [0.7, null, 1.2], met: 'yes', metEveryRound: 'n/a' });
    expect(memory).toMatchObject({ model: 'worst of 2: transformer-xl', value: 6, rounds: [1.5, 6, 2], met: 'no', metEveryRound: 'no' });
  });
});
