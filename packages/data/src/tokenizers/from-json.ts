import { DataError } from '../errors.js';
import { BpeTokenizer } from './bpe.js';
import { ByteTokenizer } from './byte.js';
import { CharTokenizer } from './char.js';
import type { Tokenizer, TokenizerJSON } from './tokenizer.js';
import { WordTokenizer } from './word.js';

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * Rebuilds a tokenizer from what its `toJSON()` returned (an object, or that object as a JSON
 * string). The result encodes and decodes exactly like the original.
 *
 * @throws DataError when the JSON is not a saved tokenizer.
 */
export function tokenizerFromJSON(json: TokenizerJSON | string | unknown): Tokenizer {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      throw new DataError('tokenizerFromJSON: the string is not valid JSON');
    }
  }
  const bad = (why: string): DataError => new DataError(`tokenizerFromJSON: ${why}`);
  if (value === null || typeof value !== 'object') throw bad('expected an object with a "kind" field');
  const o = value as Record<string, unknown>;
  switch (o['kind']) {
    case 'byte':
      if (!isStrings(o['specials'])) throw bad('a byte tokenizer needs "specials": string[]');
      return new ByteTokenizer({ specials: o['specials'] });
    case 'char': {
      const specials = o['specials'];
      if (!isStrings(o['vocab'])) throw bad('a char tokenizer needs "vocab": string[]');
      if (typeof specials !== 'number' || !Number.isInteger(specials) || specials < 0) {
        throw bad('a char tokenizer needs "specials": a count');
      }
      return new CharTokenizer(o['vocab'], specials);
    }
    case 'word': {
      const unk = o['unk'];
      if (!isStrings(o['vocab'])) throw bad('a word tokenizer needs "vocab": string[]');
      if (unk !== null && typeof unk !== 'string') throw bad('a word tokenizer needs "unk": string | null');
      return new WordTokenizer(o['vocab'], { unk });
    }
    case 'bpe': {
      const merges = o['merges'];
      const ok =
        Array.isArray(merges) &&
        merges.every((m) => Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'number'));
      if (!ok) throw bad('a bpe tokenizer needs "merges": [number, number][]');
      if (!isStrings(o['specials'])) throw bad('a bpe tokenizer needs "specials": string[]');
      return new BpeTokenizer(merges as [number, number][], o['specials']);
    }
    default:
      throw bad(`unknown kind ${JSON.stringify(o['kind'])} (valid kinds: byte, char, word, bpe)`);
  }
}

/**
 * Throws a DataError unless `tokenizer.vocabSize === vocabSize` — e.g. when a checkpoint's model
 * was built for another vocabulary than the tokenizer given with it.
 */
export function assertVocabSize(tokenizer: Tokenizer, vocabSize: number): void {
  if (tokenizer.vocabSize !== vocabSize) {
    throw new DataError(
      `the ${tokenizer.kind} tokenizer has ${tokenizer.vocabSize} symbols but ${vocabSize} were expected: use the tokenizer saved with the model`,
    );
  }
}
