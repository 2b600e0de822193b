import type { Batch } from '../src/train.js';

/** Command-line options shared by the bench scripts. */
export interface BenchArgs {
  kind: string;
  backend: 'wasm' | 'cpu' | 'webgpu';
  steps: number;
  workers: number;
  batch: number;
  length: number;
  profile: boolean;
  /** 0 turns the XNNPACK batched matMul off (for before/after comparisons). */
  xnn: number;
  /** Model width (default 256, the reference); a tiny width shows the per-op overhead. */
  d: number;
}

export function benchArgs(argv: string[]): BenchArgs {
  const out: BenchArgs = { kind: 'transformer-xl', backend: 'wasm', steps: 5, workers: 1, batch: 8, length: 128, profile: false, xnn: 1, d: 256 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!.replace(/^--/, '');
    if (key === 'profile') out.profile = true;
    else if (key === 'kind' || key === 'backend') (out as unknown as Record<string, string>)[key] = argv[++i]!;
    else (out as unknown as Record<string, number>)[key] = Number(argv[++i]);
  }
  return out;
}

/** The reference size of issue 6, for kind `kind` (staircase: n = 2). */
export function kindConfig(kind: string, d = 256): Record<string, unknown> {
  const core = { vocabSize: 256, dModel: d, heads: 4, layers: 2, dFF: 4 * d, position: { type: 'relative', maxDistance: 256 }, seed: 1 };
  const extra: Record<string, Record<string, unknown>> = {
    'transformer-xl': { memory: 128 },
    staircase: { chunk: 64, passes: 2 },
    'staircase-n4': { kind: 'staircase', chunk: 32, passes: 4 },
    'cached-staircase': { chunk: 64, passes: 2, cacheChunks: 2 },
    ladder: { memory: 128, repeats: 2 },
  };
  return { kind, ...core, ...extra[kind] };
}

/** Deterministic pseudo-random tokens (the speed does not depend on the data). */
export function randomBatch(seed: number, batch: number, length: number): Batch {
  let s = (seed * 2654435761 + 1) >>> 0;
  const next = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s >>> 24;
  };
  const tokens = Int32Array.from({ length: batch * length }, next);
  const targets = Int32Array.from({ length: batch * length }, next);
  return { tokens, targets, batch, length };
}

/** Prints time per kernel name, largest first. */
export function reportProfile(info: { kernels: { name: string; kernelTimeMs: unknown; inputShapes: unknown }[] }): void {
  const byName = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const shapes = k.name === 'StaircaseBatchMatMul' ? `${k.name} ${JSON.stringify(k.inputShapes)} ${JSON.stringify((k as { extraInfo?: unknown }).extraInfo ?? '')}` : k.name === 'BatchMatMul' || k.name === '_FusedMatMul' || k.name === 'StaircaseBatchMatMul' || k.name === 'Transpose' ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = byName.get(shapes) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    byName.set(shapes, e);
    total += ms;
  }
  const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`profile: ${info.kernels.length} kernels, ${total.toFixed(0)} ms in kernels`);
  for (const [name, { ms, n }] of rows.slice(0, 40)) console.log(`${ms.toFixed(1).padStart(8)} ms ${String(n).padStart(5)}× ${name}`);
}
