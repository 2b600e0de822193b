import { createModel, listModelKinds } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { formatBackendReport, selectBackend } from '@staircase/backend-tfjs';
import { type Dataset, type Tokenizer, type TokenizerJSON, assertVocabSize, tokenizerFromJSON } from '@staircase/data';
import { describeDevices, generate as generateOnnx } from '@staircase/backend-onnx';
import { evaluateSplitOnnx, onnxTokenizer, openOnnx, openRunData } from './onnx.js';
import type { RunConfig } from './run-config.js';
import { type EvalMetrics, type EvalOptions, evaluateSplit, headline } from './evaluate.js';
import { generate, tfjsStep } from './generate.js';
import { type RunConfigSources, resolveRunConfig } from './run-config.js';
import { type ModelSource, findCheckpoint } from './run-dir.js';
import { type ModelSession, type Session, isTaskSpec, openModel, openSession } from './session.js';
import { UsageError } from './errors.js';
import { KIND_FIELDS, PRESET_NAMES, preset } from './presets.js';
import { formatConfigYaml } from './config-yaml.js';
import { OPTIONAL_PACKAGES, isInstalled } from './optional.js';

/** Where a trained model comes from, and optional overrides of its data. */
export interface SourceOptions {
  run?: string;
  checkpoint?: string;
  /** Data to score instead of the data the model was trained on (`eval`; for `sample`, a labelled task's episodes). */
  data?: string;
  backend?: string;
}

type Found = Awaited<ReturnType<typeof findCheckpoint>>;

const sourceOf = (found: Found): ModelSource => ({ path: found.path, which: found.role, step: found.checkpoint.step });

function withBackend(config: RunConfig, backend: string | undefined): RunConfig {
  return backend ? { ...config, backend: backend as RunConfig['backend'] } : config;
}

/** Restores a checkpoint's weights into a freshly opened session (closing it if they do not fit). */
function restoreInto<S extends ModelSession>(session: S, found: Found): S {
  try {
    session.trainer.restore(found.checkpoint);
    session.trainer.reset();
  } catch (e) {
    session.close();
    throw e;
  }
  return session;
}

/**
 * Opens the data and model of a checkpoint, with its weights restored. The data is `options.data`,
 * else the data the run config embedded in the checkpoint names (only to score that data: a
 * checkpoint's path is opened by `eval`, never by `sample` of language data).
 */
export async function openTrained(options: SourceOptions): Promise<Session & { source: ModelSource }> {
  return openFound(await findCheckpoint(options), options);
}

async function openFound(found: Found, options: SourceOptions): Promise<Session & { source: ModelSource }> {
  const run = withBackend(found.config, options.backend);
  let session: Session;
  try {
    session = await openSession(run, {
      tokenizer: found.checkpoint.tokenizer as TokenizerJSON | undefined,
      ...(options.data ? { dataSpec: options.data } : {}),
    });
  } catch (e) {
    throw options.data === undefined ? explainRunData(e, run) : e;
  }
  return { ...restoreInto(session, found), source: sourceOf(found) };
}

/** A failure to open the data a checkpoint names, said as such (with the way to score other data). */
function explainRunData(e: unknown, config: RunConfig): unknown {
  const err = e as NodeJS.ErrnoException;
  const isDataError = err instanceof Error && (err.name === 'DataError' || typeof err.code === 'string');
  if (!isDataError) return e;
  return new UsageError(`cannot open ${config.data.spec}, the data this model was trained on (its saved run config names it): ${err.message}; give --data SPEC to score other data`);
}

/**
 * Opens a checkpoint's model to sample from: its weights and the tokenizer saved with it. Language
 * data is not opened (a run's corpus may be gone, and a checkpoint's data path is not to be
 * trusted); a labelled task's episodes are generated, for the test episode `sample` labels.
 */
export async function openForSampling(options: SourceOptions): Promise<(ModelSession & { dataset?: Dataset; source: ModelSource })> {
  const found = await findCheckpoint(options);
  if (isTaskSpec(options.data ?? found.config.data.spec)) return openFound(found, options);
  if (!found.checkpoint.tokenizer) throw new UsageError(`checkpoint ${found.path} carries no tokenizer; sample a checkpoint written by "staircase train"`);
  const tokenizer = tokenizerFromJSON(found.checkpoint.tokenizer);
  const vocabSize = found.checkpoint.config.vocabSize;
  if (typeof vocabSize === 'number') assertVocabSize(tokenizer, vocabSize);
  const session = await openModel(withBackend(found.config, options.backend), { model: { ...found.checkpoint.config }, tokenizer });
  return { ...restoreInto(session, found), source: sourceOf(found) };
}

/** What `staircase eval` reports: the scores, which data they are of, and which model. */
export interface EvalReport extends EvalMetrics {
  /** The data spec scored. */
  data: string;
  /** `checkpoint`: the data the model was trained on (its run config names it); `--data`: given. */
  dataFrom: 'checkpoint' | '--data';
  /** The checkpoint (or exported model) scored. `eval --json` leaves out its path, so that records compare across directories and machines. */
  checkpoint: ModelSource;
}

/** Options of {@link evalCommand}. */
export interface EvalCommandOptions extends SourceOptions, RuntimeOptions {
  split?: string;
  maxBatches?: number;
  byPosition?: boolean;
  /** Called after each batch with the batches done and the total (e.g. a progress bar). */
  onBatch?: (done: number, total: number) => void;
}

