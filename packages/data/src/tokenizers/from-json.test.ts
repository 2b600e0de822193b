import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { ByteTokenizer } from './byte.js';
import { CharTokenizer } from './char.js';
import { assertVocabSize, tokenizerFromJSON } from './from-json.js';

describe('tokenizerFromJSON', () => {
  it('refuses what is not a saved tokenizer, in one line', () => {
    for (const bad of ['{', '{"kind":"sentencepiece"}', { kind: 'bpe', merges: [[300, 1]], specials: [] }, 42]) {
      expect(() => tokenizerFromJSON(bad)).toThrow(DataError);
    }
    expect(() => tokenizerFromJSON({ kind: 'sentencepiece' })).toThrow(/unknown kind "sentencepiece" \(valid kinds: byte, char, word, bpe\)/);
  });

  it('assertVocabSize refuses a tokenizer that does not match a vocabulary size', () => {
    expect(() => assertVocabSize(new ByteTokenizer(), 256)).not.toThrow();
    const err = (() => {
      try {
        assertVocabSize(CharTokenizer.fromText('abc'), 256);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(DataError);
    expect(err?.message).toMatch(/char tokenizer has 4 symbols but 256 were expected/);
    expect(err?.message).not.toContain('\n');
  });
});
