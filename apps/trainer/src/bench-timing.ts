/**
 * The median wall time of `count` sequential calls, in milliseconds. Streaming latency is reported
 * as a median rather than a mean: on a shared 2-core machine one descheduled call in 32 moves the
 * mean by more than the ≤ 1.1 streaming-ratio target can tolerate, and the median ignores it.
 */
export async function medianMs(count: number, call: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
}
