import { describe, expect, it } from 'vitest';
import { DEFAULT_BENCH_MODELS, onnxLabel } from '@staircase/benchmark';
import { combineRounds, type SuiteReport, runSuite, suiteMarkdown, type TargetRow, targets } from '../src/index.js';

/** Every markdown table (a run of lines starting with `|`) has as many cells in each line as in its header. */
function expectTablesWellFormed(md: string): void {
  const tables: string[][] = [];
  let previous = '';
  for (const line of md.split('\n')) {
    if (line.startsWith('|') && !previous.startsWith('|')) tables.push([]);
    if (line.startsWith('|')) tables.at(-1)!.push(line);
    previous = line;
  }
  expect(tables.length).toBeGreaterThan(0);
  for (const table of tables) {
    const cells = table.map((l) => l.split('|').length);
    expect(cells, table.join('\n')).toEqual(cells.map(() => cells[0]));
  }
}

// The whole bench at tiny size, 2 steps: structure only, no timing assertion anywhere.
describe('pnpm bench (tiny)', () => {
  let report: SuiteReport;
  const progress: string[] = [];

  it('runs TensorFlow.js, the ONNX hook and the PyTorch peer in one invocation', async () => {
    report = await runSuite({ size: 'tiny', steps: 2, warmup: 1, workers: 2, positions: [16, 64], streamTokens: 2, rounds: 2, pairs: 4, onProgress: (l) => progress.push(l) });
    expect(report.schema).toBe('staircase-bench-suite/3');
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
      // Data-parallel training is measured on the single-threaded backends (a failure would be
      // reported, not thrown; here, run from sources under vitest, the workers must start too).
      if (r.backend === 'wasm' || r.backend === 'cpu') {
        expect(r.trainParallel).toEqual(expect.objectContaining({ workers: 2, tokensPerS: expect.any(Number) }));
        expect(r.trainParallel!.error).toBeUndefined();
        expect(r.trainParallel!.tokensPerS).toBeGreaterThan(0);
      }
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
    // Training (WASM, 2 workers) and ONNX Runtime evaluation in pairs (`pairs: 4`): where both
    // sides ran, every model, 4 ratios of two positive times each; the targets stay the separate runs'.
    for (const r of report.rounds) {
      if (r.pytorch.status !== 'measured') {
        expect(r.paired).toEqual([]);
        continue;
      }
      const whats = r.staircase.onnx.status === 'measured' ? ['train', 'eval'] : ['train'];
      expect(r.paired.map((p) => `${p.what} ${p.model}`)).toEqual(DEFAULT_BENCH_MODELS.flatMap((m) => whats.map((w) => `${w} ${m}`)));
      for (const p of r.paired) {
        expect(p.error).toBeUndefined();
        expect(p.stepsPerRun).toBe(1);
        expect(p.ratios).toHaveLength(4);
        expect([...p.oursMs, ...p.pytorchMs].every((ms) => ms > 0)).toBe(true);
        expect(p.ratios).toEqual(p.pytorchMs.map((ms, k) => ms / p.oursMs[k]!));
        expect(p.ours).toBe(p.what === 'train' ? 'wasm, 2 workers' : onnxLabel(r.staircase.onnx.results[0]!));
      }
      expect(r.targets).toEqual(targets(r.staircase, r.pytorch));
    }
    // Every ONNX model also scored with int8 weight products, beside the peer's int8 figure.
    for (const r of report.rounds) {
      if (r.staircase.onnx.status !== 'measured') continue;
      for (const o of r.staircase.onnx.results) {
        expect(o.evalInt8TokensPerS, o.error).toBeGreaterThan(0);
        expect(o.int8LogitsRelError).toBeGreaterThan(0);
        expect(o.int8LogitsRelError).toBeLessThan(0.1);
      }
      if (r.pytorch.status !== 'measured') continue;
      const int8 = r.targets.filter((t) => t.figure.startsWith('int8 weights on both sides'));
      expect(int8.map((t) => t.model)).toEqual(r.staircase.onnx.results.map((o) => o.model));
      expect(int8.every((t) => t.value !== null && t.value > 0)).toBe(true);
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
    expectTablesWellFormed(md);
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

  it('gives the int8 ratio its own row, with the int8 failure as its note and the float32 row untouched; CPU results only', () => {
    const fake = structuredClone(report.rounds[0]!);
    fake.staircase.onnx = {
      status: 'measured',
      results: [
        { model: 'transformer-xl', runtime: 'onnxruntime-node 0', executionProvider: 'cpu', evalTokensPerS: 300, evalInt8TokensPerS: 600, int8LogitsRelError: 0.01 },
        { model: 'ladder-r2', runtime: 'onnxruntime-node 0', executionProvider: 'cpu', evalTokensPerS: 300, int8Error: 'no integer products here' },
        // A GPU's figure is reported, not held against the CPU peer.
        { model: 'transformer-xl', runtime: 'onnxruntime-web 0', executionProvider: 'webgpu', evalTokensPerS: 9000 },
      ],
    };
    const measured = { torch: '0', blas: 'none', threads: 1, blas_threads: 2, train_tokens_per_s: 100, eval_tokens_per_s: 100, eval_int8_tokens_per_s: 200, eval_int8_threads: '2 + 1', stream_ms_per_token: {}, peak_rss_mb: 1 };
    const pytorch = { status: 'measured' as const, python: 'fake', results: ['transformer-xl', 'ladder-r2'].map((model) => ({ model, measured })) };
    const rows = targets(fake.staircase, pytorch).filter((t) => t.figure.includes('ONNX Runtime evaluation'));
    expect(rows.map((t) => t.backend)).toEqual(Array(4).fill('onnxruntime-node 0 cpu'));
    const pick = (prefix: string, model: string) => rows.find((t) => t.figure.startsWith(prefix) && t.model === model)!;
    expect([pick('ONNX', 'transformer-xl').value, pick('int8', 'transformer-xl').value]).toEqual([3, 3]);
    expect(pick('int8', 'transformer-xl').note).toBe('PyTorch: 2 + 1 threads');
    expect(pick('ONNX', 'ladder-r2')).toMatchObject({ value: 3 });
    expect(pick('ONNX', 'ladder-r2').note).toBeUndefined();
    expect(pick('int8', 'ladder-r2')).toMatchObject({ value: null, met: 'n/a', note: 'int8: no integer products here' });
  });

  it('lists paired runs beside the separate runs\' ratio in each round\'s markdown', () => {
    const fake = structuredClone(report.rounds[0]!);
    const models = ['transformer-xl', 'ladder-r2'] as const;
    fake.staircase.onnx = {
      status: 'measured',
      results: models.map((model) => ({ model, runtime: 'onnxruntime-node 0', executionProvider: 'cpu', evalTokensPerS: 300, streamMsPerToken: {} })),
    };
    // No streaming positions (`--positions ""`): no stream columns or figures, tables still whole.
    fake.staircase.settings.positions = [];
    fake.staircase.results = models.map((model) => ({
      backend: 'wasm',
      model,
      kind: model,
      parameters: 1,
      layerApplicationsPerToken: 2,
      train: { tokensPerS: 50, msPerStep: 1, steps: 1, warmup: 0, firstLoss: 1, lastLoss: 1 },
      trainParallel: { workers: 2, tokensPerS: 80, msPerStep: 1, steps: 1, warmup: 0 },
    }));
    const measured = { torch: '0', blas: 'none', threads: 1, blas_threads: 2, train_tokens_per_s: 100, eval_tokens_per_s: 100, stream_ms_per_token: {}, peak_rss_mb: 1 };
    const pytorch = { status: 'measured' as const, python: 'fake', results: models.map((model) => ({ model, measured })) };
    const pair = (what: 'train' | 'eval', model: string, ours: string, ratios: number[], error?: string) => ({
      model,
      what,
      ours,
      stepsPerRun: 5,
      oursMs: ratios.map(() => 10),
      pytorchMs: ratios.map((x) => 10 * x),
      ratios,
      value: error ? null : [...ratios].sort((a, b) => a - b)[ratios.length >> 1]!,
      ...(error ? { error } : {}),
    });
    const paired = [
      pair('train', 'transformer-xl', 'wasm, 2 workers', [0.4, 0.6, 0.55]),
      pair('eval', 'transformer-xl', 'onnxruntime-node 0 cpu', [1.2, 2, 1.6]),
      pair('eval', 'ladder-r2', 'onnxruntime-node 0 cpu', [], 'run.py serve ended (exit 1): boom'),
    ];
    // The targets are the separate runs' ratios whatever the pairs say.
    const rows = targets(fake.staircase, pytorch).filter((t) => t.figure.startsWith('ONNX') || t.figure.startsWith('TF.js WASM'));
    expect(rows.map((t) => [t.backend, t.model, t.value])).toEqual([
      ['wasm', 'transformer-xl', 0.5],
      ['wasm, 2 workers', 'transformer-xl', 0.8],
      ['wasm', 'ladder-r2', 0.5],
      ['wasm, 2 workers', 'ladder-r2', 0.8],
      ['onnxruntime-node 0 cpu', 'transformer-xl', 3],
      ['onnxruntime-node 0 cpu', 'ladder-r2', 3],
    ]);
    const md = suiteMarkdown({ schema: 'staircase-bench-suite/3', rounds: [{ ...fake, pytorch, paired, targets: rows }], targets: [] });
    expect(md).toMatch(/\| training \| wasm, 2 workers \| transformer-xl \| 5 \| 3 \| 0\.55 \| 0\.4 \| 0\.6 \| 0\.8 \|/);
    expect(md).toMatch(/\| evaluation \| onnxruntime-node 0 cpu \| transformer-xl \| 5 \| 3 \| 1\.6 \| 1\.2 \| 2 \| 3 \|/);
    expectTablesWellFormed(md);
    expect(md).toMatch(/onnx: transformer-xl \(onnxruntime-node 0, cpu\): eval 300 tok\/s; ladder-r2/);
    expect(md).toMatch(/\| evaluation \| onnxruntime-node 0 cpu \| ladder-r2 \| 5 \| failed: run\.py serve ended \(exit 1\): boom \| +\| +\| +\| 3 \|/);
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
