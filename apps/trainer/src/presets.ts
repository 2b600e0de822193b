import { UsageError } from './errors.js';

/** The built-in model kinds and the config fields each takes beyond the core stack. */
export const KIND_FIELDS: Record<string, readonly string[]> = {
  'transformer-xl': ['memory'],
  ladder: ['memory', 'repeats'],
  staircase: ['chunk', 'passes'],
  'cached-staircase': ['chunk', 'passes', 'cacheChunks'],
  'global-staircase': ['chunk', 'passes'],
  'staircase-ladder': ['chunk', 'passes', 'repeats'],
};

interface Preset {
  readonly description: string;
  /** Core stack: the same for every kind, so presets of one name have equal parameter counts. */
  readonly core: Record<string, unknown>;
  /** Kind-specific fields; each kind takes those it has. */
  readonly recurrence: Record<string, number>;
  readonly train: Record<string, number>;
}

const PRESETS: Record<string, Preset> = {
  tiny: {
    description: 'seconds on a CPU: smoke tests',
    core: { dModel: 32, heads: 2, layers: 2, dFF: 64, dropout: 0, position: { type: 'relative', maxDistance: 64 } },
    recurrence: { chunk: 8, passes: 2, cacheChunks: 2, memory: 16, repeats: 2 },
    train: { steps: 12, batch: 4, length: 32, lr: 3e-3, warmupSteps: 2, evalEvery: 6, evalBatches: 2, checkpointEvery: 6 },
  },
  small: {
    description: 'minutes on 2 CPU cores',
    core: { dModel: 128, heads: 4, layers: 2, dFF: 512, dropout: 0, position: { type: 'relative', maxDistance: 128 } },
    recurrence: { chunk: 32, passes: 2, cacheChunks: 2, memory: 64, repeats: 2 },
    train: { steps: 500, batch: 8, length: 64, lr: 2e-3, warmupSteps: 50, evalEvery: 250, evalBatches: 16, checkpointEvery: 100 },
  },
  base: {
    description: 'a GPU-size model (the paper\'s scale)',
    core: { dModel: 512, heads: 8, layers: 8, dFF: 2048, dropout: 0.1, position: { type: 'relative', maxDistance: 512 } },
    recurrence: { chunk: 64, passes: 2, cacheChunks: 4, memory: 128, repeats: 2 },
    train: { steps: 20000, batch: 16, length: 256, lr: 5e-4, warmupSteps: 1000, evalEvery: 1000, evalBatches: 50, checkpointEvery: 1000 },
  },
};

/** Names of the presets. */
export const PRESET_NAMES = Object.keys(PRESETS);

/** The model and training sections a preset gives a model kind. */
export function preset(name: string, kind: string): { model: Record<string, unknown>; train: Record<string, number> } {
  const p = PRESETS[name];
  if (!p) throw new UsageError(`unknown preset "${name}"; available presets: ${PRESET_NAMES.join(', ')}`);
  const fields = KIND_FIELDS[kind] ?? [];
  const model: Record<string, unknown> = { kind, ...p.core };
  for (const f of fields) model[f] = p.recurrence[f];
  return { model, train: { ...p.train } };
}

/** One line per preset, for help texts. */
export function describePresets(): string {
  return PRESET_NAMES.map((n) => `${n} (${PRESETS[n]!.description})`).join(', ');
}
