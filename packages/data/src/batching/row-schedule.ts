/** A contiguous run of positions `[start, start + length)` in the original stream. */
export interface Run {
  start: number;
  length: number;
}

/**
 * How one epoch lays `positions` scored positions into `batch` rows of segments of `length`.
 *
 * Worked example: positions = 10, batch = 2, length = 3, offset = 4. The stream is rotated by 4
 * (4 5 6 7 8 9 0 1 2 3) and cut into rows of 5: row 0 = 4..8, row 1 = 9, 0..3. Row 1 wraps, so it
 * is two runs: [9] then [0 1 2 3]; each run starts a new segment with a state reset:
 *
 * ```
 * step:   0        1        2
 * row 0:  4 5 6 |  7 8 - |  - - -      (reset at step 0)
 * row 1:  9 - - |  0 1 2 |  3 - -      (reset at steps 0 and 1)
 * ```
 *
 * Every position appears exactly once per epoch, in order within each row; `-` is masked.
 */
export class RowSchedule {
  /** Runs of each row. */
  readonly rows: Run[][] = [];
  /** Batches in this epoch. */
  readonly steps: number;

  constructor(positions: number, batch: number, length: number, offset: number) {
    const base = Math.floor(positions / batch);
    const rem = positions % batch;
    let steps = 0;
    for (let b = 0; b < batch; b++) {
      const start = b * base + Math.min(b, rem);
      const len = base + (b < rem ? 1 : 0);
      const o = (start + offset) % positions;
      const runs: Run[] =
        o + len <= positions ? [{ start: o, length: len }] : [{ start: o, length: positions - o }, { start: 0, length: len - (positions - o) }];
      const nonEmpty = runs.filter((r) => r.length > 0);
      this.rows.push(nonEmpty);
      steps = Math.max(steps, nonEmpty.reduce((s, r) => s + Math.ceil(r.length / length), 0));
    }
    this.steps = steps;
  }

  /**
   * The segment of row `row` at batch `step`: its first position, how many positions it holds
   * (≤ length; 0 = padding), and whether the row's state must be reset before it.
   */
  segment(row: number, step: number, length: number): { start: number; count: number; reset: boolean } {
    let k = step;
    for (const run of this.rows[row] ?? []) {
      const n = Math.ceil(run.length / length);
      if (k < n) {
        const start = run.start + k * length;
        return { start, count: Math.min(length, run.start + run.length - start), reset: k === 0 };
      }
      k -= n;
    }
    return { start: 0, count: 0, reset: true };
  }
}
