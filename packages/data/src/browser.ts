/**
 * The browser entry (`@staircase/data/browser`, and what bundlers pick for the package under the
 * `browser` condition): tokenizers, the synthetic tasks generated in memory, batching over
 * in-memory tokens, and the evaluation tally. It leaves out what reads files — `openDataset`, the
 * corpora (Brown, enwik8, text files), `FileTokenSource`, task files — so that it reaches no Node
 * built-in. A task's splits as `openDataset` makes them: `generateTaskData(task, episodes,
 * splitSeed(seed, split))`.
 *
 * @packageDocumentation
 */
export { DataError } from './errors.js';

export type { Tokenizer, TokenizerJSON, ByteTokenizerJSON, CharTokenizerJSON, WordTokenizerJSON, BpeTokenizerJSON } from './tokenizers/tokenizer.js';
export { ByteTokenizer } from './tokenizers/byte.js';
export { CharTokenizer, UNK } from './tokenizers/char.js';
export { WordTokenizer } from './tokenizers/word.js';
export { BpeTokenizer } from './tokenizers/bpe.js';
export { trainBpe, type TrainBpeOptions } from './tokenizers/bpe-train.js';
export { pretokenize } from './tokenizers/pretokenize.js';
export { tokenizerFromJSON, assertVocabSize } from './tokenizers/from-json.js';

export { type TokenSource, type IdArray, ArrayTokenSource, SliceTokenSource, ConcatTokenSource, sourceToArray } from './batching/token-source.js';
export type { Batch, BatcherPosition } from './batching/batch.js';
export { RowSchedule, type Run } from './batching/row-schedule.js';
export { createBatcher, evalBatcher, type Batcher, type BatcherOptions } from './batching/batcher.js';

export type { SplitName } from './corpora/split-name.js';
export { detokenize, stripTag } from './corpora/brown-detok.js';

export { IGNORE, type Episode, type Task } from './tasks/task.js';
export { algorithmicTask, algorithmicParams, generateProgram, type AlgorithmicOptions, type AlgorithmicParams } from './tasks/algorithmic.js';
export { checkAlgorithmicProgram } from './tasks/algorithmic-check.js';
export { randomWalkTask, randomWalkParams, generateWalk, checkWalk, type RandomWalkOptions, type RandomWalkParams } from './tasks/random-walk.js';
export { generateTaskData, taskEpisodes, splitSeed, episodesToText, episodesFromText, episodesToData, queryIndices, type LabelledData } from './tasks/task-data.js';

export { EvalTally, episodeBounds, tokenUnit, type EpisodeBounds, type EvalMetrics, type PositionError } from './eval/tally.js';

export { createRng, mixSeed, hashString, type Rng } from './util/rng.js';
