import { describe, expect, it } from 'vitest';
import { generationMarkdown, measureGeneration, summarise } from '../src/index.js';

describe('CLI generation benchmark', () => {
  it('cuts the output into windows of equal bytes and rates each', () => {
    // 100 bytes in the first second, 100 in the next two: the second half runs at half the rate.
    const arrivals = [
      { t: 0, bytes: 0 },
      { t: 500, bytes: 50 },
      { t: 1000, bytes: 100 },
      { t: 2000, bytes: 150 },
      { t: 3000, bytes: 200 },
    ];
    const r = summarise('tfjs', 200, arrivals, 2);
    expect(r.windowRates).toEqual([100, 50]);
    expect(r.lastOverFirst).toBe(0.5);
    expect(r.seconds).toBe(3);
  });

  it('times `staircase sample` on both runtimes (a tiny model, a few hundred tokens)', async () => {
    const report = await measureGeneration({ tokens: 300, preset: 'tiny', windows: 3 });
    expect(report.results.map((r) => r.runtime)).toEqual(['tfjs', 'onnx']);
    for (const r of report.results) {
      expect(r.bytes).toBeGreaterThanOrEqual(300); // byte-level data: a byte (or more) per token
      expect(r.windowRates).toHaveLength(3);
      for (const rate of r.windowRates) expect(rate).toBeGreaterThan(0);
    }
    const md = generationMarkdown(report);
    expect(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| runtime'))).toHaveLength(2);
  }, 300_000);
});
