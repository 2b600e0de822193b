import { DataError } from '../errors.js';
import { checkKeys } from '../util/options.js';
import type { ByteTokenizerJSON, Tokenizer } from './tokenizer.js';
import { checkIds } from './check-ids.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/**
 * Byte-level tokenizer (the enwik8 convention): id `b` is byte `b` (0..255) of the UTF-8 text;
 * optional special symbols take ids 256, 257, ...
 *
 * Round-trips any byte string through {@link ByteTokenizer.encodeBytes}/{@link ByteTokenizer.decodeBytes}
 * and any well-formed string through `encode`/`decode`.
 *
 * @example
 * ```ts
 * const t = new ByteTokenizer();
 * t.encode('hé'); // [104, 195, 169]
 * ```
 */
export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte' as const;
  readonly vocabSize: number;
  /** Special symbols, ids `256 + i`. */
  readonly specials: readonly string[];

  constructor(options: { specials?: readonly string[] } = {}) {
    checkKeys(options, ['specials'], 'ByteTokenizer');
    this.specials = [...(options.specials ?? [])];
    if (new Set(this.specials).size !== this.specials.length) {
      throw new DataError('byte tokenizer: special symbols must be distinct');
    }
    this.vocabSize = 256 + this.specials.length;
  }

  /** UTF-8 bytes of `text`, one id each. */
  encode(text: string): number[] {
    return Array.from(encoder.encode(text));
  }

  /** Bytes to ids (identity). */
  encodeBytes(bytes: Uint8Array): number[] {
    return Array.from(bytes);
  }

  /** Ids to bytes; special ids are written as the UTF-8 of their name. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    checkIds(ids, this.vocabSize, this.kind);
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id < 256) out.push(id);
      else for (const b of encoder.encode(this.specials[id - 256] as string)) out.push(b);
    }
    return Uint8Array.from(out);
  }

  /** Ids to text (invalid UTF-8 becomes U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    return decoder.decode(this.decodeBytes(ids));
  }

  toJSON(): ByteTokenizerJSON {
    return { kind: 'byte', specials: [...this.specials] };
  }
}
