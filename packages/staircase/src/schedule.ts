/**
 * The staircase schedule as pure index arithmetic: which chunks share a row, at which pass, and
 * which positions each row's queries may see. No tensors here; the forward pass follows it.
 *
 * A sequence is cut into chunks of `F` tokens (chunk `c` holds positions `[c·F, (c+1)·F)`). Row
 * `r` holds chunks `r−n+1 … r`; chunk `c` sits in it at pass `p = r − c + 1`, so the newest chunk
 * gets its first pass and the oldest its last. Worked example, `F = 2`, `n = 3`, 8 tokens
 * (chunks C0..C3, superscript = pass):
 *
 * | row | queries in the row | finished |
 * |-----|--------------------|----------|
 * | 0   | C0¹                | –        |
 * | 1   | C0², C1¹           | –        |
 * | 2   | C0³, C1², C2¹      | C0       |
 * | 3   | C1³, C2², C3¹      | C1       |
 * | 4   | C2³, C3²           | C2       |
 * | 5   | C3³                | C3       |
 *
 * Causality makes a chunk's pass-`p` state depend only on older chunks (at deeper passes) and its
 * own earlier tokens, never on newer chunks. So a call that receives tokens `[t0, t1)` can run
 * every row those tokens appear in, to the end ("draining" rows 4–5 above), and a later call
 * picks up exactly where it stopped: segments and token-by-token streaming give the same outputs
 * as one long call.
 */

/** One chunk's queries inside a row. */
export interface RowEntry {
  readonly chunk: number;
  /** 1-based pass this chunk receives in the row. */
  readonly pass: number;
  /** Absolute positions `[start, end)` of the chunk's tokens that are queries in this call. */
  readonly start: number;
  readonly end: number;
}

/** A row of the schedule restricted to the tokens of one call. */
export interface Row {
  readonly row: number;
  /** Query chunks, oldest (deepest pass) first: their positions are contiguous. */
  readonly entries: readonly RowEntry[];
  /** First position of the row's window: chunk `row − n + 1` (clipped at 0). */
  readonly windowStart: number;
  /** Chunks whose final outputs are finished before this row: `[0, finishedBefore)` chunks. */
  readonly finishedChunks: number;
}

/** The chunk holding absolute position `t`. */
export const chunkOf = (t: number, chunk: number): number => Math.floor(t / chunk);

/**
 * The rows that process tokens `[t0, t1)` when chunks are `chunk` long and each gets `passes`
 * passes: every pass of every one of these tokens, in dependency order.
 */
export function rowsFor(t0: number, t1: number, chunk: number, passes: number): Row[] {
  if (t1 <= t0) return [];
  const c0 = chunkOf(t0, chunk);
  const c1 = chunkOf(t1 - 1, chunk);
  const rows: Row[] = [];
  for (let r = c0; r <= c1 + passes - 1; r++) {
    const entries: RowEntry[] = [];
    for (let c = Math.max(c0, r - passes + 1); c <= Math.min(c1, r); c++) {
      entries.push({ chunk: c, pass: r - c + 1, start: Math.max(c * chunk, t0), end: Math.min((c + 1) * chunk, t1) });
    }
    rows.push({ row: r, entries, windowStart: Math.max(0, (r - passes + 1) * chunk), finishedChunks: Math.max(0, r - passes + 1) });
  }
  return rows;
}

/**
 * Positions `[start, end)` of the cache a row attends to: the final outputs of the last `cacheChunks`
 * finished chunks (`Infinity` = all of them, the Global Cached Staircase), right before the row's
 * window. Empty when `cacheChunks` is 0 (plain Staircase).
 */
export function cacheWindow(row: Row, chunk: number, cacheChunks: number): { start: number; end: number } {
  const end = row.windowStart;
  if (cacheChunks === 0) return { start: end, end };
  const first = Number.isFinite(cacheChunks) ? Math.max(0, row.finishedChunks - cacheChunks) : 0;
  return { start: Math.min(first * chunk, end), end };
}

/**
 * After a call that ended at position `t1`, the oldest chunk whose per-pass keys a later row can
 * still need: later rows start at `chunkOf(t1)` and reach back `passes − 1` chunks.
 */
export function oldestChunkNeeded(t1: number, chunk: number, passes: number): number {
  return Math.max(0, chunkOf(t1, chunk) - passes + 1);
}

/** After a call that ended at `t1`, the first position of cache a later row can still need. */
export function oldestCacheNeeded(t1: number, chunk: number, passes: number, cacheChunks: number): number {
  if (!Number.isFinite(cacheChunks)) return 0;
  return Math.max(0, (chunkOf(t1, chunk) - passes + 1 - cacheChunks) * chunk);
}
