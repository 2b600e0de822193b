import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { interleavedMedians, kindModuleUrls, median } from '../src/index.js';

describe('interleavedMedians', () => {
  it('times every call once per round, in turn, and returns each call’s median', async () => {
    const order: number[] = [];
    const calls = [0, 1, 2].map((k) => async () => {
      order.push(k);
    });
    const medians = await interleavedMedians(3, calls);
    expect(order).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(medians).toHaveLength(3);
    for (const m of medians) expect(m).toBeGreaterThanOrEqual(0);
  });

  it('median: the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
});

describe('kindModuleUrls', () => {
  it('names the built ESM entries of the packages that register the kinds', async () => {
    const urls = await kindModuleUrls();
    expect(urls).toHaveLength(2);
    for (const url of urls) {
      expect(url).toMatch(/^file:.*\/dist\/index\.js$/);
      expect(existsSync(fileURLToPath(url)), url).toBe(true);
    }
  });
});
