/**
 * Times `count` rounds of the given calls, taking them in turn (call 0, call 1, …, call 0, …), and
 * returns each call's median wall time in milliseconds.
 *
 * Why in turn: streaming latency is compared across positions (the streaming ratio, target ≤ 1.1),
 * and on a shared 2-core machine the speed of the CPU drifts over seconds. Timing the positions one
 * after the other turned that drift into ratios from 0.6 to 1.6 for graphs whose cost cannot depend
 * on the position; interleaved, every position sees the same drift. The median, not the mean, so
 * that one descheduled call does not move a figure.
 */
export async function interleavedMedians(count: number, calls: ReadonlyArray<() => Promise<unknown>>): Promise<number[]> {
  const times = calls.map(() => [] as number[]);
  for (let round = 0; round < count; round++) {
    for (const [k, call] of calls.entries()) {
      const t0 = performance.now();
      await call();
      times[k]!.push(performance.now() - t0);
    }
  }
  return times.map(median);
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
