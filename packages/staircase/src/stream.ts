import {
  type CoreConfig,
  type FixedStep,
  type ForwardResult,
  type KV,
  type ModelState,
  type Ops,
  type Params,
  checkState,
  concatKV,
  detachKV,
  embed,
  layerForward,
  layerKV,
  outputHead,
  sliceKV,
} from '@staircase/core';
import type { StaircaseShape } from './forward.js';

/**
 * The streaming schedule of PAPER.md (*Streaming*) with a fixed-shape state: a token's `n`
 * passes run as soon as it arrives, so when token `t` (slot `s = t mod F` of chunk `c`) runs
 * pass `p`, every earlier position already has the layer inputs of all its passes. What it may
 * see is the same as in the row-parallel schedule: at distance `d`, position `t − d` lies in
 * chunk `c − j` with `j = ⌊(F − 1 − s + d) / F⌋`, and the key comes from that position's pass
 * `p + j` if `p + j ≤ n` (its own chunk, `j = 0`, and older chunks of the row window), from the
 * cache of final outputs if `n < p + j ≤ n + k`, and is hidden otherwise.
 *
 * So the state keeps, for every pass `q` and layer application, the K/V of the last `n·F − 1`
 * positions (a sliding window, like a Transformer-XL memory), and per layer the K/V of the final
 * outputs of the last `(n + k)·F − 1` positions. Which source each distance reads depends only on
 * `s`: exact 0/1 masks ({@link Ops.select}) pick it. Keys always end at the query, so the
 * relative-position term and RoPE need nothing new, and the shapes never change: one traced graph
 * serves every position, the position reaching it only through {@link Ops.phase} and
 * {@link Ops.rotary}.
 */

/** The fixed-shape streaming state of the staircase family. */
export interface StaircaseStreamData<T> {
  /** `passes[q − 1][a]`: layer-application `a` inputs of pass `q` at the last {@link memoryLength} positions (empty when that is 0). */
  readonly passes: readonly (readonly KV<T>[])[];
  /** Per layer, K/V of the final outputs of the last {@link cacheLength} positions; null without a cache. */
  readonly cache: readonly KV<T>[] | null;
}

/** The additive score bias of a hidden key (the causal mask's value). */
const HIDDEN = -1e9;
/** Source of a key: a pass `1..n`, `n + 1` for the cache, 0 for hidden. */
type Source = number;

/** Positions of each pass memory: the farthest a pass-1 query reaches into the row window. */
export function memoryLength(shape: StaircaseShape): number {
  return shape.passes * shape.chunk - 1;
}

/** Positions of the final-output cache: the farthest a pass-1 query reaches into the cache. */
export function cacheLength(shape: StaircaseShape): number {
  if (!Number.isFinite(shape.cacheChunks)) throw new Error('internal: a fixed-shape stream needs a bounded cache (use model.bounded)');
  return shape.cacheChunks > 0 ? (shape.passes + shape.cacheChunks) * shape.chunk - 1 : 0;
}

/** Where a pass-`p` query in slot `s` reads the key at distance `d ≥ 1`. */
export function sourceOf(shape: StaircaseShape, p: number, s: number, d: number): Source {
  const { chunk: F, passes: n, cacheChunks: k } = shape;
  const q = p + Math.floor((F - 1 - s + d) / F);
  return q <= n ? q : q <= n + k ? n + 1 : 0;
}

/** The fixed-shape streaming step of a staircase of `shape` (finite cache). */
export function staircaseFixedStep(config: CoreConfig, shape: StaircaseShape, kind: string): FixedStep {
  const stateKind = `${kind}:fixed-step`;
  const lm = memoryLength(shape);
  const lc = cacheLength(shape);
  const A = shape.repeats * config.layers;
  const heads = config.heads;
  const hd = config.dModel / heads;
  const empty = <T>(ops: Ops<T>, batch: number, len: number): KV<T> => ({
    k: ops.zeros([batch, heads, len, hd]),
    v: ops.zeros([batch, heads, len, hd]),
    bias: ops.constant(new Float32Array(len).fill(HIDDEN), [1, 1, 1, len]),
  });
  return {
    initialState: <T>(ops: Ops<T>, batch: number): ModelState<T> => ({
      kind: stateKind,
      batch,
      position: 0,
      data: {
        passes: lm === 0 ? [] : Array.from({ length: shape.passes }, () => Array.from({ length: A }, () => empty(ops, batch, lm))),
        cache: lc === 0 ? null : Array.from({ length: config.layers }, () => empty(ops, batch, lc)),
      } satisfies StaircaseStreamData<T>,
    }),
    step: <T>(ops: Ops<T>, params: Params<T>, tokens: T, state: ModelState<T>): ForwardResult<T> => {
      const [batch, length] = ops.shape(tokens) as [number, number];
      if (length !== 1) throw new Error(`a fixed-shape stream step takes one token per row, got ${length}`);
      checkState(stateKind, batch, state);
      const t = state.position;
      const data = state.data as StaircaseStreamData<T>;
      const masks = new PhaseMasks(ops, shape, t);
      let h = embed(ops, params, tokens);
      const own: KV<T>[][] = [];
      for (let p = 1; p <= shape.passes; p++) {
        const plan = passPlan(shape, p, lm, lc);
        const ownPass: KV<T>[] = [];
        for (let a = 0; a < A; a++) {
          const layer = a % config.layers;
          const blockOf = (src: Source, from: number, len: number, total: number): KV<T> => {
            const kv = src === shape.passes + 1 ? data.cache![layer]! : data.passes[src - 1]![a]!;
            return len === total ? kv : sliceKV(ops, kv, from, len);
          };
          const past = plan.map((seg) => {
            const parts = seg.sources.map((src) => ({ src, kv: blockOf(src, seg.from(src), seg.length, seg.total(src)) }));
            return combine(ops, masks, p, seg, parts);
          });
          const out = layerForward(ops, params, config, layer, h, t, { past });
          h = out.h;
          ownPass.push(out.kv);
        }
        own.push(ownPass);
      }
      const logits = outputHead(ops, params, config, h);
      const shift = (kv: KV<T>, add: KV<T>, len: number): KV<T> =>
        detachKV(ops, len === 1 ? { ...add, bias: ops.zeros([1, 1, 1, 1]) } : concatKV(ops, [sliceKV(ops, kv, 1, len - 1), add])!);
      const next: StaircaseStreamData<T> = {
        passes: data.passes.map((apps, q) => apps.map((kv, a) => shift(kv, own[q]![a]!, lm))),
        cache: data.cache ? data.cache.map((kv, l) => shift(kv, layerKV(ops, params, config, l, h, t), lc)) : null,
      };
      return { logits, state: { kind: stateKind, batch, position: t + 1, data: next } };
    },
  };
}

