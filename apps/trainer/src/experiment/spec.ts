import { basename, join } from 'node:path';
import { ConfigError, createModel, listModelKinds, parseConfig } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { PRESET_NAMES } from '../presets.js';
import { type RunConfig, readConfigFile, resolveRunConfig } from '../run-config.js';

/**
 * An experiment file: one data spec, one training budget, several models, several seeds. Every
 * (model, seed) pair becomes an ordinary run whose config is the preset, then the shared `data` and
 * `train` sections, then the model's own fields, then `train.seed = seed` (which also seeds the
 * model's initialisation). The data (episodes, splits) is the same for every run.
 *
 * @example
 * ```yaml
 * description: Staircase vs Transformer-XL on the random walk
 * preset: small
 * data: { spec: random-walk, task: { episodeLength: 128 } }
 * train: { steps: 16000, batch: 8, length: 64, lr: 0.001, warmupSteps: 200 }
 * models:
 *   transformer-xl: { kind: transformer-xl, memory: 32 }
 *   staircase: { kind: staircase, chunk: 16, passes: 2 }
 * seeds: [0, 1, 2]
 * ```
 */
export const experimentSchema = z.strictObject({
  /** What the experiment shows; the report's first paragraph. */
  description: z.string().default(''),
  /** The preset every model starts from (core sizes and training defaults). */
  preset: z.string().default('small'),
  /** A run config's `data` section. */
  data: z.record(z.string(), z.unknown()),
  /** A run config's `train` section: the budget every model shares (`seed` comes from `seeds`). */
  train: z.record(z.string(), z.unknown()).default({}),
  /**
   * Model name → a run config's `model` section (`kind` and the fields that differ from the preset),
   * optionally with a `train` section of its own that overrides the shared budget for that model
   * (for sweeps of training settings; a fair comparison leaves it out).
   */
  models: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" or "-"'), z.record(z.string(), z.unknown())),
  seeds: z.array(z.number().int().min(0)).min(1).default([0, 1, 2]),
  /** The training backend of every run (default `auto`). */
  backend: z.string().optional(),
  /** Splits scored at the end of every run (the whole split, from the final checkpoint). */
  splits: z.array(z.enum(['valid', 'test'])).min(1).default(['valid', 'test']),
});
export type ExperimentFile = z.infer<typeof experimentSchema>;

/** One (model, seed) run of an experiment. */
export interface PlannedRun {
  model: string;
  seed: number;
  /** Its run directory, e.g. `runs/experiments/random-walk/staircase/seed-0`. */
  dir: string;
  /** The resolved run config, as `staircase train` will write it to `config.json`. */
  config: RunConfig;
}

/** An experiment file, validated and expanded into its runs. */
export interface Experiment {
  /** The file's base name without extension: `experiments/random-walk.yaml` → `random-walk`. */
  name: string;
  file: string;
  spec: ExperimentFile;
  /** Every (model, seed), models in file order, seeds in order. */
  runs: PlannedRun[];
}

/** Options of {@link loadExperiment}. */
export interface LoadExperimentOptions {
  /** Where run directories go: `<runsDir>/<name>/<model>/seed-<s>`. Default `runs/experiments`. */
  runsDir?: string;
  /** Keep only these models (names from the file). */
  only?: readonly string[];
  /** Run these seeds instead of the file's. */
  seeds?: readonly number[];
}

/**
 * Reads, validates and expands an experiment file. Every mistake (unknown key, unknown model kind or
 * field, no models, seeds that are not whole numbers, an unknown `--only` name) is one
 * {@link ConfigError} or {@link UsageError} line naming the file and the key.
 */
export function loadExperiment(file: string, options: LoadExperimentOptions = {}): Experiment {
  const name = basename(file).replace(/\.(ya?ml|json)$/i, '');
  const spec = parseConfig(experimentSchema, readConfigFile(file), file);
  const names = Object.keys(spec.models);
  if (names.length === 0) throw new ConfigError(`${file}.models: empty; name at least one model, e.g. staircase: { kind: staircase }`);
  if (!PRESET_NAMES.includes(spec.preset)) throw new ConfigError(`${file}.preset: unknown preset "${spec.preset}"; available: ${PRESET_NAMES.join(', ')}`);
  if ('seed' in spec.train) throw new ConfigError(`${file}.train.seed: set the seeds with "seeds: [0, 1, 2]", not train.seed`);
  if (new Set(spec.seeds).size !== spec.seeds.length) throw new ConfigError(`${file}.seeds: ${JSON.stringify(spec.seeds)} repeats a seed`);
  for (const m of options.only ?? []) {
    if (!names.includes(m)) throw new UsageError(`--only ${m}: ${file} has no model "${m}"; its models are ${names.join(', ')}`);
  }
  const kinds = listModelKinds();
  const seeds = options.seeds ?? spec.seeds;
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds ${seeds.join(',')}: repeats a seed`);
  const runsDir = options.runsDir ?? join('runs', 'experiments');
  const runs: PlannedRun[] = [];
  for (const model of names) {
    const { train: ownTrain, ...fields } = spec.models[model]!;
    if (ownTrain !== undefined && (ownTrain === null || typeof ownTrain !== 'object' || Array.isArray(ownTrain))) {
      throw new ConfigError(`${file}.models.${model}.train: expected a section of train settings, e.g. { lr: 0.002 }`);
    }
    if (ownTrain && 'seed' in ownTrain) throw new ConfigError(`${file}.models.${model}.train.seed: set the seeds with "seeds: [0, 1, 2]", not train.seed`);
    const kind = fields.kind;
    if (typeof kind !== 'string') throw new ConfigError(`${file}.models.${model}.kind: missing; one of ${kinds.join(', ')}`);
    if (!kinds.includes(kind)) throw new ConfigError(`${file}.models.${model}.kind: unknown model kind "${kind}"; one of ${kinds.join(', ')}`);
    if (options.only && !options.only.includes(model)) continue;
    for (const seed of seeds) {
      const config = resolveRunConfig({
        values: { preset: spec.preset, model: fields, data: spec.data, train: { ...spec.train, ...(ownTrain as object | undefined), seed }, ...(spec.backend ? { backend: spec.backend } : {}) },
        preset: spec.preset,
      });
      runs.push({ model, seed, dir: join(runsDir, name, model, `seed-${seed}`), config });
    }
    // The model section is checked once the data fixes the vocabulary; check its keys now.
    const first = runs[runs.length - 1];
    if (first) {
      try {
        createModel({ ...first.config.model, vocabSize: 16 });
      } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError(`${file}.models.${model}: ${e.message.replace(/^config\.?/, '')}`);
        throw e;
      }
    }
  }
  return { name, file, spec, runs };
}

/** Parses `--seeds 0,1,2`. */
export function parseSeeds(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UsageError(`--seeds ${text}: expected whole numbers separated by commas, e.g. --seeds 0,1,2`);
  return parts.map(Number);
}
