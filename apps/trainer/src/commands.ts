import { createModel, listModelKinds } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { formatBackendReport, selectBackend } from '@staircase/backend-tfjs';
import type { Dataset, Tokenizer, TokenizerJSON } from '@staircase/data';
import { describeDevices, generate as generateOnnx } from '@staircase/backend-onnx';
import { evaluateSplitOnnx, onnxTokenizer, openOnnx, openRunData } from './onnx.js';
import type { RunConfig } from './run-config.js';
import { type EvalMetrics, evaluateSplit, headline } from './evaluate.js';
import { generate, tfjsStep } from './generate.js';
import { type RunConfigSources, resolveRunConfig } from './run-config.js';
import { findCheckpoint } from './run-dir.js';
import { type Session, openSession } from './session.js';
import { UsageError } from './errors.js';
import { KIND_FIELDS, PRESET_NAMES, preset } from './presets.js';

/** Where a trained model comes from, and optional overrides of its data. */
export interface SourceOptions {
  run?: string;
  checkpoint?: string;
  data?: string;
  backend?: string;
}

/** Opens the data and model of a checkpoint, with its weights restored. */
export async function openTrained(options: SourceOptions): Promise<Session> {
  const { checkpoint, config } = await findCheckpoint(options);
  const run = options.backend ? { ...config, backend: options.backend as typeof config.backend } : config;
  const session = await openSession(run, {
    tokenizer: checkpoint.tokenizer as TokenizerJSON | undefined,
    ...(options.data ? { dataSpec: options.data } : {}),
  });
  try {
    session.trainer.restore(checkpoint);
    session.trainer.reset();
  } catch (e) {
    session.close();
    throw e;
  }
  return session;
}

/** `staircase eval`: scores a whole split. */
export async function evalCommand(
  options: SourceOptions & RuntimeOptions & { split?: string; maxBatches?: number; byPosition?: boolean },
): Promise<EvalMetrics> {
  const split = options.split ?? 'valid';
  if (split !== 'valid' && split !== 'test') throw new UsageError(`--split ${split}: expected valid or test`);
  if (useOnnx(options)) {
    const { model, config, tokenizer } = await openOnnx(options);
    try {
      const dataset = await openRunData(config, tokenizer, options.data);
      try {
        const t = config.train;
        return await evaluateSplitOnnx(model, dataset, dataset.splits[split], {
          batch: t.batch,
          length: t.length,
          ...(options.maxBatches ? { maxBatches: options.maxBatches } : {}),
          ...(options.byPosition ? { byPosition: true } : {}),
        });
      } finally {
        dataset.close();
      }
    } finally {
      await model.release();
    }
  }
  const session = await openTrained(options);
  try {
    const t = session.config.train;
    return await evaluateSplit(session, session.dataset.splits[split], {
      batch: t.batch,
      length: t.length,
      ...(options.maxBatches ? { maxBatches: options.maxBatches } : {}),
      ...(options.byPosition ? { byPosition: true } : {}),
    });
  } finally {
    session.close();
  }
}

/** Which runtime scores or samples: TensorFlow.js (default) or ONNX Runtime on a device. */
export interface RuntimeOptions {
  runtime?: string;
  device?: string;
  /** An exported model to run (implies `--runtime onnx`). */
  onnx?: string;
  /** `int8`: export the checkpoint on the fly with int8 weight products (`--runtime onnx`). */
  quantize?: string;
}

function useOnnx(options: RuntimeOptions): boolean {
  const runtime = options.runtime ?? (options.onnx ? 'onnx' : 'tfjs');
  if (runtime !== 'tfjs' && runtime !== 'onnx') throw new UsageError(`--runtime ${runtime}: expected tfjs or onnx`);
  if (runtime === 'tfjs' && (options.device || options.onnx || options.quantize)) throw new UsageError('--device, --onnx and --quantize need --runtime onnx');
  return runtime === 'onnx';
}

/** Options of `staircase sample`. */
export interface SampleOptions extends SourceOptions, RuntimeOptions {
  prompt?: string;
  tokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Called with each piece of text as it is generated. */
  write?: (text: string) => void;
}

/** `staircase sample`: streams a continuation of the prompt (language data) or labels a task episode. */
export async function sampleCommand(options: SampleOptions): Promise<{ prompt: string; text: string; ids: number[] }> {
  if (useOnnx(options)) return sampleOnnx(options);
  const session = await openTrained(options);
  try {
    const settings = samplingSettings(session.config, options);
    const count = options.tokens ?? session.config.sample.tokens;
    if (session.dataset.labelled) {
      warnPromptIgnored(options);
      const step = tfjsStep(session);
      try {
        return await labelEpisode(session.dataset, (token) => step.next([token]), count, options.write);
      } finally {
        step.dispose();
      }
    }
    const ids = generate(session, encodePrompt(session.dataset.tokenizer, settings.prompt), count, settings);
    return await streamText(ids, session.dataset.tokenizer, settings.prompt, options.write);
  } finally {
    session.close();
  }
}

