import type { CoreConfig } from './config.js';
import { type Ops, type Params, param } from './ops.js';

/**
 * Keys and values of a contiguous run of positions, split into heads: `[batch, heads, len, headDim]`.
 * Keys are stored already rotated when RoPE is used, so a cached block is never recomputed.
 */
export interface KV<T> {
  readonly k: T;
  readonly v: T;
  /**
   * Optional additive score bias per key, `[1, 1, 1, len]`: 0 for a real position, −1e9 for an
   * empty slot. Training never sets it; fixed-shape exports (ONNX streaming graphs) start from a
   * state padded with empty slots, so the same model code runs before the history is full.
   */
  readonly bias?: T;
}

/** `[B, T, d]` → `[B, H, T, hd]`. */
export function splitHeads<T>(ops: Ops<T>, x: T, heads: number): T {
  const [b, t, d] = ops.shape(x) as [number, number, number];
  // One position: moving the heads axis past it moves no element, a reshape says the same.
  if (t === 1) return ops.reshape(x, [b, heads, 1, d / heads]);
  return ops.transpose(ops.reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]);
}

/** `[B, H, T, hd]` → `[B, T, d]`. */
export function mergeHeads<T>(ops: Ops<T>, x: T): T {
  const [b, h, t, hd] = ops.shape(x) as [number, number, number, number];
  if (t === 1) return ops.reshape(x, [b, 1, h * hd]);
  return ops.reshape(ops.transpose(x, [0, 2, 1, 3]), [b, t, h * hd]);
}

/** Length of a K/V block. */
export function kvLength<T>(ops: Ops<T>, kv: KV<T>): number {
  return ops.shape(kv.k)[2]!;
}

/** Concatenates K/V blocks of consecutive positions (oldest first); `null` entries are skipped. */
export function concatKV<T>(ops: Ops<T>, blocks: readonly (KV<T> | null | undefined)[]): KV<T> | null {
  const present = blocks.filter((b): b is KV<T> => b != null && kvLength(ops, b) > 0);
  if (present.length === 0) return null;
  if (present.length === 1) return present[0]!;
  const kv = {
    k: ops.concat(
      present.map((b) => b.k),
      2,
    ),
    v: ops.concat(
      present.map((b) => b.v),
      2,
    ),
  };
  if (present.every((b) => !b.bias)) return kv;
  // Blocks without a bias are all real positions: a zero bias keeps them visible.
  const bias = ops.concat(
    present.map((b) => b.bias ?? ops.zeros([1, 1, 1, kvLength(ops, b)])),
    3,
  );
  return { ...kv, bias };
}

/** Positions `[from, from+len)` of a block whose first position is `start`. */
export function sliceKV<T>(ops: Ops<T>, kv: KV<T>, from: number, len: number): KV<T> {
  const [b, h, , hd] = ops.shape(kv.k) as [number, number, number, number];
  const sliced = {
    k: ops.slice(kv.k, [0, 0, from, 0], [b, h, len, hd]),
    v: ops.slice(kv.v, [0, 0, from, 0], [b, h, len, hd]),
  };
  return kv.bias ? { ...sliced, bias: ops.slice(kv.bias, [0, 0, 0, from], [1, 1, 1, len]) } : sliced;
}

/** A K/V block and the position of its first entry. */
export interface PlacedKV<T> {
  readonly start: number;
  readonly kv: KV<T>;
}

/**
 * The parts of consecutive blocks (oldest first) that cover positions `[from, to)`: a block inside
 * the range as it is, one only partly inside cut with {@link sliceKV}. Passing them to
 * {@link concatKV} (with other blocks, if any) copies each position once, where concatenating all
 * the blocks and slicing the range out would copy it twice and also copy what is cut away.
 */
export function kvParts<T>(ops: Ops<T>, blocks: readonly PlacedKV<T>[], from: number, to: number): KV<T>[] {
  const parts: KV<T>[] = [];
  let covered = from;
  for (const { start, kv } of blocks) {
    const end = start + kvLength(ops, kv);
    const s = Math.max(from, start);
    const e = Math.min(to, end);
    if (e <= s) continue;
    if (s !== covered) throw new Error(`internal: no K/V for positions ${covered}..${s}`);
    parts.push(s === start && e === end ? kv : sliceKV(ops, kv, s - start, e - s));
    covered = e;
  }
  if (covered < to) throw new Error(`internal: no K/V for positions ${covered}..${to}`);
  return parts;
}

