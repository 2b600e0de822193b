/**
 * Where ONNX Runtime's evaluation time goes, per operator type: each bench model exported, opened
 * with ONNX Runtime's profiler on, scored batch × length at a time as `pnpm bench` scores it.
 */
import { BENCH_SIZE_SPECS, type BenchSize, BenchmarkError, benchModelConfig, type OnnxEvalSession, openOnnxEval, resolveBenchModels } from '@staircase/benchmark';

/** ONNX Runtime's profile of one model's runs (`OnnxProfile` of `@staircase/backend-onnx`). */
export type OnnxProfile = Awaited<ReturnType<OnnxEvalSession['endProfile']>>;

/** One model's profile. */
export interface OnnxEvalProfile {
  readonly model: string;
  /** e.g. `onnxruntime-node cpu`. */
  readonly label: string;
  readonly batch: number;
  readonly length: number;
  /** Runs left out of the profile before the profiled ones (`profile.runs`). */
  readonly warmup: number;
  /** Milliseconds per run as the caller sees it (profiling on). */
  readonly wallMsPerRun: number;
  readonly profile: OnnxProfile;
}

/** Options of {@link profileOnnxEval}. */
export interface ProfileRunOptions {
  readonly size?: BenchSize;
  /** Model ids or kind names, as `pnpm bench --kinds` takes them. */
  readonly kinds?: readonly string[];
  /** Profiled runs per model (default 35). */
  readonly runs?: number;
  /** Runs before them, left out of the profile (default 5). */
  readonly warmup?: number;
  /** `int8`: profile the int8 export (weight products in int8). Default float32. */
  readonly quantize?: 'int8';
  readonly onProgress?: (line: string) => void;
}

/** Profiles ONNX Runtime's evaluation of each model (onnxruntime-node, CPU, every core). */
export async function profileOnnxEval(options: ProfileRunOptions = {}): Promise<OnnxEvalProfile[]> {
  const size = options.size ?? 'reference';
  const { batch, length } = BENCH_SIZE_SPECS[size];
  const runs = options.runs ?? 35;
  const warmup = options.warmup ?? 5;
  if (!(runs >= 1)) throw new BenchmarkError('--runs: profile at least 1 run');
  const out: OnnxEvalProfile[] = [];
  for (const model of resolveBenchModels(options.kinds)) {
    options.onProgress?.(`profile ${model}: ${warmup} + ${runs} runs of ${batch} × ${length} tokens`);
    const session = await openOnnxEval(benchModelConfig(size, model), { batch, length, batches: warmup + runs }, { profile: true, ...(options.quantize ? { quantize: options.quantize } : {}) });
    try {
      await session.time(warmup);
      const wallMsPerRun = (await session.time(runs)) / runs;
      const profile = await session.endProfile({ skipRuns: warmup });
      out.push({ model, label: options.quantize ? `${session.label}, int8 weights` : session.label, batch, length, warmup, wallMsPerRun, profile });
    } finally {
      await session.close();
    }
  }
  return out;
}

const fixed = (x: number, digits: number) => x.toFixed(digits);
/** Three significant digits: GFLOP counts span 0.0001 (tiny) to 10 (reference). */
const gflop = (flops: number) => String(Number((flops / 1e9).toPrecision(3)));

/** The profiles as markdown: one line and one table per model. */
export function profileMarkdown(profiles: readonly OnnxEvalProfile[]): string {
  const lines: string[] = [];
  for (const p of profiles) {
    const kernels = p.profile.ops.reduce((t, o) => t + o.msPerRun, 0);
    const products = p.profile.ops.filter((o) => o.flopsPerRun !== undefined);
    const productMs = products.reduce((t, o) => t + o.msPerRun, 0);
    const productFlops = products.reduce((t, o) => t + o.flopsPerRun!, 0);
    lines.push(
      `### ${p.model} (${p.label}), ${p.batch} × ${p.length} tokens per run`,
      '',
      `${p.profile.runs} runs after ${p.warmup}: ${fixed(p.wallMsPerRun, 2)} ms per run as called, ${fixed(p.profile.msPerRun, 2)} inside ONNX Runtime, ` +
        `${fixed(kernels, 2)} in kernels; matrix products ${fixed(productMs, 2)} ms (${fixed((100 * productMs) / kernels, 1)} % of kernels), ` +
        `${gflop(productFlops)} GFLOP at ${fixed(productFlops / productMs / 1e6, 0)} GFLOP/s.`,
      '',
      '| operator | ms per run | % of kernels | nodes per run | GFLOP per run | GFLOP/s |',
      '|---|---|---|---|---|---|',
    );
    for (const o of p.profile.ops) {
      const flops = o.flopsPerRun === undefined ? ['–', '–'] : [gflop(o.flopsPerRun), fixed(o.flopsPerRun / o.msPerRun / 1e6, 0)];
      lines.push(`| ${o.op} | ${fixed(o.msPerRun, 3)} | ${fixed((100 * o.msPerRun) / kernels, 1)} | ${o.nodes} | ${flops.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
