/**
 * Counters a streaming reader updates, to check that memory stays bounded: pass an object as the
 * `stats` option and read it afterwards.
 */
export interface StreamStats {
  /** Chunks read from disk. */
  chunks: number;
  /** Bytes read from disk. */
  bytesRead: number;
  /** Largest chunk read at once (≤ the `chunkBytes` option). */
  maxChunkBytes: number;
  /** Most characters of decoded text held at once (a chunk plus any carried-over tail). */
  maxHeldChars: number;
}

/** A fresh, zeroed {@link StreamStats}. */
export const createStreamStats = (): StreamStats => ({ chunks: 0, bytesRead: 0, maxChunkBytes: 0, maxHeldChars: 0 });