/** A K/V block detached from the gradient, for carried state. */
export function detachKV<T>(ops: Ops<T>, kv: KV<T>): KV<T> {
  const detached = { k: ops.stopGradient(kv.k), v: ops.stopGradient(kv.v) };
  return kv.bias ? { ...detached, bias: ops.stopGradient(kv.bias) } : detached;
}

/**
 * The RoPE tables for positions `[start, start+length)`: `cos` and `sin` of `pos · base^(-2i/hd)`,
 * `[length, hd/2]` row-major. Computed in float64 on the host, by training and by ONNX runtimes
 * alike (one definition).
 */
export function rotaryTables(start: number, length: number, headDim: number, base: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(length * half);
  const sin = new Float32Array(length * half);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (start + p) * base ** ((-2 * i) / headDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Rotary position embedding of `x` (`[B, H, T, hd]`) whose first token is at absolute position
 * `start`: the two halves of each head are rotated by angle `pos · base^(-2i/hd)`.
 */
export function rope<T>(ops: Ops<T>, x: T, start: number, base: number): T {
  const [b, h, t, hd] = ops.shape(x) as [number, number, number, number];
  const half = hd / 2;
  const { cos: c, sin: s } = ops.rotary ? ops.rotary(start, t, hd, base) : constantTables(ops, start, t, hd, base);
  const x1 = ops.slice(x, [0, 0, 0, 0], [b, h, t, half]);
  const x2 = ops.slice(x, [0, 0, 0, half], [b, h, t, half]);
  return ops.concat([ops.sub(ops.mul(x1, c), ops.mul(x2, s)), ops.add(ops.mul(x1, s), ops.mul(x2, c))], 3);
}

function constantTables<T>(ops: Ops<T>, start: number, length: number, headDim: number, base: number): { cos: T; sin: T } {
  const { cos, sin } = rotaryTables(start, length, headDim, base);
  return { cos: ops.constant(cos, [length, headDim / 2]), sin: ops.constant(sin, [length, headDim / 2]) };
}

/**
 * The paper's learned relative term `q_i · P[:, d]` for every query `i` and key `j`, with
 * `d = pos(q_i) − pos(k_j)` clipped to `[0, maxDistance − 1]` (negative distances are masked
 * later). Keys occupy contiguous positions ending with the queries' own, so `d = δ + i − j` with
 * `δ = Tk − Tq`: a Toeplitz pattern. Rather than gathering a `[Tq, Tk]` index per head, we
 * multiply the queries with the table columns for every distance the block can hold (one plain
 * matMul) and shift each query row into place with a reshape ("skewing", as in Transformer-XL).
 *
 * With `futureMasked` (the caller masks every key after the query, `d < 0`, as the causal mask
 * does) only `Tk + 1` columns are computed instead of `Tk + Tq`: a row then wraps into the next
 * one exactly where `d ≤ −2`, so the values there are meaningless but hidden, and the final slice
 * disappears. At the bench's reference size (Tq 128, Tk 256) that is 257 columns instead of 384
 * and one copy of the `[B, H, Tq, Tk]` scores fewer (ONNX Runtime profile of Transformer-XL: the
 * term's matMul 1.8 → 1.3 ms, its slices 5.6 → 2.3 ms per 8 × 128 tokens). Without it every entry
 * is `P[:, clip(d)]`.
 */
export function relativeScores<T>(ops: Ops<T>, q: T, table: T, tk: number, options: { futureMasked?: boolean } = {}): T {
  const [b, h, tq] = ops.shape(q) as [number, number, number];
  const delta = tk - tq;
  // Column u holds distance δ + Tq − 1 − u, so row i, after a left shift by Tq − 1 − i, has
  // distance δ + i − j at column j (read from column u = Tq − 1 − i + j). Every read stays in
  // its own row with Tk + Tq − 1 columns; one spare keeps the reshape valid when Tq = 1. With
  // Tk + 1 columns, u ≥ Tk + 1 (that is d ≤ −2) reads the start of row i + 1 instead.
  const width = options.futureMasked ? tk + 1 : tk + tq;
  const columns = relativeColumns(
    ops,
    table,
    Array.from({ length: width }, (_, u) => delta + tq - 1 - u),
  );
  const g = ops.matMul(q, columns); // [B, H, Tq, W]
  const flat = ops.reshape(g, [b, h, tq * width]);
  const skewed = ops.reshape(ops.slice(flat, [0, 0, tq - 1], [b, h, tq * (width - 1)]), [b, h, tq, width - 1]);
  return width - 1 === tk ? skewed : ops.slice(skewed, [0, 0, 0, 0], [b, h, tq, tk]);
}

/**
 * An additive mask `[Tq, Tk]` for queries at the last `Tq` of `Tk` contiguous key positions:
 * query `i` sees key `j` when `0 ≤ d ≤ window` (causal, optionally a sliding window), with
 * `d = (Tk − Tq) + i − j`. Returns `null` when nothing is masked.
 */
export function attentionMask(tq: number, tk: number, window = Number.POSITIVE_INFINITY): Float32Array | null {
  const delta = tk - tq;
  const mask = new Float32Array(tq * tk);
  let any = false;
  for (let i = 0; i < tq; i++) {
    for (let j = 0; j < tk; j++) {
      const d = delta + i - j;
      if (d < 0 || d > window) {
        mask[i * tk + j] = -1e9;
        any = true;
      }
    }
  }
  return any ? mask : null;
}

/** Options of {@link attend}. */
export interface AttendOptions {
  /** Largest distance a query may look back (sliding window); default unlimited. */
  readonly window?: number;
  /** An explicit additive mask `[Tq, Tk]` (0 = visible, −1e9 = hidden) instead of the causal one. */
  readonly mask?: Float32Array;
  readonly training?: boolean;
}

/**
 * Multi-head attention of queries `q` (`[B, H, Tq, hd]`, the last `Tq` positions of the key run)
 * over `kv` (`[B, H, Tk, hd]`), with the configured position term, causal (or explicit) mask and
 * attention dropout. Returns the heads merged and projected by `layers.{layer}.attn.wo`: `[B, Tq, d]`.
 */
export function attend<T>(
  ops: Ops<T>,
  params: Params<T>,
  config: CoreConfig,
  layer: number,
  q: T,
  kv: KV<T>,
  options: AttendOptions = {},
): T {
  const [, , tq, hd] = ops.shape(q) as [number, number, number, number];
  const tk = kvLength(ops, kv);
  // Scaling the queries rather than the scores: the same products, on a tensor Tk/hd times smaller
  // (and one pass fewer over the scores in the backward pass).
  const scaled = ops.scale(q, 1 / Math.sqrt(hd));
  let scores = ops.matMul(scaled, ops.transpose(kv.k, [0, 1, 3, 2]));
  if (config.position.type === 'relative') {
    // The causal mask hides every d < 0; an explicit mask may not, so it gets the exact term.
    scores = ops.add(scores, relativeScores(ops, scaled, param(params, 'pos.rel'), tk, { futureMasked: options.mask === undefined }));
  }
  const mask = options.mask ?? attentionMask(tq, tk, options.window);
  // The mask and the empty-slot bias are summed first (`[1, 1, Tq, Tk]`), so the scores take one add.
  const additive = mask ? ops.constant(mask, [tq, tk]) : null;
  const offsets = additive && kv.bias ? ops.add(additive, kv.bias) : (additive ?? kv.bias);
  if (offsets) scores = ops.add(scores, offsets);
  let probs = ops.softmax(scores);
  if (options.training && config.attnDropout > 0) probs = ops.dropout(probs, config.attnDropout);
  const out = mergeHeads(ops, ops.matMul(probs, kv.v));
  return ops.matMul(out, param(params, `layers.${layer}.attn.wo`));
}

/** A block of keys that {@link attendBlocks} reads where it lies, with terms of its own. */
export interface KeyBlock<T> {
  /** Keys and values `[B, H, len, hd]`, in any order (a ring buffer's order, say); `bias` is ignored (put it in `offsets`). */
  readonly kv: KV<T>;
  /** Added to the block's scores (broadcast to `[B, H, Tq, len]`): masks, empty slots. */
  readonly offsets?: T;
  /**
   * With relative positions: the learned term of the block's keys for the scaled queries,
   * `[B, H, Tq, len]` (see {@link relativeColumns}); the block's order is the caller's to know.
   * Left out when the keys already include it (a query's own key plus the distance-0 column).
   */
  readonly relative?: (scaled: T) => T;
}

/**
 * Attention of queries `q` over several key blocks, each scored where it lies and the scores
 * joined before one softmax: the same result as {@link attend} over the blocks concatenated (with
 * their terms), without copying a key. The weights are split again for the value products, so a
 * one-token step reads every carried key and value once and writes nothing of their size.
 * Returns the heads merged and projected by `wo`, like {@link attend}. `scaled`: `q` is already
 * multiplied by `1/√hd` (fused projections, see `layerWith`).
 */
export function attendBlocks<T>(ops: Ops<T>, params: Params<T>, layer: number, q: T, blocks: readonly KeyBlock<T>[], options: { scaled?: boolean } = {}): T {
  const [b, h, tq, hd] = ops.shape(q) as [number, number, number, number];
  const scaled = options.scaled ? q : ops.scale(q, 1 / Math.sqrt(hd));
  const scores = blocks.map((block) => {
    let s = ops.matMul(scaled, ops.transpose(block.kv.k, [0, 1, 3, 2]));
    if (block.relative) s = ops.add(s, block.relative(scaled));
    return block.offsets ? ops.add(s, block.offsets) : s;
  });
  const probs = ops.softmax(ops.concat(scores, 3));
  let out: T | null = null;
  let from = 0;
  for (const block of blocks) {
    const len = kvLength(ops, block.kv);
    const weights = blocks.length === 1 ? probs : ops.slice(probs, [0, 0, 0, from], [b, h, tq, len]);
    const part = ops.matMul(weights, block.kv.v);
    out = out === null ? part : ops.add(out, part);
    from += len;
  }
  return ops.matMul(mergeHeads(ops, out!), param(params, `layers.${layer}.attn.wo`));
}

/**
 * The relative-position table's columns for keys at the given distances, `[hd, distances.length]`
 * (distances clipped to the table, as {@link relativeScores} does): the scaled queries times it
 * give the learned term of keys at those distances.
 */
export function relativeColumns<T>(ops: Ops<T>, table: T, distances: ArrayLike<number>): T {
  return ops.transpose(relativeRows(ops, table, distances), [1, 0]);
}

/** {@link relativeColumns} transposed: `[distances.length, hd]`, a row per distance. */
export function relativeRows<T>(ops: Ops<T>, table: T, distances: ArrayLike<number>): T {
  const maxDistance = ops.shape(table)[1]!;
  const cols = Int32Array.from(distances, (d) => Math.min(Math.max(d, 0), maxDistance - 1));
  return ops.gather(ops.transpose(table, [1, 0]), ops.constantInt(cols, [cols.length]));
}

/**
 * {@link Ops.roll} where the backend has it, else the same from slices and concats at the known
 * position (eager backends): `out[j] = x[b + ((j − b − position) mod period)]` along the first
 * axis, `b` the start of `j`'s run of `period` rows (default: the whole axis).
 */
export function roll<T>(ops: Ops<T>, x: T, position: number, period?: number): T {
  const shape = ops.shape(x);
  const n = shape[0]!;
  const len = period ?? n;
  if (n % len !== 0) throw new Error(`internal: roll period ${len} does not divide ${n}`);
  if (ops.roll) return ops.roll(x, position, len);
  const shift = ((position % len) + len) % len;
  if (shift === 0) return x;
  const rows = (from: number, size: number) => ops.slice(x, shape.map((_, i) => (i === 0 ? from : 0)), shape.map((d, i) => (i === 0 ? size : d)));
  const pieces: T[] = [];
  for (let b = 0; b < n; b += len) pieces.push(rows(b + len - shift, shift), rows(b, len - shift));
  return ops.concat(pieces, 0);
}

/** Heads of a projection of already-normalised input `x` by `layers.{layer}.attn.{name}`. */
export function project<T>(
  ops: Ops<T>,
  params: Params<T>,
  config: CoreConfig,
  layer: number,
  name: 'wq' | 'wk' | 'wv',
  x: T,
  start: number,
): T {
  const heads = splitHeads(ops, ops.matMul(x, param(params, `layers.${layer}.attn.${name}`)), config.heads);
  return config.position.type === 'rope' && name !== 'wv' ? rope(ops, heads, start, config.position.base) : heads;
}
