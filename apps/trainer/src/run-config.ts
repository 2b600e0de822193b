import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseConfig } from '@staircase/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { preset } from './presets.js';

const int = (min: number) => z.number().int().min(min);

/** A whole run: model, data, training, backend and sampling settings. */
export const runConfigSchema = z.strictObject({
  preset: z.string().default('small'),
  /** The model config (kind + core fields + the kind's fields); `vocabSize` comes from the data. */
  model: z.record(z.string(), z.unknown()),
  data: z
    .strictObject({
      spec: z.string().default('brown'),
      tokenizer: z.enum(['byte', 'char', 'bpe']).optional(),
      seed: int(0).default(0),
      brownDocuments: int(1).optional(),
      bpeVocabSize: int(2).optional(),
      checkContent: z.boolean().optional(),
      task: z.record(z.string(), z.number()).optional(),
      episodes: z.strictObject({ train: int(1).optional(), valid: int(1).optional(), test: int(1).optional() }).optional(),
    })
    .prefault({}),
  train: z
    .strictObject({
      steps: int(1),
      /** Updates the cosine learning-rate schedule spans; default `steps`. Fix it to stop early and resume later on the same schedule. */
      scheduleSteps: int(1).optional(),
      batch: int(1),
      length: int(1),
      lr: z.number().positive(),
      warmupSteps: int(0),
      weightDecay: z.number().min(0).default(0.01),
      clipNorm: z.number().min(0).default(1),
      accumulation: int(1).default(1),
      /** Threads sharing each batch's rows (data parallel, gradients averaged); wasm and cpu backends in Node. */
      workers: int(1).default(1),
      evalEvery: int(1),
      /** Validation batches per periodic evaluation (the `eval` command always scores a whole split). */
      evalBatches: int(1),
      checkpointEvery: int(1),
      seed: int(0).default(0),
      /** Consecutive non-finite steps after which the run stops. */
      maxBadSteps: int(1).default(5),
    }),
  backend: z.enum(['auto', 'tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu']).default('auto'),
  sample: z
    .strictObject({
      tokens: int(1).default(200),
      temperature: z.number().min(0).default(0.8),
      topK: int(0).default(0),
      topP: z.number().gt(0).max(1).default(0.95),
      prompt: z.string().default(''),
    })
    .prefault({}),
});
export type RunConfig = z.infer<typeof runConfigSchema>;

/** Where each part of a run config comes from, lowest precedence first. */
export interface RunConfigSources {
  file?: string;
  /** A config object in place of `file` (same sections as a config file), e.g. from an experiment. */
  values?: Record<string, unknown>;
  preset?: string;
  model?: string;
  data?: string;
  steps?: number;
  backend?: string;
  /** The backend when neither `backend` nor the file names one (the CLI passes `STAIRCASE_BACKEND`). */
  defaultBackend?: string;
  /** `key=value` overrides with dotted keys, e.g. `model.dModel=64`; values parse as JSON when they can. */
  set?: readonly string[];
}

/** Reads a JSON or YAML run-config file. */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new UsageError(`config file ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new UsageError(`config file ${path} is a directory; give a JSON or YAML file`);
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UsageError(`config file ${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`config file ${path} must hold an object with model/data/train sections`);
  }
  return value as Record<string, unknown>;
}

/** Applies one `key=value` override to a nested object. */
export function applySet(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set ${assignment}: expected key=value, e.g. --set model.dModel=64`);
  const path = assignment.slice(0, eq).split('.');
  if (path.some((p) => p === '')) throw new UsageError(`--set ${assignment}: empty key segment`);
  const bad = path.find((p) => p === '__proto__' || p === 'constructor' || p === 'prototype');
  if (bad) throw new UsageError(`--set ${assignment}: "${bad}" is not a config key`);
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // A bare string, e.g. --set data.spec=brown.
  }
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (next === null || typeof next !== 'object') throw new UsageError(`--set ${assignment}: ${key} is not a section`);
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Resolves a run config: preset, then the config file, then flags, then `--set` overrides; then
 * validates it. The model section is validated later, once the data fixes `vocabSize`.
 */
export function resolveRunConfig(sources: RunConfigSources): RunConfig {
  const file = sources.values ?? (sources.file ? readConfigFile(sources.file) : {});
  const presetName = sources.preset ?? (typeof file.preset === 'string' ? file.preset : 'small');
  const fileModel = (file.model ?? {}) as Record<string, unknown>;
  const kind = sources.model ?? (typeof fileModel.kind === 'string' ? fileModel.kind : 'staircase');
  const p = preset(presetName, kind);
  let config = merge({ preset: presetName, model: p.model, train: p.train }, file);
  config = merge(config, { preset: presetName, model: { kind } });
  if (sources.data) config = merge(config, { data: { spec: sources.data } });
  if (sources.steps !== undefined) config = merge(config, { train: { steps: sources.steps } });
  const backend = sources.backend ?? (file.backend === undefined ? sources.defaultBackend : undefined);
  if (backend) config = merge(config, { backend });
  for (const s of sources.set ?? []) applySet(config, s);
  const parsed = parseConfig(runConfigSchema, config);
  const t = parsed.train;
  if (t.batch % (t.accumulation * t.workers) !== 0) {
    throw new UsageError(
      `train.batch ${t.batch} must be divisible by train.accumulation × train.workers (${t.accumulation} × ${t.workers}): every worker takes an equal share of every micro-batch`,
    );
  }
  return parsed;
}
