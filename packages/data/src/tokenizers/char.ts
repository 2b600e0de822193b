import { DataError } from '../errors.js';
import { checkKeys } from '../util/options.js';
import { checkIds } from './check-ids.js';
import type { CharTokenizerJSON, Tokenizer } from './tokenizer.js';

/** Default symbol for characters outside the vocabulary (id 0). */
export const UNK = '<unk>';

/**
 * Character-level tokenizer over Unicode code points (not UTF-16 units: an emoji is one id).
 * Id 0 is the unknown symbol, then the specials, then the characters in code point order.
 *
 * @example
 * ```ts
 * const t = CharTokenizer.fromText('héllo 👋');
 * t.decode(t.encode('hello')) === 'hello';
 * ```
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  /** Symbol of each id. */
  readonly vocab: readonly string[];
  private readonly specials: number;
  private readonly index = new Map<string, number>();

  /** Builds from a full vocabulary list as saved by `toJSON` (`vocab[0]` = unknown symbol). */
  constructor(vocab: readonly string[], specials = 0) {
    if (vocab.length === 0) throw new DataError('char tokenizer: the vocabulary needs at least the unknown symbol');
    this.vocab = [...vocab];
    this.specials = specials;
    this.vocabSize = vocab.length;
    vocab.forEach((sym, id) => {
      if (this.index.has(sym)) throw new DataError(`char tokenizer: symbol ${JSON.stringify(sym)} appears twice`);
      if (id > specials && [...sym].length !== 1) {
        throw new DataError(`char tokenizer: vocabulary entry ${id} must be one code point, got ${JSON.stringify(sym)}`);
      }
      this.index.set(sym, id);
    });
  }

  /** Builds a vocabulary from the characters of `text` (or of several texts). */
  static fromText(text: string | Iterable<string>, options: { specials?: readonly string[] } = {}): CharTokenizer {
    const chars = new Set<string>();
    for (const part of typeof text === 'string' ? [text] : text) for (const ch of part) chars.add(ch);
    return CharTokenizer.fromChars(chars, options);
  }

  /** Builds from a set of characters (each one code point). */
  static fromChars(chars: Iterable<string>, options: { specials?: readonly string[] } = {}): CharTokenizer {
    checkKeys(options, ['specials'], 'CharTokenizer');
    const specials = [...(options.specials ?? [])];
    const sorted = [...new Set(chars)].sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number));
    return new CharTokenizer([UNK, ...specials, ...sorted.filter((c) => !specials.includes(c) && c !== UNK)], specials.length);
  }

  /** Whether `ch` (one code point) has its own id. */
  has(ch: string): boolean {
    return this.index.has(ch);
  }

  /** One id per code point; characters outside the vocabulary become id 0. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const ch of text) out.push(this.index.get(ch) ?? 0);
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    checkIds(ids, this.vocabSize, this.kind);
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.vocab[ids[i] as number];
    return s;
  }

  toJSON(): CharTokenizerJSON {
    return { kind: 'char', vocab: [...this.vocab], specials: this.specials };
  }
}
