import { DataError } from '../errors.js';
import { checkKeys } from '../util/options.js';
import { checkIds } from './check-ids.js';
import type { Tokenizer, WordTokenizerJSON } from './tokenizer.js';

/**
 * Word-level tokenizer: text is split on whitespace, each word is one id. Used for the synthetic
 * tasks, whose vocabulary is fixed and small. `decode` joins words with single spaces.
 *
 * @example
 * ```ts
 * const t = new WordTokenizer(['x', '=', '1', ';']);
 * t.encode('x = 1 ;'); // [0, 1, 2, 3]
 * ```
 */
export class WordTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  readonly vocabSize: number;
  /** Word of each id. */
  readonly vocab: readonly string[];
  /** Word for unknown words, or null when unknown words are refused. */
  readonly unk: string | null;
  private readonly index = new Map<string, number>();

  constructor(vocab: readonly string[], options: { unk?: string | null } = {}) {
    checkKeys(options, ['unk'], 'WordTokenizer');
    this.unk = options.unk ?? null;
    const words = this.unk !== null && !vocab.includes(this.unk) ? [this.unk, ...vocab] : [...vocab];
    if (words.length === 0) throw new DataError('word tokenizer: the vocabulary is empty');
    for (const [id, w] of words.entries()) {
      if (w === '' || /\s/.test(w)) throw new DataError(`word tokenizer: word ${JSON.stringify(w)} is empty or has whitespace`);
      if (this.index.has(w)) throw new DataError(`word tokenizer: word ${JSON.stringify(w)} appears twice`);
      this.index.set(w, id);
    }
    this.vocab = words;
    this.vocabSize = words.length;
  }

  /** Id of one word, or undefined. */
  id(word: string): number | undefined {
    return this.index.get(word);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of text.split(/\s+/)) {
      if (w === '') continue;
      const id = this.index.get(w) ?? (this.unk === null ? undefined : this.index.get(this.unk));
      if (id === undefined) {
        throw new DataError(`word tokenizer: unknown word ${JSON.stringify(w)} (vocabulary: ${this.vocab.slice(0, 20).join(' ')}${this.vocabSize > 20 ? ' ...' : ''})`);
      }
      out.push(id);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    checkIds(ids, this.vocabSize, this.kind);
    return Array.from(ids, (id) => this.vocab[id] as string).join(' ');
  }

  toJSON(): WordTokenizerJSON {
    return { kind: 'word', vocab: [...this.vocab], unk: this.unk };
  }
}
