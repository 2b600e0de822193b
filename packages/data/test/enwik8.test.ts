import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ENWIK8_BYTES, type FileTokenSource, evalBatcher, openDataset, openEnwik8 } from '../src/index.js';
import { dataError, tempDir, writeEnwik8StandIn } from './helpers.js';

describe('enwik8', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const good = join(dir, 'enwik8');
  writeEnwik8StandIn(good);

  it('splits 90M / 5M / 5M bytes, streamed from disk', () => {
    const e = openEnwik8(good);
    expect(e.tokenizer.vocabSize).toBe(256);
    expect([e.splits.train.length, e.splits.valid.length, e.splits.test.length]).toEqual([90_000_000, 5_000_000, 5_000_000]);
    const out = new Int32Array(10);
    e.splits.train.read(0, 10, out);
    expect(e.tokenizer.decode(out)).toBe('<mediawiki');
    e.splits.valid.read(0, 6, out);
    expect(e.tokenizer.decode(out.subarray(0, 6))).toBe('<page>');
    e.close();
  });

  it('batches the valid split from disk without loading it', async () => {
    const ds = await openDataset(`enwik8:${good}`);
    const b = ds.splits.valid.evalBatcher({ batch: 4, length: 64 });
    const first = b.next().value;
    expect(first?.tokens.length).toBe(256);
    for (let i = 0; i < 50; i++) b.next();
    // one segment (length + 1 bytes) is all the file source ever holds
    expect((ds.splits.valid.tokens as FileTokenSource).bufferedBytes).toBeLessThanOrEqual(65);
    expect(b.stepsPerEpoch(0)).toBe(Math.ceil((5_000_000 - 1) / 4 / 64));
    ds.close();
    expect(evalBatcher).toBeTypeOf('function');
  });

  it('refuses a file of the wrong size, saying what was expected', async () => {
    const small = join(dir, 'small');
    writeFileSync(small, '<mediawiki>');
    const err = await dataError(() => openEnwik8(small));
    expect(err.message).toMatch(/has 11 bytes, but enwik8 has exactly 100 000 000/);
  });

  it('refuses a file that does not start like enwik8, unless checkContent is false', async () => {
    const zeros = join(dir, 'zeros');
    writeEnwik8StandIn(zeros, { header: false });
    const err = await dataError(() => openEnwik8(zeros));
    expect(err.message).toMatch(/does not start with "<mediawiki"/);
    const e = openEnwik8(zeros, { checkContent: false });
    expect(e.splits.test.length).toBe(ENWIK8_BYTES / 20);
    e.close();
    const ds = await openDataset(`enwik8:${zeros}`, { checkContent: false });
    expect(ds.name).toBe('enwik8');
    ds.close();
  });

  it('reports a missing file', async () => {
    const err = await dataError(() => openDataset(`enwik8:${join(dir, 'nope')}`));
    expect(err.message).toMatch(/no such file: .*nope \(expected the 100 000 000-byte enwik8 file\)/);
  });
});
