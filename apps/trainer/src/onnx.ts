import { type HostParams, createModel, parseConfig } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { type ExportedModel, type OnnxDevice, OnnxModel, type Quantization, exportModel, scoreBatches } from '@staircase/backend-onnx';
import { loadOnnxModel, writeExport } from '@staircase/backend-onnx/node';
import { type Dataset, type DataSplit, type TokenizerJSON, openDataset, tokenizerFromJSON } from '@staircase/data';
import { UsageError } from './errors.js';
import { pinned } from './optional.js';
import { type EvalMetrics, type EvalOptions, batchesToScore, tallyFor } from './evaluate.js';
import { type RunConfig, runConfigSchema } from './run-config.js';
import { type ModelSource, findCheckpoint } from './run-dir.js';
import { datasetOptions } from './session.js';

/** Options of `staircase export`. */
export interface ExportCommandOptions {
  run?: string;
  checkpoint?: string;
  out?: string;
  stepTokens?: number;
  segmentTokens?: number;
  maxPositions?: number;
  /** `int8`: weight products stored as int8 (see `ExportOptions.quantize`). */
  quantize?: string;
}

/** A `--quantize` value as `exportModel` takes it (undefined: float32), refused in one line if unknown. */
export function parseQuantization(value: string | undefined): Quantization | undefined {
  if (value === undefined) return undefined;
  if (value !== 'int8') throw new UsageError(`--quantize ${value}: expected int8 (float32 is the default, without --quantize)`);
  return value;
}

/** Exports a checkpoint's model in memory (for `--runtime onnx` and `staircase export`). */
async function exportCheckpoint(options: ExportCommandOptions): Promise<{ exported: ExportedModel; config: RunConfig; source: ModelSource }> {
  const quantize = parseQuantization(options.quantize);
  const { checkpoint, config, path, role } = await findCheckpoint(options);
  const model = createModel({ ...checkpoint.config });
  const params: HostParams = Object.fromEntries(Object.entries(checkpoint.params).map(([name, t]) => [name, t.data]));
  const exported = exportModel(model, params, {
    tokenizer: checkpoint.tokenizer,
    run: config,
    ...(options.stepTokens !== undefined ? { stepTokens: options.stepTokens } : {}),
    ...(options.segmentTokens !== undefined ? { segmentTokens: options.segmentTokens } : {}),
    ...(options.maxPositions !== undefined ? { maxPositions: options.maxPositions } : {}),
    ...(quantize ? { quantize } : {}),
  });
  return { exported, config, source: { path, which: role, step: checkpoint.step } };
}

/** `staircase export`: writes the step graph to `--out` and the segment graph next to it. */
export async function exportCommand(options: ExportCommandOptions) {
  if (!options.out) throw new UsageError('give --out FILE.onnx');
  if (!options.out.endsWith('.onnx')) throw new UsageError(`--out ${options.out}: the file name must end in .onnx`);
  const { exported } = await exportCheckpoint(options);
  const files = await writeExport(exported, options.out);
  const m = exported.stepMetadata;
  return {
    files,
    kind: m.kind,
    stepTokens: m.tokens,
    segmentTokens: exported.segmentMetadata.tokens,
    stateTensors: m.state.length,
    maxPositions: m.maxPositions,
    weights: m.quantization ?? 'float32',
    bytes: { step: exported.step.length, segment: exported.segment.length },
  };
}

/** Where an ONNX model comes from: an exported file, or a checkpoint exported on the fly. */
export interface OnnxSourceOptions {
  run?: string;
  checkpoint?: string;
  onnx?: string;
  device?: string;
  data?: string;
  /** `int8`: export on the fly with int8 weight products (not with `onnx`: a file is as exported). */
  quantize?: string;
}

const DEVICES = ['auto', 'webgpu', 'wasm', 'cpu'];

