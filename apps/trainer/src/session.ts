import { type Model, createModel } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { type BackendSelection, type Trainer, createParallelTrainer, createTrainer, selectBackend } from '@staircase/backend-tfjs';
import { kindModuleUrls } from './module-entry.js';
import { type Dataset, type OpenDatasetOptions, type TokenizerJSON, openDataset } from '@staircase/data';
import type { RunConfig } from './run-config.js';
import { checkTrainingMemory } from './memory-check.js';

/** Everything a command works with: data, model, backend and the trainer holding the weights. */
export interface Session {
  readonly config: RunConfig;
  readonly dataset: Dataset;
  readonly model: Model;
  readonly backend: BackendSelection;
  readonly trainer: Trainer;
  close(): void;
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

/** Opens the data, builds the model for its vocabulary, selects a backend and creates the trainer. */
export async function openSession(config: RunConfig, options: { tokenizer?: TokenizerJSON; dataSpec?: string; forTraining?: boolean } = {}): Promise<Session> {
  const dataset = await openDataset(options.dataSpec ?? config.data.spec, datasetOptions(config, options.tokenizer));
  try {
    const model = createModel({ ...config.model, vocabSize: dataset.outputSize, seed: config.train.seed });
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
    return {
      config,
      dataset,
      model,
      backend,
      trainer,
      close: () => {
        trainer.dispose();
        dataset.close();
      },
    };
  } catch (e) {
    dataset.close();
    throw e;
  }
}