async function sampleOnnx(options: SampleOptions): Promise<{ prompt: string; text: string; ids: number[] }> {
  const { model, config, tokenizer } = await openOnnx(options);
  try {
    const settings = samplingSettings(config, options);
    const count = options.tokens ?? config.sample.tokens;
    if (isTaskSpec(config.data.spec)) {
      warnPromptIgnored(options);
      const dataset = await openRunData(config, tokenizer, options.data);
      try {
        const stream = model.stream(1, 'step');
        return await labelEpisode(dataset, (token) => stream.append([token], 1), count, options.write);
      } finally {
        dataset.close();
      }
    }
    const tok = onnxTokenizer(tokenizer, options.onnx ?? 'the checkpoint');
    return await streamText(generateOnnx(model, encodePrompt(tok, settings.prompt), count, settings), tok, settings.prompt, options.write);
  } finally {
    await model.release();
  }
}

/** Encodes a prompt, saying so when characters outside the model's vocabulary became `<unk>`. */
function encodePrompt(tokenizer: Tokenizer, prompt: string): number[] {
  const ids = Array.from(tokenizer.encode(prompt));
  if (tokenizer.kind === 'char') {
    const unknown = [...prompt].filter((ch) => tokenizer.encode(ch)[0] === 0);
    if (unknown.length > 0) {
      const shown = [...new Set(unknown)].slice(0, 8).map((ch) => JSON.stringify(ch)).join(' ');
      process.stderr.write(`staircase: ${unknown.length} prompt character(s) are not in the model's vocabulary and are read as <unk>: ${shown}\n`);
    }
  }
  return ids;
}

function warnPromptIgnored(options: SampleOptions): void {
  if (options.prompt) process.stderr.write('staircase: --prompt is ignored for a labelled task: sample streams a test episode and shows the predicted labels\n');
}

/** The labelled state-tracking tasks (their episodes are generated, so opening them is cheap). */
function isTaskSpec(spec: string): boolean {
  return spec.startsWith('algorithmic:') || spec === 'random-walk';
}

function samplingSettings(config: RunConfig, options: SampleOptions) {
  const s = config.sample;
  return {
    prompt: options.prompt ?? s.prompt,
    temperature: options.temperature ?? s.temperature,
    topK: options.topK ?? s.topK,
    topP: options.topP ?? s.topP,
    seed: options.seed ?? config.train.seed,
  };
}

/** Decodes generated ids as they come, writing each new piece of text. */
async function streamText(ids: AsyncIterable<number>, tokenizer: Tokenizer, prompt: string, write?: (text: string) => void) {
  if (prompt) write?.(prompt);
  const out: number[] = [];
  // Only the ids not shown yet are decoded (decoding everything per token made generation slow
  // down as the text grew); a piece that ends inside a multi-byte character waits for the rest.
  let pending: number[] = [];
  for await (const id of ids) {
    out.push(id);
    pending.push(id);
    const text = tokenizer.decode(pending);
    if (text.endsWith('\uFFFD') && pending.length < 4) continue;
    write?.(text);
    pending = [];
  }
  if (pending.length > 0) write?.(tokenizer.decode(pending));
  return { prompt, text: tokenizer.decode(out), ids: out };
}

/** For labelled tasks: streams the first tokens of the test split and shows predicted labels. */
async function labelEpisode(dataset: Dataset, predict: (token: number) => Promise<ArrayLike<number>>, count: number, write?: (t: string) => void) {
  const arrays = dataset.splits.test.toArrays();
  const n = Math.min(count, arrays.tokens.length);
  const words = dataset.tokenizer.decode(arrays.tokens.subarray(0, n)).split(' ');
  const names = dataset.labelNames ?? [];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const logits = await predict(arrays.tokens[i]!);
    let pred = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j]! > logits[pred]!) pred = j;
    const label = arrays.labels?.[i] ?? -1;
    const piece = label >= 0 ? `${words[i]}[${names[pred] ?? pred}/${names[label]}]` : (words[i] ?? '');
    out.push(piece);
    write?.(`${piece} `);
  }
  return { prompt: '', text: out.join(' '), ids: [] };
}

/** `staircase info`: backends, model kinds, and size and compute of the configured model. */
export async function infoCommand(sources: RunConfigSources & { vocabSize?: number }): Promise<Record<string, unknown>> {
  const config = resolveRunConfig(sources);
  const vocabSize = sources.vocabSize ?? 256;
  const model = createModel({ ...config.model, vocabSize });
  const backend = await selectBackend({ backend: config.backend });
  const presets = Object.fromEntries(
    PRESET_NAMES.map((p) => [
      p,
      Object.fromEntries(
        Object.keys(KIND_FIELDS).map((kind) => {
          const m = createModel({ ...preset(p, kind).model, vocabSize });
          return [kind, m.cost()];
        }),
      ),
    ]),
  );
  return {
    versions: { node: process.version, tfjs: backend.tf.version_core },
    backend: { chosen: backend.name, reason: backend.reason, skipped: backend.skipped, report: formatBackendReport(backend) },
    // Where exported models run (eval/sample --runtime onnx, bench): each ONNX Runtime device and what auto picks.
    onnxDevices: await describeDevices(),
    kinds: listModelKinds(),
    model: { kind: model.kind, vocabSize, ...model.cost(), config: model.config },
    presets,
  };
}

export { headline };
