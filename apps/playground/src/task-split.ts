/**
 * The random-walk splits exactly as `openDataset('random-walk', …)` makes them in Node (same
 * generator, same per-split seeds), so a model trained or scored in the tab sees the data the CLI
 * would, and `staircase eval --onnx` on the exported file scores the same positions.
 */
import {
  ArrayTokenSource,
  type Batcher,
  EvalTally,
  type RandomWalkOptions,
  type SplitName,
  WordTokenizer,
  createBatcher,
  episodeBounds,
  evalBatcher,
  generateTaskData,
  randomWalkTask,
  splitSeed,
} from '@staircase/data';

/** The data section of a run config (what the CLI reads back from an export's metadata). */
export interface TaskData {
  readonly spec: 'random-walk';
  readonly seed: number;
  readonly task: Required<RandomWalkOptions>;
  readonly episodes: { readonly train: number; readonly valid: number; readonly test: number };
}

/** One split, in memory, with what evaluation needs. */
export interface TaskSplit {
  readonly name: SplitName;
  readonly tokens: Int32Array;
  readonly labels: Int32Array;
  /** Training batches: endless, seeded offsets, as the CLI's training batcher. */
  batcher(batch: number, length: number): Batcher;
  /** The whole split once, in order. */
  evalBatcher(batch: number, length: number): Batcher;
  /** A tally that skips what a row cannot know, as `staircase eval` does. */
  tally(): EvalTally;
}

/** The task, its tokenizer and the model's output size. */
export function openTask(data: TaskData) {
  const task = randomWalkTask(data.task);
  const tokenizer = new WordTokenizer(task.vocabulary);
  const outputSize = Math.max(tokenizer.vocabSize, task.labelNames.length);
  const end = task.vocabulary.indexOf('END');
  const split = (name: SplitName): TaskSplit => {
    const { tokens, labels } = generateTaskData(task, data.episodes[name], splitSeed(data.seed, name));
    const source = { tokens: new ArrayTokenSource(tokens), labels: new ArrayTokenSource(labels) };
    return {
      name,
      tokens,
      labels,
      batcher: (batch, length) => createBatcher({ ...source, batch, length, seed: data.seed }),
      evalBatcher: (batch, length) => evalBatcher({ ...source, batch, length }),
      tally: () => new EvalTally(name, { tokenizer, labelled: true }, undefined, episodeBounds(tokens, end)),
    };
  };
  return { task, tokenizer, outputSize, split };
}
