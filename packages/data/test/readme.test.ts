import { describe, expect, it } from 'vitest';
import { openDataset, tokenizerFromJSON } from '../src/index.js';

describe('README example', () => {
  it('runs as written', async () => {
    const ds = await openDataset('algorithmic:3var', { seed: 1, episodes: { train: 1000, valid: 100, test: 100 } });
    expect([ds.tokenizer.vocabSize, ds.numLabels, ds.outputSize]).toEqual([23, 10, 23]);
    const train = ds.splits.train.batcher({ batch: 8, length: 128 });
    let steps = 0;
    for (const b of train) {
      expect(b.tokens).toHaveLength(8 * 128);
      steps++;
      if (b.step === 10) break;
    }
    expect(steps).toBe(11);
    const saved = JSON.stringify(train.position());
    const resumed = ds.splits.train.batcher({ batch: 8, length: 128, position: JSON.parse(saved) });
    expect(resumed.next().value).toEqual(train.next().value);
    let evalSteps = 0;
    for (const _ of ds.splits.valid.evalBatcher({ batch: 8, length: 128 })) evalSteps++;
    expect(evalSteps).toBe(ds.splits.valid.evalBatcher({ batch: 8, length: 128 }).stepsPerEpoch(0));
    const tokenizer = tokenizerFromJSON(JSON.stringify(ds.tokenizer.toJSON()));
    expect(tokenizer.toJSON()).toEqual(ds.tokenizer.toJSON());
    ds.close();
  });
});