/** `staircase eval`: scores a whole split. */
export async function evalCommand(options: EvalCommandOptions): Promise<EvalReport> {
  const split = options.split ?? 'valid';
  if (split !== 'valid' && split !== 'test') throw new UsageError(`--split ${split}: expected valid or test`);
  const settings = (config: RunConfig): EvalOptions => ({
    batch: config.train.batch,
    length: config.train.length,
    ...(options.maxBatches ? { maxBatches: options.maxBatches } : {}),
    ...(options.byPosition ? { byPosition: true } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  });
  const report = (m: EvalMetrics, config: RunConfig, model: ModelSource): EvalReport => ({
    ...m,
    data: options.data ?? config.data.spec,
    dataFrom: options.data ? '--data' : 'checkpoint',
    checkpoint: model,
  });
  if (useOnnx(options)) {
    const { model, config, tokenizer, source } = await openOnnx(options);
    try {
      let dataset: Dataset;
      try {
        dataset = await openRunData(config, tokenizer, options.data);
      } catch (e) {
        throw options.data === undefined ? explainRunData(e, config) : e;
      }
      try {
        return report(await evaluateSplitOnnx(model, dataset, dataset.splits[split], settings(config)), config, source);
      } finally {
        dataset.close();
      }
    } finally {
      await model.release();
    }
  }
  const session = await openTrained(options);
  try {
    return report(await evaluateSplit(session, session.dataset.splits[split], settings(session.config)), session.config, session.source);
  } finally {
    session.close();
  }
}

/** An eval report as `eval --json` prints it: the checkpoint without its path (it is in the text output). */
export function evalRecord(r: EvalReport): Omit<EvalReport, 'checkpoint'> & { checkpoint: Omit<ModelSource, 'path'> } {
  const { path: _path, ...checkpoint } = r.checkpoint;
  return { ...r, checkpoint };
}

/** One line naming what `eval` scored: the checkpoint (step, best or latest) and the data. */
export function describeScored(r: EvalReport): string {
  const m = r.checkpoint;
  const what = m.which === 'onnx' ? `exported model ${m.path}` : `checkpoint ${m.path} (${m.which === 'file' ? '' : `${m.which}, `}step ${m.step})`;
  const data = r.dataFrom === 'checkpoint' ? `${r.data}, the data it was trained on` : r.data;
  return `scored ${what} on the ${r.split} split of ${data}`;
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
  const session = await openForSampling(options);
  try {
    const settings = samplingSettings(session.config, options);
    const count = options.tokens ?? session.config.sample.tokens;
    if (session.dataset?.labelled) {
      warnPromptIgnored(options);
      const step = tfjsStep(session);
      try {
        return await labelEpisode(session.dataset, (token) => step.next([token]), count, options.write);
      } finally {
        step.dispose();
      }
    }
    const ids = generate(session, encodePrompt(session.tokenizer, settings.prompt), count, settings);
    return await streamText(ids, session.tokenizer, settings.prompt, options.write);
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

/**
 * `staircase config`: the run config the sources resolve to, as YAML with each key's meaning and
 * every key `--set` accepts (or one JSON object). The model section has its defaults filled in;
 * `vocabSize` (from the data) and the initialisation seed (`train.seed`) are left out.
 */
export async function configCommand(sources: RunConfigSources & { json?: boolean }): Promise<string> {
  const config = resolveRunConfig(sources);
  const { vocabSize: _vocab, seed: _seed, ...model } = createModel({ ...config.model, vocabSize: 256 }).config as Record<string, unknown>;
  const resolved = { ...config, model };
  if (sources.json) return `${JSON.stringify(resolved)}\n`;
  return formatConfigYaml(resolved, {
    header: [
      `staircase run config: preset ${config.preset}${sources.file ? `, then ${sources.file}` : ''}, then flags and --set (vocabSize comes from the data)`,
      'change a key with --set SECTION.KEY=VALUE (e.g. --set train.lr=0.001), or save this and pass --config FILE',
    ],
  });
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
    // The optional packages each device or feature needs, and whether this install has them.
    packages: optionalPackages(),
  };
}

/** The CLI's optional packages with whether each resolves from this install. */
export function optionalPackages(): { name: string; range: string; for: string; installed: boolean }[] {
  return OPTIONAL_PACKAGES.map(({ loadedBy, ...p }) => ({ ...p, installed: isInstalled(p.name, loadedBy) }));
}

/** How npm users get the CLI, and the `packages` of `staircase info` as lines (what to install for what). */
export function formatPackages(packages: readonly { name: string; range: string; for: string; installed: boolean }[]): string {
  const width = Math.max(...packages.map((p) => p.name.length + p.range.length + 1));
  const lines = packages.map((p) => `  ${`${p.name}@${p.range}`.padEnd(width)}  ${p.installed ? 'installed' : 'missing  '}  ${p.for}`);
  return [
    'the CLI: npm i -g @staircase/trainer (then staircase ...), or npm i @staircase/trainer and npx staircase ... in a project',
    'optional packages, each for what it says (npm i NAME@VERSION next to the CLI, with -g for a global one):',
    ...lines,
  ].join('\n');
}

export { headline, type ModelSource };
