import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenSource } from '../batching/file-token-source.js';
import { ArrayTokenSource, ConcatTokenSource, type TokenSource } from '../batching/token-source.js';
import { DataError } from '../errors.js';
import { trainBpe } from '../tokenizers/bpe-train.js';
import { ByteTokenizer } from '../tokenizers/byte.js';
import { CharTokenizer } from '../tokenizers/char.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { checkInt, checkKeys } from '../util/options.js';
import { encodeRegions } from './encode-stream.js';
import { listCorpusFiles } from './files.js';
import { type ByteRegion, readRegionInto, regionBytes, splitRegions } from './regions.js';
import { SPLIT_NAMES, type SplitName } from './split-name.js';
import type { StreamStats } from './stream-stats.js';
import { DEFAULT_CHUNK_BYTES, collectChars, readText, readTextPrefix } from './text-stream.js';

/** How text corpora are tokenized: a kind to build from the train split, or a ready tokenizer. */
export type TokenizerChoice = 'byte' | 'char' | 'bpe' | Tokenizer;

/** Options of {@link openTextCorpus}. */
export interface TextCorpusOptions {
  /** Default `'byte'`. `'char'` and `'bpe'` are built from the train split. */
  tokenizer?: TokenizerChoice;
  /** Vocabulary size of a trained BPE. Default 1024. */
  bpeVocabSize?: number;
  /** BPE is trained on at most this many characters from the start of the train split. Default 8 000 000. */
  bpeTrainChars?: number;
  /** Train / valid / test fractions of the bytes. Default `[0.9, 0.05, 0.05]`. */
  splitFractions?: [number, number, number];
  /** Corpora larger than this stream from disk instead of loading into memory. Default 64 MiB. */
  streamThresholdBytes?: number;
  /** Bytes read at a time when streaming. Default 1 MiB. */
  chunkBytes?: number;
  /** Where streamed char/BPE ids are cached. Default: a new folder in the OS temp dir, removed by `close()`. */
  cacheDir?: string;
  /** Counters updated while reading (to check the memory bound). */
  stats?: StreamStats;
}

/** Option names of {@link TextCorpusOptions}. */
export const TEXT_CORPUS_KEYS = [
  'tokenizer',
  'bpeVocabSize',
  'bpeTrainChars',
  'splitFractions',
  'streamThresholdBytes',
  'chunkBytes',
  'cacheDir',
  'stats',
] as const;

/** A tokenized corpus: one token source per split. */
export interface TextCorpus {
  tokenizer: Tokenizer;
  splits: Record<SplitName, TokenSource>;
  /** True when the splits are read from disk on demand. */
  streamed: boolean;
  /** Closes files and removes the cache folder this corpus created. */
  close(): void;
}

/**
 * Builds (or takes) the tokenizer for a corpus held in memory from its train text: byte needs
 * nothing, char collects the code points, BPE trains on the first `bpeTrainChars` characters.
 */
export function buildTokenizerFromText(
  choice: TokenizerChoice,
  trainText: string,
  options: { bpeVocabSize?: number | undefined; bpeTrainChars?: number | undefined } = {},
): Tokenizer {
  if (typeof choice === 'object') return choice;
  switch (choice) {
    case 'byte':
      return new ByteTokenizer();
    case 'char':
      return CharTokenizer.fromText(trainText);
    case 'bpe': {
      const maxChars = checkInt(options.bpeTrainChars ?? 8_000_000, 'bpeTrainChars', 1);
      return trainBpe(trainText.slice(0, maxChars), { vocabSize: options.bpeVocabSize ?? 1024 });
    }
    default:
      throw new DataError(`unknown tokenizer ${JSON.stringify(choice)} (valid: byte, char, bpe, or a Tokenizer)`);
  }
}

/** Builds (or takes) the tokenizer for a corpus on disk from its train split, streaming. */
export async function buildTokenizer(
  choice: TokenizerChoice,
  train: readonly ByteRegion[],
  options: TextCorpusOptions,
): Promise<Tokenizer> {
  if (typeof choice === 'object') return choice;
  const read = { chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES, stats: options.stats };
  switch (choice) {
    case 'byte':
      return new ByteTokenizer();
    case 'char':
      return CharTokenizer.fromChars(await collectChars(train, read));
    case 'bpe': {
      const maxChars = checkInt(options.bpeTrainChars ?? 8_000_000, 'bpeTrainChars', 1);
      return trainBpe(await readTextPrefix(train, maxChars, read), { vocabSize: options.bpeVocabSize ?? 1024 });
    }
    default:
      throw new DataError(`unknown tokenizer ${JSON.stringify(choice)} (valid: byte, char, bpe, or a Tokenizer)`);
  }
}

/**
 * Opens plain-text files and folders as one corpus, split by bytes into train / valid / test.
 *
 * Below `streamThresholdBytes` the ids are held in memory; above it byte ids are read straight from
 * the files and char/BPE ids are encoded chunk by chunk into a cache file, so memory stays bounded
 * for any corpus size.
 */
export async function openTextCorpus(paths: readonly string[], options: TextCorpusOptions = {}): Promise<TextCorpus> {
  checkKeys(options, TEXT_CORPUS_KEYS, 'text corpus');
  const files = listCorpusFiles(paths);
  const fractions = options.splitFractions ?? [0.9, 0.05, 0.05];
  const regions = splitRegions(files, fractions, `text:${paths.join(',')}`);
  const choice = options.tokenizer ?? 'byte';
  const total = files.reduce((n, f) => n + f.size, 0);
  const threshold = checkInt(options.streamThresholdBytes ?? 64 * 2 ** 20, 'streamThresholdBytes', 0);
  const chunkBytes = checkInt(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, 'chunkBytes', 16);
  const streamed = total > threshold;
  const read = { chunkBytes, stats: options.stats };
  const tokenizer = await buildTokenizer(choice, regions[0], { ...options, chunkBytes });

  let cacheDir: string | null = null;
  let ownCache = false;
  const splits = {} as Record<SplitName, TokenSource>;
  const cleanup = (): void => {
    for (const s of Object.values(splits)) s.close?.();
    if (ownCache && cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  };
  try {
    for (const [i, name] of SPLIT_NAMES.entries()) {
      const parts = regions[i] as ByteRegion[];
      if (tokenizer.kind === 'byte' && streamed) {
        splits[name] = new ConcatTokenSource(
          parts.map((r) => new FileTokenSource(r.path, { offset: r.start, length: r.end - r.start, bytesPerId: 1 })),
        );
      } else if (tokenizer.kind === 'byte') {
        const bytes = new Uint8Array(regionBytes(parts));
        let at = 0;
        for (const r of parts) {
          readRegionInto(r, bytes, at);
          at += r.end - r.start;
        }
        splits[name] = new ArrayTokenSource(bytes);
      } else if (streamed) {
        if (!cacheDir) {
          cacheDir = options.cacheDir ?? mkdtempSync(join(tmpdir(), 'staircase-data-'));
          ownCache = options.cacheDir === undefined;
        }
        splits[name] = await encodeRegions(parts, tokenizer, { ...read, cacheFile: join(cacheDir, `${name}.i32`) });
      } else {
        splits[name] = new ArrayTokenSource(Int32Array.from(tokenizer.encode(await readText(parts, read))));
      }
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  return { tokenizer, splits, streamed, close: cleanup };
}
