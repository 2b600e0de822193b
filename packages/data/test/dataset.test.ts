import { describe, expect, it } from 'vitest';
import { CharTokenizer, DATASET_SPECS, DataError, openDataset, tokenizerFromJSON } from '../src/index.js';
import { dataError } from './helpers.js';

describe('openDataset', () => {
  it('opens algorithmic:3var as a labelled task with its label vocabulary', async () => {
    const ds = await openDataset('algorithmic:3var', { seed: 1, episodes: { train: 50, valid: 5, test: 5 } });
    expect(ds.labelled).toBe(true);
    expect(ds.tokenizer.kind).toBe('word');
    expect(ds.labelNames).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(ds.numLabels).toBe(10);
    expect(ds.outputSize).toBe(Math.max(ds.tokenizer.vocabSize, 10));
    const text = ds.tokenizer.decode(ds.splits.valid.toArrays().tokens);
    expect(text.split(' END').length - 1).toBe(5);
    const again = await openDataset('algorithmic:3var', { seed: 1, episodes: { train: 50, valid: 5, test: 5 } });
    expect(again.splits.train.toArrays()).toEqual(ds.splits.train.toArrays());
    expect(ds.splits.train.toArrays().tokens).not.toEqual(ds.splits.valid.toArrays().tokens.slice(0, ds.splits.train.length));
  });

  it('batches a labelled task: targets are labels, every labelled position scored once', async () => {
    const ds = await openDataset('algorithmic:5var', { episodes: { train: 20, valid: 3, test: 3 } });
    const { labels } = ds.splits.test.toArrays();
    const labelled = Array.from(labels ?? []).filter((l) => l >= 0).length;
    let scored = 0;
    for (const b of ds.splits.test.evalBatcher({ batch: 2, length: 100 })) scored += b.mask.reduce((a, m) => a + m, 0);
    expect(scored).toBe(labelled);
  });

  it('opens random-walk with task parameters', async () => {
    const ds = await openDataset('random-walk', { task: { ringSize: 5, queryInterval: 2, episodeLength: 10 }, episodes: { train: 4, valid: 2, test: 2 } });
    expect(ds.labelNames).toEqual(['0', '1', '2', '3', '4']);
    expect(ds.splits.train.length).toBe(4 * (10 + 5 + 1));
    const b = ds.splits.train.batcher({ batch: 2, length: 8 }).next().value;
    expect(b?.tokens.length).toBe(16);
  });

  it('refuses an unknown spec, listing the valid ones', async () => {
    // Specs read at run time (typed string): as literals these are compile errors (DatasetSpec).
    const err = await dataError(() => openDataset('wikitext' as string));
    expect(err.message).toMatch(/unknown dataset "wikitext": valid specs are brown, text:PATH/);
    for (const s of DATASET_SPECS) expect(err.message).toContain(s);
    expect((await dataError(() => openDataset('algorithmic:4var' as string))).message).toMatch(/algorithmic:3var, algorithmic:5var/);
  });

  it('refuses unknown options and task parameters', async () => {
    expect((await dataError(() => openDataset('brown', { tokeniser: 'char' } as object))).message).toMatch(/unknown option "tokeniser"/);
    expect((await dataError(() => openDataset('random-walk', { task: { ring: 4 } as object }))).message).toMatch(/unknown option "ring"/);
  });

  it('refuses a tokenizer that does not match the vocabulary size', async () => {
    const err = await dataError(() => openDataset('brown', { brownDocuments: 20, vocabSize: 512 }));
    expect(err.message).toMatch(/byte tokenizer has 256 symbols but 512 were expected/);
    const task = await dataError(() => openDataset('algorithmic:3var', { tokenizer: CharTokenizer.fromText('abc'), episodes: { train: 1, valid: 1, test: 1 } }));
    expect(task.message).toMatch(/does not match its vocabulary/);
  });

  it('reuses a saved tokenizer (as embedded in a checkpoint)', async () => {
    const first = await openDataset('brown', { tokenizer: 'char', brownDocuments: 40 });
    const json = JSON.stringify(first.tokenizer.toJSON());
    const second = await openDataset('brown', { tokenizer: JSON.parse(json), brownDocuments: 40, vocabSize: first.tokenizer.vocabSize });
    expect(second.splits.valid.toArrays()).toEqual(first.splits.valid.toArrays());
    expect(tokenizerFromJSON(json).vocabSize).toBe(first.tokenizer.vocabSize);
  });

  it('throws DataError (not a raw error) for bad batcher settings from a split', async () => {
    const ds = await openDataset('random-walk', { episodes: { train: 1, valid: 1, test: 1 } });
    expect(() => ds.splits.valid.batcher({ batch: 0, length: 8 })).toThrow(DataError);
  });
});
