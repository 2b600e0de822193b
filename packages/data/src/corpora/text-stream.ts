import { open } from 'node:fs/promises';
import { DataError } from '../errors.js';
import type { ByteRegion } from './regions.js';
import type { StreamStats } from './stream-stats.js';

/** Options of {@link readTextChunks}. */
export interface TextStreamOptions {
  /** Bytes read from disk at a time (one reused buffer). Default 1 MiB. */
  chunkBytes?: number;
  /** Counters to update (see {@link StreamStats}). */
  stats?: StreamStats;
}

/** Default read size. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/**
 * Reads byte regions as UTF-8 text, a chunk at a time, never holding more than one chunk of bytes.
 * Yielded strings always end on a code point boundary.
 *
 * @throws DataError when a file is not UTF-8 text or holds a NUL byte (binary data).
 */
export async function* readTextChunks(regions: readonly ByteRegion[], options: TextStreamOptions = {}): AsyncGenerator<string> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const stats = options.stats;
  const buffer = Buffer.alloc(chunkBytes);
  for (const region of regions) {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(region.path, 'r');
    } catch {
      throw new DataError(`cannot read ${region.path}: no such file or no permission`);
    }
    try {
      for (let at = region.start; at < region.end; ) {
        const want = Math.min(chunkBytes, region.end - at);
        const { bytesRead } = await fh.read(buffer, 0, want, at);
        if (bytesRead === 0) throw new DataError(`${region.path} is shorter than expected: it changed while being read`);
        if (stats) {
          stats.chunks++;
          stats.bytesRead += bytesRead;
          stats.maxChunkBytes = Math.max(stats.maxChunkBytes, bytesRead);
        }
        const view = buffer.subarray(0, bytesRead);
        const nul = view.indexOf(0);
        if (nul >= 0) {
          throw new DataError(`${region.path} looks like binary data (NUL byte at offset ${at + nul}): char and bpe tokenizers need text; use the byte tokenizer`);
        }
        let text: string;
        try {
          text = decoder.decode(view, { stream: at + bytesRead < region.end });
        } catch {
          throw new DataError(`${region.path} is not UTF-8 text (bad bytes near offset ${at}): char and bpe tokenizers need text; use the byte tokenizer`);
        }
        at += bytesRead;
        if (text.length > 0) yield text;
      }
    } finally {
      await fh.close();
    }
  }
}

/** Reads regions whole into one string (for corpora below the streaming threshold). */
export async function readText(regions: readonly ByteRegion[], options: TextStreamOptions = {}): Promise<string> {
  const parts: string[] = [];
  for await (const t of readTextChunks(regions, options)) parts.push(t);
  return parts.join('');
}

/** The set of code points in some regions, streamed. */
export async function collectChars(regions: readonly ByteRegion[], options: TextStreamOptions = {}): Promise<Set<string>> {
  const chars = new Set<string>();
  for await (const t of readTextChunks(regions, options)) for (const ch of t) chars.add(ch);
  return chars;
}

/** Up to `maxChars` characters from the start of the regions (e.g. a BPE training sample). */
export async function readTextPrefix(regions: readonly ByteRegion[], maxChars: number, options: TextStreamOptions = {}): Promise<string> {
  const parts: string[] = [];
  let n = 0;
  for await (const t of readTextChunks(regions, options)) {
    parts.push(t);
    n += t.length;
    if (n >= maxChars) break;
  }
  const text = parts.join('');
  if (text.length <= maxChars) return text;
  const cut = /[\uD800-\uDBFF]/.test(text[maxChars - 1] ?? '') ? maxChars - 1 : maxChars;
  return text.slice(0, cut);
}
