/** Serialised form of a {@link ByteTokenizer}. */
export interface ByteTokenizerJSON {
  kind: 'byte';
  /** Extra symbols after the 256 byte values (ids 256, 257, ...). */
  specials: string[];
}

/** Serialised form of a {@link CharTokenizer}. */
export interface CharTokenizerJSON {
  kind: 'char';
  /** Symbol of each id: `vocab[0]` is the unknown symbol, then specials, then one code point each. */
  vocab: string[];
  /** How many entries after `vocab[0]` are specials (not code points). */
  specials: number;
}

/** Serialised form of a {@link WordTokenizer}. */
export interface WordTokenizerJSON {
  kind: 'word';
  /** Word of each id. */
  vocab: string[];
  /** Word that unknown words map to, or null when unknown words are an error. */
  unk: string | null;
}

/** Serialised form of a {@link BpeTokenizer}. */
export interface BpeTokenizerJSON {
  kind: 'bpe';
  /** Merge `i` joins ids `[a, b]` into id `256 + i`, in priority order. */
  merges: [number, number][];
  /** Extra symbols after the merges. */
  specials: string[];
}

/** The JSON a tokenizer saves; `tokenizerFromJSON` loads any of them. Checkpoints embed it. */
export type TokenizerJSON = ByteTokenizerJSON | CharTokenizerJSON | WordTokenizerJSON | BpeTokenizerJSON;

/**
 * What every tokenizer offers. Ids are integers in `[0, vocabSize)`.
 *
 * `decode(encode(text)) === text` holds for byte and BPE tokenizers on any well-formed string, and
 * for char and word tokenizers on text whose symbols are in the vocabulary (word-level: up to
 * whitespace, which is normalised to single spaces).
 */
export interface Tokenizer {
  /** `'byte' | 'char' | 'word' | 'bpe'`. */
  readonly kind: TokenizerJSON['kind'];
  /** Number of distinct ids; the model's input embedding size. */
  readonly vocabSize: number;
  /** Text to ids. */
  encode(text: string): number[];
  /** Ids to text. Throws a DataError for an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string;
  /** A JSON-safe description from which `tokenizerFromJSON` rebuilds an identical tokenizer. */
  toJSON(): TokenizerJSON;
}
