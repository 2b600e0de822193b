import { closeSync, openSync, readSync } from 'node:fs';
import { DataError } from '../errors.js';
import type { TokenSource } from './token-source.js';

/** Options of {@link FileTokenSource}. */
export interface FileTokenSourceOptions {
  /** Byte offset of the first id. Default 0. */
  offset?: number;
  /** Number of ids. */
  length: number;
  /** 1 = one unsigned byte per id (raw text as bytes), 4 = little-endian int32. Default 1. */
  bytesPerId?: 1 | 4;
}

/**
 * Ids stored in a file, read on demand with `readSync` into one reused buffer (at most one segment
 * is held at a time), so a corpus of any size streams in bounded memory.
 */
export class FileTokenSource implements TokenSource {
  readonly length: number;
  private readonly offset: number;
  private readonly width: 1 | 4;
  private fd: number | null = null;
  private buffer = Buffer.alloc(0);

  constructor(
    readonly path: string,
    options: FileTokenSourceOptions,
  ) {
    this.offset = options.offset ?? 0;
    this.length = options.length;
    this.width = options.bytesPerId ?? 1;
  }

  /** Largest number of bytes this source has held in its read buffer. */
  get bufferedBytes(): number {
    return this.buffer.length;
  }

  read(start: number, count: number, out: Int32Array, outOffset = 0): void {
    if (start < 0 || count < 0 || start + count > this.length) {
      throw new DataError(`token source ${this.path}: range [${start}, ${start + count}) is outside [0, ${this.length})`);
    }
    if (count === 0) return;
    if (this.fd === null) {
      try {
        this.fd = openSync(this.path, 'r');
      } catch {
        throw new DataError(`cannot open ${this.path}: the file was moved or deleted while in use`);
      }
    }
    const bytes = count * this.width;
    if (this.buffer.length < bytes) this.buffer = Buffer.alloc(bytes);
    let got = 0;
    while (got < bytes) {
      const n = readSync(this.fd, this.buffer, got, bytes - got, this.offset + start * this.width + got);
      if (n === 0) throw new DataError(`${this.path} is shorter than expected: it changed while in use`);
      got += n;
    }
    if (this.width === 1) for (let i = 0; i < count; i++) out[outOffset + i] = this.buffer[i] as number;
    else for (let i = 0; i < count; i++) out[outOffset + i] = this.buffer.readInt32LE(i * 4);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