/** A run of key distances read from a fixed set of sources (oldest key first). */
interface Segment {
  /** Keys in the segment; key `i` is at distance `far − i`. */
  readonly length: number;
  readonly far: number;
  /** Sources some slot reads in this segment, in the order they are combined. */
  readonly sources: readonly Source[];
  /** First position of the segment inside a source's block, and that block's length. */
  from(src: Source): number;
  total(src: Source): number;
}

/**
 * The keys a pass-`p` query reads, as segments: distances only the cache reaches (when it is
 * longer than the memories), then the last `lm` distances where memories and cache mix.
 */
function passPlan(shape: StaircaseShape, p: number, lm: number, lc: number): Segment[] {
  const n = shape.passes;
  const lengthOf = (src: Source) => (src === n + 1 ? lc : lm);
  const used = (far: number, len: number, src: Source) => {
    for (let s = 0; s < shape.chunk; s++) for (let i = 0; i < len; i++) if (sourceOf(shape, p, s, far - i) === src) return true;
    return false;
  };
  const segment = (far: number, len: number, candidates: Source[]): Segment | null => {
    const sources = candidates.filter((src) => used(far, len, src));
    if (sources.length === 0) return null;
    return { length: len, far, sources, from: (src) => lengthOf(src) - far, total: lengthOf };
  };
  const memories = lm === 0 ? [] : Array.from({ length: n - p + 1 }, (_, i) => p + i);
  const cache = lc > 0 ? [n + 1] : [];
  const segments: (Segment | null)[] = [];
  if (lc > lm) segments.push(segment(lc, lc - lm, cache));
  if (lm > 0) segments.push(segment(lm, lm, [...memories, ...cache]));
  return segments.filter((s): s is Segment => s !== null);
}

/**
 * One block of keys from a segment's sources: each distance takes the source its slot reads
 * there, and the bias hides distances no source serves (besides the sources' own empty slots).
 */
function combine<T>(ops: Ops<T>, masks: PhaseMasks<T>, p: number, seg: Segment, parts: { src: Source; kv: KV<T> }[]): KV<T> {
  let { k, v } = parts[0]!.kv;
  let bias = ops.constant([HIDDEN], [1, 1, 1, 1]);
  parts.forEach(({ src, kv }, i) => {
    const m = masks.get(p, seg, src);
    if (i > 0) {
      k = ops.select(m.rows, kv.k, k);
      v = ops.select(m.rows, kv.v, v);
    }
    bias = ops.select(m.columns, kv.bias!, bias);
  });
  return { k, v, bias };
}

/**
 * The 0/1 masks "slot `s` reads source `src` at this distance" for the current token, built once
 * per step and shared by every layer application: constant rows when the backend computes
 * eagerly, a product of {@link Ops.phase} with the table of all slots in a traced graph.
 */
class PhaseMasks<T> {
  private readonly phase: T | null;
  private readonly cache = new Map<string, { rows: T; columns: T }>();

  constructor(
    private readonly ops: Ops<T>,
    private readonly shape: StaircaseShape,
    private readonly position: number,
  ) {
    this.phase = ops.phase ? ops.phase(position, shape.chunk) : null;
  }

  /** `rows` `[1, 1, len, 1]` (keys and values) and `columns` `[1, 1, 1, len]` (the bias). */
  get(p: number, seg: Segment, src: Source): { rows: T; columns: T } {
    const key = `${p}/${seg.far}/${seg.length}/${src}`;
    const known = this.cache.get(key);
    if (known) return known;
    const F = this.shape.chunk;
    const len = seg.length;
    const row = (s: number) => Float32Array.from({ length: len }, (_, i) => (sourceOf(this.shape, p, s, seg.far - i) === src ? 1 : 0));
    let flat: T;
    if (this.phase) {
      const table = new Float32Array(F * len);
      for (let s = 0; s < F; s++) table.set(row(s), s * len);
      flat = this.ops.matMul(this.phase, this.ops.constant(table, [F, len]));
    } else {
      flat = this.ops.constant(row(this.position % F), [1, len]);
    }
    const made = { rows: this.ops.reshape(flat, [1, 1, len, 1]), columns: this.ops.reshape(flat, [1, 1, 1, len]) };
    this.cache.set(key, made);
    return made;
  }
}
