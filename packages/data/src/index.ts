/**
 * `@staircase/data`: tokenizers, corpora, synthetic state-tracking tasks and batching for
 * recurrent sequence models. Start with {@link openDataset}.
 *
 * This is the Node entry: the browser entry's API (`browser.ts`) plus what reads files.
 *
 * @packageDocumentation
 */
export * from './browser.js';

export { FileTokenSource, type FileTokenSourceOptions } from './batching/file-token-source.js';
export { type StreamStats, createStreamStats } from './corpora/stream-stats.js';
export { listCorpusFiles, type CorpusFile } from './corpora/files.js';
export { splitRegions, type ByteRegion } from './corpora/regions.js';
export { readTextChunks, type TextStreamOptions } from './corpora/text-stream.js';
export { encodeRegions, type EncodeStreamOptions } from './corpora/encode-stream.js';
export { openTextCorpus, buildTokenizerFromText, type TextCorpus, type TextCorpusOptions, type TokenizerChoice } from './corpora/text-corpus.js';
export { openEnwik8, ENWIK8_BYTES, ENWIK8_SPLIT, type Enwik8, type Enwik8Options } from './corpora/enwik8.js';
export { loadBrown, brownDir, brownSplit, brownText, parseBrownFile, type BrownDocument } from './corpora/brown.js';
export { writeTaskFiles, readTaskSplit, type SplitCounts } from './tasks/task-files.js';

export { openDataset, DATASET_SPECS, type CheckedDatasetSpec, type DatasetSpec, type Dataset, type DataSplit, type OpenDatasetOptions, type SplitBatcherOptions } from './dataset.js';
