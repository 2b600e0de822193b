import { DataError } from '../errors.js';

/**
 * Random access to a stream of token ids (or label indices) that may live in memory or on disk.
 * Batchers read it a segment at a time, so a source on disk is never loaded whole.
 */
export interface TokenSource {
  /** Number of ids. */
  readonly length: number;
  /** Copies ids `[start, start + count)` into `out` from `outOffset`. */
  read(start: number, count: number, out: Int32Array, outOffset?: number): void;
  /** Releases file handles (no-op in memory). */
  close?(): void;
}

/** Typed arrays a source can wrap without copying. */
export type IdArray = Int32Array | Uint8Array | Uint16Array | Uint32Array;

/** A source over an array in memory. */
export class ArrayTokenSource implements TokenSource {
  constructor(readonly data: IdArray) {}

  get length(): number {
    return this.data.length;
  }

  read(start: number, count: number, out: Int32Array, outOffset = 0): void {
    checkRange(start, count, this.length);
    out.set(this.data.subarray(start, start + count), outOffset);
  }
}

/** A window `[start, start + length)` of another source. */
export class SliceTokenSource implements TokenSource {
  constructor(
    private readonly inner: TokenSource,
    private readonly start: number,
    readonly length: number,
  ) {
    checkRange(start, length, inner.length);
  }

  read(start: number, count: number, out: Int32Array, outOffset = 0): void {
    checkRange(start, count, this.length);
    this.inner.read(this.start + start, count, out, outOffset);
  }

  close(): void {
    this.inner.close?.();
  }
}

/** Several sources read as one, in order. */
export class ConcatTokenSource implements TokenSource {
  readonly length: number;
  private readonly starts: number[] = [];

  constructor(private readonly parts: readonly TokenSource[]) {
    let n = 0;
    for (const p of parts) {
      this.starts.push(n);
      n += p.length;
    }
    this.length = n;
  }

  read(start: number, count: number, out: Int32Array, outOffset = 0): void {
    checkRange(start, count, this.length);
    let at = start;
    let o = outOffset;
    let left = count;
    for (let i = 0; i < this.parts.length && left > 0; i++) {
      const part = this.parts[i] as TokenSource;
      const s = this.starts[i] as number;
      if (at >= s + part.length) continue;
      const n = Math.min(left, s + part.length - at);
      part.read(at - s, n, out, o);
      at += n;
      o += n;
      left -= n;
    }
  }

  close(): void {
    for (const p of this.parts) p.close?.();
  }
}

/** Copies a whole source into memory (for small splits, tests and tools). */
export function sourceToArray(source: TokenSource): Int32Array {
  const out = new Int32Array(source.length);
  const step = 1 << 20;
  for (let at = 0; at < source.length; at += step) {
    const n = Math.min(step, source.length - at);
    source.read(at, n, out, at);
  }
  return out;
}

function checkRange(start: number, count: number, length: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > length) {
    throw new DataError(`token source: range [${start}, ${start + count}) is outside [0, ${length})`);
  }
}
