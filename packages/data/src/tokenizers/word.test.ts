import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { tokenizerFromJSON } from './from-json.js';
import { WordTokenizer } from './word.js';

describe('WordTokenizer', () => {
  const t = new WordTokenizer(['x', '=', '1', ';', 'END']);

  it('encodes whitespace-separated words and decodes with single spaces', () => {
    expect(t.encode('x = 1 ;\nEND')).toEqual([0, 1, 2, 3, 4]);
    expect(t.decode([0, 1, 2, 3])).toBe('x = 1 ;');
  });

  it('refuses unknown words unless an unknown symbol is set', () => {
    expect(() => t.encode('y = 1')).toThrow(DataError);
    const loose = new WordTokenizer(['a'], { unk: '<unk>' });
    expect(loose.encode('a b')).toEqual([1, 0]);
  });

  it('saves to JSON and loads back identically', () => {
    const loaded = tokenizerFromJSON(t.toJSON());
    expect(loaded.toJSON()).toEqual(t.toJSON());
    expect(loaded.encode('END x')).toEqual([4, 0]);
  });
});
