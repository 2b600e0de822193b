import { scoreBatches } from '@staircase/backend-tfjs';
import { type Batcher, type DataSplit, type Dataset, type EpisodeBounds, type EvalMetrics, EvalTally, episodeBounds, queryIndices } from '@staircase/data';
import { UsageError } from './errors.js';
import type { Session } from './session.js';

// The tally and its metrics live in @staircase/data, so a browser page scores a split exactly as the CLI does.
export { EvalTally, tokenUnit, type EpisodeBounds, type EvalMetrics, type PositionError } from '@staircase/data';

/** How to score a split. */
export interface EvalOptions {
  batch: number;
  length: number;
  /** Score only the first N batches (periodic evaluation). */
  maxBatches?: number;
  /** Labelled tasks: also tally errors by the query's index within its episode. */
  byPosition?: boolean;
  /** Called after each batch with the batches done and the batches to do (e.g. a progress bar). */
  onBatch?: (done: number, total: number) => void;
}

/** The batches an evaluation of `batcher` goes through: the whole split once, or `maxBatches`. */
export function batchesToScore(batcher: Batcher, options: Pick<EvalOptions, 'maxBatches'>): number {
  const all = batcher.stepsPerEpoch(0);
  return options.maxBatches === undefined ? all : Math.min(all, options.maxBatches);
}

/**
 * For `byPosition`: each position's query index within its episode (see `queryIndices`).
 * @throws UsageError when the data is not a labelled task.
 */
export function splitQueryIndex(dataset: Pick<Dataset, 'labelled' | 'task' | 'name'>, split: DataSplit): Int32Array {
  const end = dataset.task?.vocabulary.indexOf('END') ?? -1;
  if (!dataset.labelled || end < 0) throw new UsageError(`--by-position needs a labelled task (random-walk, algorithmic:*); ${dataset.name} is language data`);
  const { tokens, labels } = split.toArrays();
  return queryIndices(tokens, labels as Int32Array, end);
}

/** The tally for `options`: by position when asked; tasks skip what a row cannot know (see {@link EpisodeBounds}). */
export function tallyFor(dataset: Dataset, split: DataSplit, options: EvalOptions): EvalTally {
  const end = dataset.task?.vocabulary.indexOf('END') ?? -1;
  const bounds: EpisodeBounds | undefined = dataset.labelled && end >= 0 ? episodeBounds(split.toArrays().tokens, end) : undefined;
  return new EvalTally(split.name, dataset, options.byPosition ? splitQueryIndex(dataset, split) : undefined, bounds);
}

/**
 * Evaluates the session's weights on `split` with the models' carried state (the same way they
 * are trained): the whole split once, unless `maxBatches` caps it (periodic evaluation).
 */
export async function evaluateSplit(
  session: Session,
  split: DataSplit,
  options: EvalOptions,
): Promise<EvalMetrics> {
  const { trainer, model, dataset } = session;
  const batcher = split.evalBatcher({ batch: options.batch, length: options.length });
  const tally = tallyFor(dataset, split, options);
  const total = batchesToScore(batcher, options);
  options.onBatch?.(0, total);
  await scoreBatches(trainer, model, batcher, (b, picked, argmax) => {
    tally.add(b, picked, argmax);
    options.onBatch?.(tally.batches, total);
    return options.maxBatches === undefined || tally.batches < options.maxBatches;
  });
  return tally.metrics();
}

/** The headline metric of a dataset for reports: error rate for tasks, bits per token otherwise. */
export function headline(m: EvalMetrics): string {
  if (m.errorRate !== undefined) return `error ${(100 * m.errorRate).toFixed(2)}% (loss ${m.loss.toFixed(4)})`;
  return `${m.bitsPerToken.toFixed(4)} bits/${m.unit}, perplexity ${m.perplexity.toFixed(3)} (loss ${m.loss.toFixed(4)})`;
}
