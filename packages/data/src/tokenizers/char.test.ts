import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CharTokenizer } from './char.js';
import { tokenizerFromJSON } from './from-json.js';

describe('CharTokenizer', () => {
  it('round-trips arbitrary Unicode text with a vocabulary built from it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const t = CharTokenizer.fromText(s);
        const ids = t.encode(s);
        expect(ids.length).toBe([...s].length);
        expect(ids.includes(0)).toBe(false);
        expect(t.decode(ids)).toBe(s);
        const loaded = tokenizerFromJSON(JSON.parse(JSON.stringify(t.toJSON())));
        expect(loaded.encode(s)).toEqual(ids);
      }),
    );
  });

  it('counts code points, not UTF-16 units', () => {
    const t = CharTokenizer.fromText('a👋é𝄞');
    expect(t.vocabSize).toBe(5); // <unk> + 4 characters
    expect(t.encode('👋𝄞')).toHaveLength(2);
    expect(t.decode(t.encode('é👋a'))).toBe('é👋a');
  });

  it('maps unknown characters to id 0 (<unk>)', () => {
    const t = CharTokenizer.fromText('abc');
    expect(t.encode('abz')).toEqual([1, 2, 0]);
    expect(t.decode([0])).toBe('<unk>');
  });

  it('is deterministic: the same characters give the same ids in any order', () => {
    expect(CharTokenizer.fromText('cab').toJSON()).toEqual(CharTokenizer.fromText('bca').toJSON());
  });
});
