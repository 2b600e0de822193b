import { describe, expect, it } from 'vitest';
import { brownSplit, detokenize, loadBrown, openDataset, parseBrownFile } from '../src/index.js';

describe('Brown corpus', () => {
  const docs = loadBrown();

  it('has 500 documents with genres, tags stripped', () => {
    expect(docs).toHaveLength(500);
    expect(docs[0]?.id).toBe('ca01');
    expect(docs[0]?.category).toBe('news');
    const all = docs.map((d) => d.text).join('\n');
    expect(all.length).toBeGreaterThan(5_000_000);
    expect(all).not.toMatch(/\w\/(nn|at|vbd|jj)\s/);
    expect(docs[0]?.text.startsWith('The Fulton County Grand Jury said Friday an investigation of')).toBe(true);
  });

  it('keeps sentences and paragraphs, with readable punctuation', () => {
    const paragraphs = parseBrownFile(
      "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, (/( yes/rb )/) ./.\n\tIt/pps ended/vbd ./.\n\n\n\tNext/ap ./.\n",
    );
    expect(paragraphs).toEqual([['The jury said "no", (yes).', 'It ended.'], ['Next.']]);
    expect(detokenize(['``', 'Hi', "''", ',', 'he', 'said', '.'])).toBe('"Hi", he said.');
  });

  it('splits deterministically by document, 450 / 25 / 25, across genres', () => {
    const counts = { train: 0, valid: 0, test: 0 };
    for (let i = 0; i < docs.length; i++) counts[brownSplit(i)]++;
    expect(counts).toEqual({ train: 450, valid: 25, test: 25 });
    const validGenres = new Set(docs.filter((_, i) => brownSplit(i) === 'valid').map((d) => d.category));
    expect(validGenres.size).toBeGreaterThan(8);
  });

  it('opens as a byte-level dataset by default, and char-level by option', async () => {
    const ds = await openDataset('brown');
    expect(ds.tokenizer.kind).toBe('byte');
    expect(ds.labelled).toBe(false);
    expect(ds.splits.train.length).toBeGreaterThan(5_000_000);
    expect(ds.splits.valid.length).toBeGreaterThan(200_000);
    const head = ds.splits.test.toArrays().tokens.subarray(0, 200);
    expect(ds.tokenizer.decode(head)).toMatch(/^[A-Z"]/);
    const char = await openDataset('brown', { tokenizer: 'char', brownDocuments: 40 });
    expect(char.tokenizer.kind).toBe('char');
    expect(char.tokenizer.vocabSize).toBeLessThan(100);
  });
});
