/**
 * `@staircase/data`: tokenizers, corpora, synthetic state-tracking tasks and batching for
 * recurrent sequence models. Start with {@link openDataset}.
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
export { FileTokenSource, type FileTokenSourceOptions } from './batching/file-token-source.js';
export type { Batch, BatcherPosition } from './batching/batch.js';
export { RowSchedule, type Run } from './batching/row-schedule.js';
export { createBatcher, evalBatcher, type Batcher, type BatcherOptions } from './batching/batcher.js';

export type { SplitName } from './corpora/split-name.js';
export { type StreamStats, createStreamStats } from './corpora/stream-stats.js';
export { listCorpusFiles, type CorpusFile } from './corpora/files.js';
export { splitRegions, type ByteRegion } from './corpora/regions.js';
export { readTextChunks, type TextStreamOptions } from './corpora/text-stream.js';
export { encodeRegions, type EncodeStreamOptions } from './corpora/encode-stream.js';
export { openTextCorpus, buildTokenizerFromText, type TextCorpus, type TextCorpusOptions, type TokenizerChoice } from './corpora/text-corpus.js';
export { openEnwik8, ENWIK8_BYTES, ENWIK8_SPLIT, type Enwik8, type Enwik8Options } from './corpora/enwik8.js';
export { loadBrown, brownDir, brownSplit, brownText, parseBrownFile, type BrownDocument } from './corpora/brown.js';
export { detokenize, stripTag } from './corpora/brown-detok.js';

export { IGNORE, type Episode, type Task } from './tasks/task.js';
export { algorithmicTask, algorithmicParams, generateProgram, type AlgorithmicOptions, type AlgorithmicParams } from './tasks/algorithmic.js';
export { checkAlgorithmicProgram } from './tasks/algorithmic-check.js';
export { randomWalkTask, randomWalkParams, generateWalk, checkWalk, type RandomWalkOptions, type RandomWalkParams } from './tasks/random-walk.js';
export { generateTaskData, taskEpisodes, splitSeed, episodesToText, episodesFromText, episodesToData, queryIndices, type LabelledData } from './tasks/task-data.js';
export { writeTaskFiles, readTaskSplit, type SplitCounts } from './tasks/task-files.js';

export { createRng, mixSeed, hashString, type Rng } from './util/rng.js';

export { openDataset, DATASET_SPECS, type CheckedDatasetSpec, type DatasetSpec, type Dataset, type DataSplit, type OpenDatasetOptions, type SplitBatcherOptions } from './dataset.js';
