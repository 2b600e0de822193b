import { DataError } from '../errors.js';
import { checkIds } from './check-ids.js';
import { pretokenize } from './pretokenize.js';
import type { BpeTokenizerJSON, Tokenizer } from './tokenizer.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');
const CACHE_LIMIT = 100_000;

/** Key of the pair (a, b) in maps; ids stay far below 2^21. */
export const pairKey = (a: number, b: number): number => a * 2_097_152 + b;

/**
 * Byte-level BPE: text is cut into pieces (see `pretokenize`), each piece's UTF-8 bytes start as
 * ids 0..255 and learned merges join adjacent ids, lowest merge index first. Merge `i` creates id
 * `256 + i`; specials follow the merges. Never needs an unknown symbol. Train one with `trainBpe`.
 */
export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  /** Merges in priority order. */
  readonly merges: readonly (readonly [number, number])[];
  /** Special symbols after the merges. */
  readonly specials: readonly string[];
  private readonly ranks = new Map<number, number>();
  private readonly bytesOf: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  constructor(merges: readonly (readonly [number, number])[], specials: readonly string[] = []) {
    this.merges = merges.map(([a, b]) => [a, b] as const);
    this.specials = [...specials];
    for (let b = 0; b < 256; b++) this.bytesOf.push(Uint8Array.of(b));
    this.merges.forEach(([a, b], i) => {
      const id = 256 + i;
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= id || b >= id) {
        throw new DataError(`bpe tokenizer: merge ${i} joins [${a}, ${b}], but only ids below ${id} exist at that point`);
      }
      if (this.ranks.has(pairKey(a, b))) throw new DataError(`bpe tokenizer: merge ${i} [${a}, ${b}] is repeated`);
      this.ranks.set(pairKey(a, b), i);
      const left = this.bytesOf[a] as Uint8Array;
      const right = this.bytesOf[b] as Uint8Array;
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left);
      joined.set(right, left.length);
      this.bytesOf.push(joined);
    });
    this.vocabSize = 256 + this.merges.length + this.specials.length;
  }

  /** Ids of one piece of text. */
  private encodePiece(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    const ids = Array.from(encoder.encode(piece));
    while (ids.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i] as number, ids[i + 1] as number));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = this.merges[bestRank] as readonly [number, number];
      const merged: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          merged.push(256 + bestRank);
          i++;
        } else merged.push(ids[i] as number);
      }
      ids.splice(0, ids.length, ...merged);
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of pretokenize(text)) for (const id of this.encodePiece(piece)) out.push(id);
    return out;
  }

  /** Ids to UTF-8 bytes; specials are written as the UTF-8 of their name. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    checkIds(ids, this.vocabSize, this.kind);
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const bytes = this.bytesOf[id] ?? encoder.encode(this.specials[id - this.bytesOf.length] as string);
      parts.push(bytes);
      n += bytes.length;
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return decoder.decode(this.decodeBytes(ids));
  }

  toJSON(): BpeTokenizerJSON {
    return { kind: 'bpe', merges: this.merges.map(([a, b]) => [a, b]), specials: [...this.specials] };
  }
}
