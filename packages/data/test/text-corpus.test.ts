import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CharTokenizer,
  createStreamStats,
  encodeRegions,
  openDataset,
  openTextCorpus,
  sourceToArray,
  trainBpe,
} from '../src/index.js';
import { dataError, sameIds, tempDir } from './helpers.js';

/** Deterministic multilingual text of about `bytes` bytes. */
function makeText(bytes: number): string {
  const words = ['state', 'tracking', 'naïve', 'café', 'Straße', '日本語', 'emoji👋', 'x', 'recurrence', '—', '42'];
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const w = words[(i * 7 + (i >> 3)) % words.length] as string;
    const sep = i % 13 === 12 ? '\n' : i % 29 === 0 ? '  ' : ' ';
    parts.push(w + sep);
    n += Buffer.byteLength(w + sep);
  }
  return parts.join('');
}

describe('text corpora', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const big = join(dir, 'big.txt');
  const bigText = makeText(2_000_000);
  writeFileSync(big, bigText);

  it('streams a file many times larger than the buffer in bounded memory, with the same ids as in memory', async () => {
    const chunkBytes = 64 * 1024;
    for (const kind of ['char', 'bpe'] as const) {
      const stats = createStreamStats();
      const corpus = await openTextCorpus([big], { tokenizer: kind, bpeVocabSize: 400, streamThresholdBytes: 100_000, chunkBytes, stats });
      expect(corpus.streamed).toBe(true);
      expect(stats.bytesRead).toBeGreaterThan(8 * chunkBytes);
      expect(stats.maxChunkBytes).toBeLessThanOrEqual(chunkBytes);
      expect(stats.maxHeldChars).toBeLessThanOrEqual(2 * chunkBytes);
      const inMemory = await openTextCorpus([big], { tokenizer: corpus.tokenizer });
      expect(inMemory.streamed).toBe(false);
      for (const s of ['train', 'valid', 'test'] as const) {
        expect(sameIds(sourceToArray(corpus.splits[s]), sourceToArray(inMemory.splits[s]))).toBe(true);
      }
      corpus.close();
    }
  });

  it('encodeRegions gives exactly tokenizer.encode of the whole text', async () => {
    const regions = [{ path: big, start: 0, end: 300_000 }];
    const text = Buffer.from(bigText).subarray(0, 300_000).toString('utf8');
    const bpe = trainBpe(text.slice(0, 50_000), { vocabSize: 300 });
    const char = CharTokenizer.fromText(text);
    for (const t of [bpe, char]) {
      const ids = sourceToArray(await encodeRegions(regions, t, { chunkBytes: 1000 }));
      expect(Array.from(ids)).toEqual(t.encode(text));
    }
  });

  it('byte-level streaming reads straight from the files; splits are 90/5/5 and deterministic', async () => {
    const corpus = await openTextCorpus([big], { streamThresholdBytes: 1000 });
    const total = Buffer.byteLength(bigText);
    const lengths = [corpus.splits.train.length, corpus.splits.valid.length, corpus.splits.test.length];
    expect(lengths.reduce((a, b) => a + b)).toBe(total);
    expect(Math.abs((lengths[0] as number) - 0.9 * total)).toBeLessThan(5);
    const out = new Int32Array(5);
    corpus.splits.train.read(0, 5, out);
    expect(corpus.tokenizer.decode(out)).toBe(bigText.slice(0, 5));
    corpus.close();
  });

  it('reads folders recursively, files in name order', async () => {
    const folder = join(dir, 'folder');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'b.txt'), 'second file. '.repeat(100));
    writeFileSync(join(folder, 'sub', 'c.txt'), 'third file. '.repeat(100));
    writeFileSync(join(folder, 'a.txt'), 'first file. '.repeat(100));
    const ds = await openDataset(`text:${folder}`, { tokenizer: 'char' });
    const text = ds.tokenizer.decode(ds.splits.train.toArrays().tokens);
    expect(text.startsWith('first file.')).toBe(true);
    expect(text).toContain('second file.');
    ds.close();
  });

  it('refuses a missing file, an empty file and binary data for a char tokenizer, each in one line', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const binary = join(dir, 'data.bin');
    writeFileSync(binary, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 97) % 256)));
    expect((await dataError(() => openDataset(`text:${join(dir, 'missing.txt')}`))).message).toMatch(/no such file or folder: .*missing\.txt/);
    expect((await dataError(() => openDataset(`text:${empty}`))).message).toMatch(/empty\.txt is empty/);
    expect((await dataError(() => openDataset(`text:${binary}`, { tokenizer: 'char' }))).message).toMatch(
      /data\.bin (looks like binary data|is not UTF-8 text).*use the byte tokenizer/,
    );
    const ds = await openDataset(`text:${binary}`); // bytes are fine byte-level
    expect(ds.tokenizer.kind).toBe('byte');
    ds.close();
  });
});
