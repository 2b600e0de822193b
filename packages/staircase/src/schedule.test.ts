import { describe, expect, it } from 'vitest';
import { cacheWindow, oldestCacheNeeded, oldestChunkNeeded, rowsFor } from './schedule.js';

const label = (rows: ReturnType<typeof rowsFor>) =>
  rows.map((r) => r.entries.map((e) => `C${e.chunk}^${e.pass}`).join(' '));

describe('rowsFor', () => {
  it('reproduces the worked example of PAPER.md (F = 2, n = 3, 8 tokens)', () => {
    expect(label(rowsFor(0, 8, 2, 3))).toEqual(['C0^1', 'C0^2 C1^1', 'C0^3 C1^2 C2^1', 'C1^3 C2^2 C3^1', 'C2^3 C3^2', 'C3^3']);
  });

  it('gives every token exactly n passes, in order, whatever the segmentation', () => {
    for (const [F, n, T] of [
      [2, 3, 8],
      [3, 2, 17],
      [4, 4, 9],
      [1, 3, 5],
      [5, 1, 12],
    ] as const) {
      for (const cuts of [[T], [1, T], [3, 7, T], Array.from({ length: T }, (_, i) => i + 1)]) {
        const seen = Array.from({ length: T }, () => [] as number[]);
        let t0 = 0;
        for (const cut of cuts.filter((c) => c <= T)) {
          for (const row of rowsFor(t0, cut, F, n)) {
            // Queries of a row are contiguous, oldest chunk first.
            for (let i = 1; i < row.entries.length; i++) expect(row.entries[i]!.start).toBe(row.entries[i - 1]!.end);
            for (const e of row.entries) for (let t = e.start; t < e.end; t++) seen[t]!.push(e.pass);
          }
          t0 = cut;
        }
        for (const passes of seen) expect(passes).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      }
    }
  });

  it('puts chunk c at pass r − c + 1 and only the n newest chunks in a row', () => {
    for (const row of rowsFor(0, 40, 4, 3)) {
      for (const e of row.entries) {
        expect(e.pass).toBe(row.row - e.chunk + 1);
        expect(e.pass).toBeGreaterThanOrEqual(1);
        expect(e.pass).toBeLessThanOrEqual(3);
      }
      expect(row.windowStart).toBe(Math.max(0, (row.row - 2) * 4));
    }
  });

  it('is empty for an empty span', () => {
    expect(rowsFor(5, 5, 2, 2)).toEqual([]);
  });
});

describe('cache windows', () => {
  const rows = rowsFor(0, 24, 2, 3);
  it('cover the last k finished chunks, right before the row window', () => {
    const row = rows[7]!; // chunks 5..7 in the row, 0..4 finished
    expect(row.finishedChunks).toBe(5);
    expect(cacheWindow(row, 2, 2)).toEqual({ start: 6, end: 10 });
    expect(cacheWindow(row, 2, 0)).toEqual({ start: 10, end: 10 });
    expect(cacheWindow(row, 2, Number.POSITIVE_INFINITY)).toEqual({ start: 0, end: 10 });
    expect(cacheWindow(rows[1]!, 2, 2)).toEqual({ start: 0, end: 0 });
  });

  it('state keeps what later rows can reach', () => {
    expect(oldestChunkNeeded(9, 2, 3)).toBe(2);
    expect(oldestCacheNeeded(9, 2, 3, 2)).toBe(0);
    expect(oldestCacheNeeded(20, 2, 3, 2)).toBe(12);
    expect(oldestCacheNeeded(20, 2, 3, Number.POSITIVE_INFINITY)).toBe(0);
  });
});
