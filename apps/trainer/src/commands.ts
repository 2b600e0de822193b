import { type ModelState, createModel, listModelKinds } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { type Tensor, disposeReplaced, formatBackendReport, selectBackend } from '@staircase/backend-tfjs';
import type { TokenizerJSON } from '@staircase/data';
import { type EvalMetrics, evaluateSplit, headline } from './evaluate.js';
import { generate } from './generate.js';
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
export async function evalCommand(options: SourceOptions & { split?: string; maxBatches?: number }): Promise<EvalMetrics> {
  const split = options.split ?? 'valid';
  if (split !== 'valid' && split !== 'test') throw new UsageError(`--split ${split}: expected valid or test`);
  const session = await openTrained(options);
  try {
    const t = session.config.train;
    return evaluateSplit(session, session.dataset.splits[split], {
      batch: t.batch,
      length: t.length,
      ...(options.maxBatches ? { maxBatches: options.maxBatches } : {}),
    });
  } finally {
    session.close();
  }
}

/** Options of `staircase sample`. */
export interface SampleOptions extends SourceOptions {
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
  const session = await openTrained(options);
  try {
    const s = session.config.sample;
    const { tokenizer } = session.dataset;
    const prompt = options.prompt ?? s.prompt;
    const settings = {
      temperature: options.temperature ?? s.temperature,
      topK: options.topK ?? s.topK,
      topP: options.topP ?? s.topP,
      seed: options.seed ?? session.config.train.seed,
    };
    if (session.dataset.labelled) return await labelEpisode(session, options.tokens ?? s.tokens, options.write);
    const ids: number[] = [];
    const promptIds = tokenizer.encode(prompt);
    let shown = '';
    for await (const id of generate(session, promptIds, options.tokens ?? s.tokens, settings)) {
      ids.push(id);
      // Decode the whole continuation so multi-byte characters appear once complete.
      const text = tokenizer.decode(ids);
      if (text.startsWith(shown)) options.write?.(text.slice(shown.length));
      shown = text;
    }
    return { prompt, text: tokenizer.decode(ids), ids };
  } finally {
    session.close();
  }
}

/** For labelled tasks: streams the first tokens of the test split and shows predicted labels. */
async function labelEpisode(session: Session, count: number, write?: (t: string) => void) {
  const { dataset } = session;
  const arrays = dataset.splits.test.toArrays();
  const n = Math.min(count, arrays.tokens.length);
  const words = dataset.tokenizer.decode(arrays.tokens.subarray(0, n)).split(' ');
  const names = dataset.labelNames ?? [];
  const { trainer, model } = session;
  const { tf, ops } = trainer;
  let state: ModelState<Tensor> | null = null;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const previous = state;
    const r = tf.tidy(() => {
      const { logits, state: st } = model.forward(ops, trainer.params, ops.constantInt([arrays.tokens[i]!], [1, 1]), previous);
      return { arg: tf.argMax(logits, -1), st: st as unknown as Tensor };
    });
    const pred = (await r.arg.data())[0]!;
    r.arg.dispose();
    state = r.st as unknown as ModelState<Tensor>;
    disposeReplaced(previous, state);
    const label = arrays.labels?.[i] ?? -1;
    const piece = label >= 0 ? `${words[i]}[${names[pred] ?? pred}/${names[label]}]` : (words[i] ?? '');
    out.push(piece);
    write?.(`${piece} `);
  }
  disposeReplaced(state, null);
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
    kinds: listModelKinds(),
    model: { kind: model.kind, vocabSize, ...model.cost(), config: model.config },
    presets,
  };
}

export { headline };
