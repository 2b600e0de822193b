import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import type { Batch } from './batch.js';
import { type BatcherOptions, createBatcher, evalBatcher } from './batcher.js';
import { RowSchedule } from './row-schedule.js';
import { ArrayTokenSource } from './token-source.js';

/** Token `i` is `i`, so a batch shows which positions it holds. */
const iota = (n: number): ArrayTokenSource => new ArrayTokenSource(Int32Array.from({ length: n }, (_, i) => i));

/** Takes the batches of the first `epochs` epochs. */
function take(options: BatcherOptions, epochs: number): Batch[] {
  const out: Batch[] = [];
  for (const b of createBatcher(options)) {
    if (b.epoch >= epochs) break;
    out.push(b);
  }
  return out;
}

/** Checks one epoch of language-model batches over iota(n): each position once, rows in order. */
function checkEpoch(batches: Batch[], n: number): void {
  const seen = new Uint8Array(n - 1);
  const B = batches[0]?.batch ?? 0;
  const M = batches[0]?.length ?? 0;
  const last: (number | null)[] = new Array(B).fill(null);
  batches.forEach((batch, step) => {
    expect(batch.step).toBe(step);
    for (let b = 0; b < B; b++) {
      if (batch.reset[b]) last[b] = null;
      // Token i is i, so a row's start offset is its first token (-1 for an empty row).
      expect(batch.starts?.[b]).toBe(batch.mask[b * M] === 1 ? batch.tokens[b * M] : -1);
      for (let t = 0; t < M; t++) {
        const k = b * M + t;
        if (batch.mask[k] === 0) {
          // masked positions only at the end of a segment
          for (let u = t; u < M; u++) expect(batch.mask[b * M + u]).toBe(0);
          break;
        }
        const pos = batch.tokens[k] as number;
        expect(batch.targets[k]).toBe(pos + 1); // next token
        if (last[b] !== null) expect(pos).toBe((last[b] as number) + 1); // in order, no gap unless reset
        last[b] = pos;
        seen[pos] = (seen[pos] ?? 0) + 1;
      }
    }
  });
  expect(Array.from(seen).every((c) => c === 1)).toBe(true);
}

describe('createBatcher (language modelling)', () => {
  it('covers every position exactly once per epoch, in order within rows, for any shape and seed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 400 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, B, M, seed) => {
          fc.pre(n - 1 >= B);
          const batches = take({ tokens: iota(n), batch: B, length: M, seed }, 3);
          for (let e = 0; e < 3; e++) {
            const epoch = batches.filter((b) => b.epoch === e);
            expect(epoch[0]?.reset.every(Boolean)).toBe(true);
            checkEpoch(epoch, n);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('uses a different seeded start offset each epoch', () => {
    const firsts = take({ tokens: iota(10_000), batch: 2, length: 8, seed: 5 }, 4)
      .filter((b) => b.step === 0)
      .map((b) => b.tokens[0]);
    expect(new Set(firsts).size).toBe(4);
    const again = take({ tokens: iota(10_000), batch: 2, length: 8, seed: 5 }, 4)
      .filter((b) => b.step === 0)
      .map((b) => b.tokens[0]);
    expect(again).toEqual(firsts);
  });

  it('shows the worked example of RowSchedule', () => {
    const b = take({ tokens: iota(11), batch: 2, length: 3, randomOffset: false }, 1);
    expect(b.map((x) => Array.from(x.tokens))).toEqual([
      [0, 1, 2, 5, 6, 7],
      [3, 4, 0, 8, 9, 0],
    ]);
    expect(b.map((x) => Array.from(x.mask))).toEqual([
      [1, 1, 1, 1, 1, 1],
      [1, 1, 0, 1, 1, 0],
    ]);
  });

  it('resuming from a saved position yields exactly the remaining sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 300 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 40 }), (n, B, M, cut) => {
        const options = { tokens: iota(n), batch: B, length: M, seed: 3, epochs: 3 };
        const all = [...createBatcher(options)];
        const first = createBatcher(options);
        const k = Math.min(cut, all.length);
        for (let i = 0; i < k; i++) first.next();
        const saved = JSON.parse(JSON.stringify(first.position()));
        const rest = [...createBatcher({ ...options, position: saved })];
        expect(rest).toEqual(all.slice(k));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a position saved for other data or settings', () => {
    const pos = createBatcher({ tokens: iota(100), batch: 2, length: 4 }).position();
    expect(() => createBatcher({ tokens: iota(100), batch: 4, length: 4, position: pos })).toThrow(DataError);
  });

  it('refuses a split shorter than the batch and unknown options', () => {
    expect(() => createBatcher({ tokens: iota(3), batch: 4, length: 4 })).toThrow(/fewer than batch = 4 rows/);
    expect(() => createBatcher({ tokens: iota(30), batch: 1, length: 4, shuffle: true } as BatcherOptions)).toThrow(/unknown option "shuffle"/);
  });
});

describe('evalBatcher', () => {
  it('scores every position exactly once, last partial segments masked', () => {
    const n = 1001;
    const batches = [...evalBatcher({ tokens: iota(n), batch: 3, length: 64 })];
    checkEpoch(batches, n);
    expect(batches.reduce((s, b) => s + b.mask.reduce((a, m) => a + m, 0), 0)).toBe(n - 1);
    expect(batches.every((b) => b.epoch === 0)).toBe(true);
  });
});

describe('createBatcher (labelled tasks)', () => {
  it('targets are the labels at the same positions, masked where ignored', () => {
    const n = 97;
    const labels = new ArrayTokenSource(Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? i % 10 : -1)));
    const batches = [...evalBatcher({ tokens: iota(n), labels, batch: 2, length: 10 })];
    let scored = 0;
    for (const b of batches) {
      for (let k = 0; k < b.tokens.length; k++) {
        const pos = b.tokens[k] as number;
        if (b.mask[k] === 1) {
          scored++;
          expect(pos % 3).toBe(0);
          expect(b.targets[k]).toBe(pos % 10);
        } else expect(b.targets[k]).toBe(0);
      }
    }
    expect(scored).toBe(Math.ceil(n / 3));
  });
});

describe('RowSchedule', () => {
  it('matches its worked example', () => {
    const s = new RowSchedule(10, 2, 3, 4);
    expect(s.rows).toEqual([[{ start: 4, length: 5 }], [{ start: 9, length: 1 }, { start: 0, length: 4 }]]);
    expect(s.steps).toBe(3);
    expect([0, 1, 2].map((k) => s.segment(1, k, 3))).toEqual([
      { start: 9, count: 1, reset: true },
      { start: 0, count: 3, reset: true },
      { start: 3, count: 1, reset: false },
    ]);
    expect(s.segment(0, 2, 3)).toEqual({ start: 0, count: 0, reset: true });
  });
});
