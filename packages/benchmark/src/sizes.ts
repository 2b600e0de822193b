/**
 * What the benchmark measures: its sizes (the model stack, the batch shape, the streaming
 * positions) and its models (the kinds, with the recurrence settings that make them comparable).
 */
import { BenchmarkError } from './errors.js';

/** Named sizes of the benchmark: `tiny` (seconds, for tests and CI) and `reference` (the size). */
export const BENCH_SIZES = ['tiny', 'reference'] as const;
/** One of {@link BENCH_SIZES}. */
export type BenchSize = (typeof BENCH_SIZES)[number];

/**
 * The benchmarked models. Staircase is measured at `n` = 2 and 4; the Ladder at `R` = 2.
 * `global-staircase` is not in the default set: its per-token cost grows with the history.
 */
export const BENCH_MODELS = ['transformer-xl', 'staircase-n2', 'staircase-n4', 'cached-staircase', 'ladder-r2', 'global-staircase'] as const;
/** One of {@link BENCH_MODELS}. */
export type BenchModelId = (typeof BENCH_MODELS)[number];
/** The models measured when none are named: every one of {@link BENCH_MODELS} but `global-staircase`. */
export const DEFAULT_BENCH_MODELS: readonly BenchModelId[] = ['transformer-xl', 'staircase-n2', 'staircase-n4', 'cached-staircase', 'ladder-r2'];

/** Aliases accepted by `--kinds`: a model kind names every benchmarked variant of it. */
const KIND_ALIASES: Record<string, readonly BenchModelId[]> = {
  'transformer-xl': ['transformer-xl'],
  staircase: ['staircase-n2', 'staircase-n4'],
  'cached-staircase': ['cached-staircase'],
  ladder: ['ladder-r2'],
  'global-staircase': ['global-staircase'],
};

/** Everything that defines a size: the core stack, the batch shape, the kinds' recurrence fields, the stream. */
export interface BenchSizeSpec {
  readonly core: Readonly<Record<string, unknown>>;
  readonly vocabSize: number;
  readonly batch: number;
  readonly length: number;
  /** Default streaming positions. */
  readonly positions: readonly number[];
  /** Tokens per forward call while the stream is brought to a position. */
  readonly historySegment: number;
  /** Per model: the fields beyond the core stack. */
  readonly models: Readonly<Record<BenchModelId, Readonly<Record<string, unknown>>>>;
}

/**
 * The models' fields at a segment of `length` tokens. Transformer-XL and the Ladder carry a memory
 * of one segment. A staircase with `n` passes uses chunk `F` = `length` / `n`, so one row (`n`
 * chunks, `n·F` tokens) is as wide as a Transformer-XL segment and the matrix shapes are
 * comparable; each token still receives `n` layer applications, which is what the schedule-overhead
 * figure divides out. Cached Staircase: `n` = 2, cache of 2 chunks.
 */
function modelFields(length: number): BenchSizeSpec['models'] {
  return {
    'transformer-xl': { kind: 'transformer-xl', memory: length },
    'staircase-n2': { kind: 'staircase', chunk: length / 2, passes: 2 },
    'staircase-n4': { kind: 'staircase', chunk: length / 4, passes: 4 },
    'cached-staircase': { kind: 'cached-staircase', chunk: length / 2, passes: 2, cacheChunks: 2 },
    'ladder-r2': { kind: 'ladder', memory: length, repeats: 2 },
    'global-staircase': { kind: 'global-staircase', chunk: length / 2, passes: 2 },
  };
}

/**
 * The sizes. Reference is the issue's: d 256, 4 heads, FFN 1024, 2 layers, batch 8 × 128 tokens,
 * vocabulary 256; so a memory of 128, staircase chunks of 64 (`n` = 2) and 32 (`n` = 4), and
 * relative positions spanning 256 (memory + segment). Tiny is the same at 16 tokens, d 32.
 */
export const BENCH_SIZE_SPECS: Record<BenchSize, BenchSizeSpec> = {
  reference: {
    core: { dModel: 256, heads: 4, layers: 2, dFF: 1024, dropout: 0, position: { type: 'relative', maxDistance: 256 } },
    vocabSize: 256,
    batch: 8,
    length: 128,
    positions: [256, 4096, 16384],
    historySegment: 512,
    models: modelFields(128),
  },
  tiny: {
    core: { dModel: 32, heads: 2, layers: 2, dFF: 64, dropout: 0, position: { type: 'relative', maxDistance: 32 } },
    vocabSize: 64,
    batch: 2,
    length: 16,
    positions: [32, 128],
    historySegment: 64,
    models: modelFields(16),
  },
};

/** The model config (the object `createModel` takes) of one benchmarked model at one size. */
export function benchModelConfig(size: BenchSize, id: BenchModelId): Record<string, unknown> {
  const spec = BENCH_SIZE_SPECS[size];
  return { ...spec.core, ...spec.models[id], vocabSize: spec.vocabSize, seed: 0 };
}

/**
 * Parses and checks `--kinds`: model ids or kind names (`staircase` = n 2 and 4, `ladder` = R 2),
 * in the canonical order, once each; none: {@link DEFAULT_BENCH_MODELS}. An unknown name is a
 * {@link BenchmarkError}.
 */
export function resolveBenchModels(kinds: readonly string[] | undefined): BenchModelId[] {
  if (!kinds || kinds.length === 0) return [...DEFAULT_BENCH_MODELS];
  const chosen = new Set<BenchModelId>();
  for (const k of kinds) {
    const ids = KIND_ALIASES[k] ?? ((BENCH_MODELS as readonly string[]).includes(k) ? [k as BenchModelId] : undefined);
    if (!ids) {
      throw new BenchmarkError(`--kinds: unknown model "${k}"; use ${[...Object.keys(KIND_ALIASES), ...BENCH_MODELS.filter((m) => !(m in KIND_ALIASES))].join(', ')}`);
    }
    for (const id of ids) chosen.add(id);
  }
  return BENCH_MODELS.filter((m) => chosen.has(m));
}
