import { type Model, createModel } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { type BackendSelection, type Trainer, createParallelTrainer, createTrainer, selectBackend } from '@staircase/backend-tfjs';
import { kindModuleUrls } from './module-entry.js';
import { type Dataset, type OpenDatasetOptions, type Tokenizer, type TokenizerJSON, openDataset } from '@staircase/data';
import type { RunConfig } from './run-config.js';
import { checkTrainingMemory } from './memory-check.js';

/**
 * A model on a backend with the trainer holding its weights, and the tokenizer it reads: what
 * sampling needs (no data is opened).
 */
export interface ModelSession {
  readonly config: RunConfig;
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  readonly backend: BackendSelection;
  readonly trainer: Trainer;
  close(): void;
}

/** Everything training and evaluation work with: a {@link ModelSession} and its data. */
export interface Session extends ModelSession {
  readonly dataset: Dataset;
}

/** Whether a data spec names a labelled state-tracking task (its episodes are generated, so opening it is cheap). */
export function isTaskSpec(spec: string): boolean {
  return spec.startsWith('algorithmic:') || spec === 'random-walk';
}

/** The dataset options a run config implies (plus a tokenizer to reuse, e.g. from a checkpoint). */
export function datasetOptions(config: RunConfig, tokenizer?: TokenizerJSON): OpenDatasetOptions {
  const d = config.data;
  const options: OpenDatasetOptions = { seed: d.seed };
  if (tokenizer) options.tokenizer = tokenizer;
  else if (d.tokenizer) options.tokenizer = d.tokenizer;
  if (d.brownDocuments !== undefined) options.brownDocuments = d.brownDocuments;
  if (d.bpeVocabSize !== undefined) options.bpeVocabSize = d.bpeVocabSize;
  if (d.checkContent !== undefined) options.checkContent = d.checkContent;
  if (d.task) options.task = d.task;
  if (d.episodes) options.episodes = d.episodes;
  return options;
}

/** Options of {@link openModel}. */
export interface OpenModelOptions {
  /** The model config (`config.model` plus `vocabSize`), e.g. a checkpoint's `config`. */
  model: Record<string, unknown>;
  tokenizer: Tokenizer;
  /** Refuse a model too big to train on the backend (see `checkTrainingMemory`). */
  forTraining?: boolean;
}

/** Builds the model, selects a backend and creates the trainer: a session without data. */
export async function openModel(config: RunConfig, options: OpenModelOptions): Promise<ModelSession> {
  const model = createModel(options.model);
  const backend = await selectBackend({ backend: config.backend });
  if (options.forTraining) checkTrainingMemory(model, config, backend.name);
  const t = config.train;
  const trainerOptions = {
    tf: backend.tf,
    seed: t.seed,
    accumulation: t.accumulation,
    optimizer: { lr: t.lr, warmupSteps: t.warmupSteps, totalSteps: t.scheduleSteps ?? t.steps, weightDecay: t.weightDecay, clipNorm: t.clipNorm },
  };
  const trainer =
    t.workers > 1
      ? await createParallelTrainer(model, { ...trainerOptions, workers: t.workers, kindModules: await kindModuleUrls() })
      : createTrainer(model, trainerOptions);
  return { config, model, tokenizer: options.tokenizer, backend, trainer, close: () => trainer.dispose() };
}

/** Opens the data, builds the model for its vocabulary, selects a backend and creates the trainer. */
export async function openSession(config: RunConfig, options: { tokenizer?: TokenizerJSON; dataSpec?: string; forTraining?: boolean } = {}): Promise<Session> {
  const dataset = await openDataset(options.dataSpec ?? config.data.spec, datasetOptions(config, options.tokenizer));
  try {
    const session = await openModel(config, {
      model: { ...config.model, vocabSize: dataset.outputSize, seed: config.train.seed },
      tokenizer: dataset.tokenizer,
      ...(options.forTraining ? { forTraining: true } : {}),
    });
    return {
      ...session,
      dataset,
      close: () => {
        session.close();
        dataset.close();
      },
    };
  } catch (e) {
    dataset.close();
    throw e;
  }
}
