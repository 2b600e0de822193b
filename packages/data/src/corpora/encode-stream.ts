import { open } from 'node:fs/promises';
import { FileTokenSource } from '../batching/file-token-source.js';
import { ArrayTokenSource, type TokenSource } from '../batching/token-source.js';
import { safeCut } from '../tokenizers/pretokenize.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { ByteRegion } from './regions.js';
import { type TextStreamOptions, DEFAULT_CHUNK_BYTES, readTextChunks } from './text-stream.js';

/** Options of {@link encodeRegions}. */
export interface EncodeStreamOptions extends TextStreamOptions {
  /** Write ids to this file (int32 little-endian) instead of memory. */
  cacheFile?: string;
}

/**
 * Encodes text regions chunk by chunk, giving the same ids as `tokenizer.encode(wholeText)`:
 * chunks are cut where the tokenizer's result cannot depend on what follows (any code point for
 * byte and char level; before a whitespace run for BPE and words, with a bounded carry). Ids go to memory, or to a
 * cache file read back on demand when `cacheFile` is set.
 */
export async function encodeRegions(
  regions: readonly ByteRegion[],
  tokenizer: Tokenizer,
  options: EncodeStreamOptions = {},
): Promise<TokenSource> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxCarry = 4 * chunkBytes;
  const stats = options.stats;
  let memory = new Int32Array(1 << 16);
  let count = 0;
  const file = options.cacheFile ? await open(options.cacheFile, 'w') : null;
  const emit = async (ids: number[]): Promise<void> => {
    if (file) {
      const buf = Buffer.alloc(ids.length * 4);
      for (let i = 0; i < ids.length; i++) buf.writeInt32LE(ids[i] as number, i * 4);
      await file.write(buf);
    } else {
      if (count + ids.length > memory.length) {
        const grown = new Int32Array(Math.max(count + ids.length, memory.length * 2));
        grown.set(memory.subarray(0, count));
        memory = grown;
      }
      memory.set(ids, count);
    }
    count += ids.length;
  };
  try {
    let carry = '';
    for await (const text of readTextChunks(regions, options)) {
      const held = carry + text;
      if (stats) stats.maxHeldChars = Math.max(stats.maxHeldChars, held.length);
      let cut = tokenizer.kind === 'char' || tokenizer.kind === 'byte' ? held.length : safeCut(held);
      if (cut === 0 && held.length > maxCarry) {
        cut = /[\uD800-\uDBFF]/.test(held[held.length - 1] as string) ? held.length - 1 : held.length;
      }
      await emit(tokenizer.encode(held.slice(0, cut)));
      carry = held.slice(cut);
    }
    if (carry.length > 0) await emit(tokenizer.encode(carry));
  } finally {
    await file?.close();
  }
  if (options.cacheFile) return new FileTokenSource(options.cacheFile, { length: count, bytesPerId: 4 });
  return new ArrayTokenSource(memory.slice(0, count));
}