/** Opens the ONNX model and the run settings it was trained with. */
export async function openOnnx(
  options: OnnxSourceOptions,
): Promise<{ model: OnnxModel; config: RunConfig; tokenizer: TokenizerJSON | undefined; source: ModelSource }> {
  const device = (options.device ?? 'auto') as OnnxDevice;
  if (!DEVICES.includes(device)) throw new UsageError(`--device ${device}: expected one of ${DEVICES.join(', ')}`);
  checkCommandLineForOrt(device);
  if (options.onnx && options.quantize) {
    throw new UsageError(`--quantize applies to a checkpoint exported on the fly; ${options.onnx} is used as it was exported (re-export it with staircase export --quantize)`);
  }
  if (options.onnx) {
    const model = await withRuntime(device, () => loadOnnxModel(options.onnx!, { device }));
    const run = model.metadata.run;
    if (!run) {
      await model.release();
      throw new UsageError(`${options.onnx} was not exported from a staircase run (no run settings in its metadata); use --run or --checkpoint`);
    }
    return {
      model,
      config: parseConfig(runConfigSchema, run, `${options.onnx} run settings`),
      tokenizer: model.metadata.tokenizer as TokenizerJSON | undefined,
      source: { path: options.onnx, which: 'onnx' },
    };
  }
  const { exported, config, source } = await exportCheckpoint(options);
  const model = await withRuntime(device, () => OnnxModel.load({ step: exported.step, segment: exported.segment }, { device }));
  return { model, config, tokenizer: exported.stepMetadata.tokenizer as TokenizerJSON | undefined, source };
}

/** ONNX Runtime is an optional peer of the trainer: what to install for each device, in one line. */
export function runtimeNeeded(pkg: 'onnxruntime-node' | 'onnxruntime-web', device: string): string {
  return pkg === 'onnxruntime-node'
    ? `--runtime onnx on the CPU (--device ${device}) needs onnxruntime-node: npm i ${pinned('onnxruntime-node')} (or --device wasm with npm i ${pinned('onnxruntime-web')})`
    : `--runtime onnx --device ${device} needs onnxruntime-web: npm i ${pinned('onnxruntime-web')}`;
}

/** Runs `load`, turning "onnxruntime-… is not installed" (from @staircase/backend-onnx) into one line saying what to install. */
async function withRuntime<T>(device: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const missing = /\b(onnxruntime-node|onnxruntime-web) is not installed/.exec(e instanceof Error ? e.message : '');
    if (missing) throw new UsageError(runtimeNeeded(missing[1] as 'onnxruntime-node' | 'onnxruntime-web', device));
    // --device webgpu without the `webgpu` package or an adapter: backend-onnx's one line says what to do.
    if (device === 'webgpu' && e instanceof Error && /^WebGPU/.test(e.message)) throw new UsageError(e.message.split('\n')[0]!);
    throw e;
  }
}

/**
 * onnxruntime-node crashes (SIGSEGV, deep recursion in its native library) when the process's
 * command line holds thousands of words — a long `--prompt` — as it starts; measured with 1.30:
 * 4 000 words load, 8 000 crash, however long the words. Refuse before loading it, with the way
 * around. onnxruntime-web (`--device wasm`) does not read the command line.
 */
export function checkCommandLineForOrt(device: string, argv: readonly string[] = process.argv): void {
  if (device === 'wasm') return;
  const words = argv.join(' ').split(/\s+/).length;
  if (words > 2000) {
    throw new UsageError(
      `the command line has ${words} words, which crashes onnxruntime-node as it starts; pass a long prompt with --prompt-file FILE (or use --device wasm)`,
    );
  }
}

/** The dataset of a run, with the tokenizer the model was trained with. */
export function openRunData(config: RunConfig, tokenizer: TokenizerJSON | undefined, spec?: string): Promise<Dataset> {
  return openDataset(spec ?? config.data.spec, datasetOptions(config, tokenizer));
}

/** Scores a split on ONNX Runtime with the segment graph, batch by batch like {@link evaluateSplit}. */
export async function evaluateSplitOnnx(
  model: OnnxModel,
  dataset: Dataset,
  split: DataSplit,
  options: EvalOptions,
): Promise<EvalMetrics> {
  const batcher = split.evalBatcher({ batch: options.batch, length: options.length });
  const tally = tallyFor(dataset, split, options);
  const total = batchesToScore(batcher, options);
  options.onBatch?.(0, total);
  await scoreBatches(model, batcher, (b, picked, argmax) => {
    tally.add(b, picked, argmax);
    options.onBatch?.(tally.batches, total);
    return options.maxBatches === undefined || tally.batches < options.maxBatches;
  });
  return tally.metrics();
}

/** A tokenizer from an export's metadata, for sampling without the training data. */
export function onnxTokenizer(json: TokenizerJSON | undefined, source: string) {
  if (!json) throw new UsageError(`${source} carries no tokenizer; export it from a run directory`);
  return tokenizerFromJSON(json);
}
