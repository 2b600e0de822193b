import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { ByteTokenizer } from './byte.js';
import { tokenizerFromJSON } from './from-json.js';

describe('ByteTokenizer', () => {
  const t = new ByteTokenizer();

  it('has 256 symbols plus specials', () => {
    expect(t.vocabSize).toBe(256);
    expect(new ByteTokenizer({ specials: ['<eos>'] }).vocabSize).toBe(257);
  });

  it('round-trips arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(t.decodeBytes(t.encodeBytes(bytes))).toEqual(bytes);
      }),
    );
  });

  it('round-trips arbitrary Unicode text through UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const ids = t.encode(s);
        expect(ids.every((id) => id >= 0 && id < 256)).toBe(true);
        expect(ids.length).toBe(Buffer.byteLength(s, 'utf8'));
        expect(t.decode(ids)).toBe(s);
      }),
    );
  });

  it('saves to JSON and loads back identically', () => {
    const withSpecials = new ByteTokenizer({ specials: ['<eos>', '<pad>'] });
    const loaded = tokenizerFromJSON(JSON.stringify(withSpecials.toJSON()));
    expect(loaded.toJSON()).toEqual(withSpecials.toJSON());
    expect(loaded.vocabSize).toBe(258);
    expect(loaded.decode([104, 105, 256])).toBe('hi<eos>');
  });

  it('refuses ids outside the vocabulary with a DataError', () => {
    expect(() => t.decode([300])).toThrow(DataError);
    expect(() => t.decode([300])).toThrow(/outside its vocabulary of 256/);
  });
});
