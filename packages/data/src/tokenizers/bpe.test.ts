import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { brownText, loadBrown } from '../corpora/brown.js';
import type { BpeTokenizer } from './bpe.js';
import { trainBpe } from './bpe-train.js';
import { tokenizerFromJSON } from './from-json.js';
import { pretokenize } from './pretokenize.js';

describe('byte-level BPE', () => {
  let corpus: string;
  let bpe: BpeTokenizer;
  beforeAll(() => {
    corpus = brownText(loadBrown().slice(0, 40)); // ~0.5 MB of running text
    bpe = trainBpe(corpus, { vocabSize: 600 });
  });

  it('pre-tokenizes losslessly', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
        expect(pretokenize(s).join('')).toBe(s);
      }),
    );
  });

  it('reaches the requested vocabulary size and compresses the corpus', () => {
    expect(bpe.vocabSize).toBe(600);
    const ids = bpe.encode(corpus);
    expect(ids.length).toBeLessThan(0.5 * Buffer.byteLength(corpus));
    expect(Math.max(...ids.slice(0, 10_000))).toBeGreaterThan(255);
  });

  it('round-trips the corpus', () => {
    expect(bpe.decode(bpe.encode(corpus))).toBe(corpus);
  });

  it('round-trips arbitrary Unicode text (byte fallback, no unknown symbol)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (s) => {
        expect(bpe.decode(bpe.encode(s))).toBe(s);
      }),
    );
  });

  it('saves to JSON and loads back identically', () => {
    const loaded = tokenizerFromJSON(JSON.stringify(bpe.toJSON()));
    expect(loaded.vocabSize).toBe(bpe.vocabSize);
    const sample = corpus.slice(0, 20_000);
    expect(loaded.encode(sample)).toEqual(bpe.encode(sample));
  });

  it('is deterministic', () => {
    const again = trainBpe(corpus.slice(0, 100_000), { vocabSize: 300 });
    expect(again.toJSON()).toEqual(trainBpe(corpus.slice(0, 100_000), { vocabSize: 300 }).toJSON());
  });

  it('learns the obvious merges first', () => {
    const tiny = trainBpe('aaaa aaaa aaaa bb', { vocabSize: 258, minCount: 1 });
    expect(tiny.merges[0]).toEqual([97, 97]); // "aa"
    expect(tiny.encode('aaaa')).toEqual([257]); // "aa" + "aa"
  });
});
