import {
  type CoreConfig,
  type FixedStep,
  type FixedStepResult,
  type KeyBlock,
  type KV,
  type ModelState,
  type Ops,
  type Params,
  attendBlocks,
  checkState,
  concatKV,
  detachKV,
  embed,
  kvLength,
  layerKV,
  layerWith,
  outputHead,
  param,
  relativeRows,
  roll,
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
 * outputs of the last `(n + k)·F − 1` positions, each in a ring buffer ({@link ringLengths}): a
 * step writes one entry per block, where a shifted window would copy every block each token
 * (over half of a one-token run's time at the bench's reference size). Which source each
 * distance reads depends only on `s`, and where a distance sits in a ring only on the position
 * modulo its length: additive masks and the relative term, built in distance order and rolled
 * ({@link Ops.roll}), so the shapes never change and one traced graph serves every position, the
 * position reaching it only through {@link Ops.phase}, {@link Ops.roll} and {@link Ops.rotary}
 * (RoPE keys are stored rotated, so the ring order does not matter to them).
 */

/** The fixed-shape streaming state of the staircase family. */
export interface StaircaseStreamData<T> {
  /**
   * `passes[a]`: layer-application `a` inputs of every pass, the rings of the last `n·F` positions
   * stacked (pass `q`'s at `[(q − 1)·n·F, q·n·F)`); none when {@link memoryLength} is 0.
   */
  readonly passes: readonly KV<T>[];
  /** Per layer, K/V of the final outputs, a ring of the last `(n + k)·F` positions; null without a cache. */
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

/**
 * Ring lengths of the state: every pass memory holds `n·F` positions and the cache `(n + k)·F`
 * (one more than {@link memoryLength} / {@link cacheLength}, the oldest never visible), so that
 * both are multiples of `F` and where a slot's key sits depends only on the position modulo the
 * ring, as the chunk slot does.
 */
export function ringLengths(shape: StaircaseShape): { memory: number; cache: number } {
  return {
    memory: memoryLength(shape) > 0 ? shape.passes * shape.chunk : 0,
    cache: cacheLength(shape) > 0 ? (shape.passes + shape.cacheChunks) * shape.chunk : 0,
  };
}

/**
 * The fixed-shape streaming step of a staircase of `shape` (finite cache), with ring-buffer state
 * ({@link FixedStep}). A layer application's pass memories are one block, the `n` rings stacked
 * (pass `q`'s at `[(q − 1)·R, q·R)`), so a query of any pass scores them with one product, an
 * additive mask hiding what its chunk slot does not read there (the passes before its own, the
 * distances another source serves); the cache is a block of its own and the query's own key a
 * third, and the scores are joined before the softmax ({@link attendBlocks}). The masks and the
 * relative-position rows are built in distance order (oldest first, as the chunk slot gives
 * them) and rolled into ring order once per run ({@link roll}): vectors as long as a ring move,
 * never the keys.
 */
export function staircaseFixedStep(config: CoreConfig, shape: StaircaseShape, kind: string): FixedStep {
  const stateKind = `${kind}:fixed-step`;
  const rings = ringLengths(shape);
  const n = shape.passes;
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
        passes: rings.memory === 0 ? [] : Array.from({ length: A }, () => empty(ops, batch, n * rings.memory)),
        cache: rings.cache === 0 ? null : Array.from({ length: config.layers }, () => empty(ops, batch, rings.cache)),
      } satisfies StaircaseStreamData<T>,
    }),
    step: <T>(ops: Ops<T>, params: Params<T>, tokens: T, state: ModelState<T>): FixedStepResult<T> => {
      const [batch, length] = ops.shape(tokens) as [number, number];
      if (length !== 1) throw new Error(`a fixed-shape stream step takes one token per row, got ${length}`);
      checkState(stateKind, batch, state);
      const t = state.position;
      const data = state.data as StaircaseStreamData<T>;
      const terms = new RingTerms(ops, params, config, shape, t);
      // One product for Q, K and V where weights are constants (exports); the queries come scaled.
      const fuse = ops.foldsWeights === true;
      let h = embed(ops, params, tokens);
      const own: KV<T>[][] = Array.from({ length: A }, () => []);
      for (let p = 1; p <= n; p++) {
        for (let a = 0; a < A; a++) {
          const layer = a % config.layers;
          const out = layerWith(ops, params, config, layer, h, t, false, (q, kv) => {
            const blocks: KeyBlock<T>[] = [];
            for (const source of terms.sources(p)) {
              const ring = source === 'memory' ? data.passes[a]! : data.cache![layer]!;
              const rows = terms.rows(source);
              blocks.push({
                kv: ring,
                offsets: ops.add(terms.hidden(p, source), ring.bias!),
                ...(rows ? { relative: (scaled: T) => ops.matMul(scaled, ops.transpose(rows, [1, 0])) } : {}),
              });
            }
            const zero = terms.rows('own');
            // q·k + q·P[:, 0] = q·(k + P[:, 0]): the own key's term without a product of its own.
            blocks.push({ kv: zero ? { k: ops.add(kv.k, zero), v: kv.v } : kv });
            return attendBlocks(ops, params, layer, q, blocks, { scaled: fuse });
          }, fuse);
          h = out.h;
          own[a]!.push(out.kv);
        }
      }
      const entries: StaircaseStreamData<T> = {
        passes: data.passes.map((_, a) => concatKV(ops, own[a]!)!),
        cache: data.cache ? data.cache.map((_, l) => layerKV(ops, params, config, l, h, t)) : null,
      };
      return { logits: outputHead(ops, params, config, h), entries };
    },
    advance: <T>(ops: Ops<T>, state: ModelState<T>, entries: unknown): ModelState<T> => {
      const data = state.data as StaircaseStreamData<T>;
      const e = entries as StaircaseStreamData<T>;
      const write = (ring: KV<T>, entry: KV<T>) => detachKV(ops, writeEntry(ops, ring, entry, state.position));
      const next: StaircaseStreamData<T> = {
        passes: data.passes.map((ring, a) => write(ring, e.passes[a]!)),
        cache: data.cache ? data.cache.map((ring, l) => write(ring, e.cache![l]!)) : null,
      };
      return { kind: stateKind, batch: state.batch, position: state.position + 1, data: next };
    },
  };
}

/**
 * A block of `m` stacked rings with `entry` (`m` positions, one per ring, visible) written at
 * index `i·(length / m) + position mod (length / m)` for ring `i` (the {@link FixedStep} rule).
 */
function writeEntry<T>(ops: Ops<T>, ring: KV<T>, entry: KV<T>, position: number): KV<T> {
  const len = kvLength(ops, ring);
  const m = kvLength(ops, entry);
  const at = position % (len / m);
  const put = (x: T, row: (i: number) => T, axis: 2 | 3) => {
    const shape = ops.shape(x);
    const cut = (from: number, size: number) => ops.slice(x, shape.map((_, ax) => (ax === axis ? from : 0)), shape.map((d, ax) => (ax === axis ? size : d)));
    const pieces: T[] = [];
    let from = 0;
    for (let i = 0; i < m; i++) {
      const index = i * (len / m) + at;
      if (index > from) pieces.push(cut(from, index - from));
      pieces.push(row(i));
      from = index + 1;
    }
    if (from < len) pieces.push(cut(from, len - from));
    return ops.concat(pieces, axis);
  };
  const rowOf = (x: T) => (i: number) => {
    const shape = ops.shape(x);
    return ops.slice(x, [0, 0, i, 0], [shape[0]!, shape[1]!, 1, shape[3]!]);
  };
  return { k: put(ring.k, rowOf(entry.k), 2), v: put(ring.v, rowOf(entry.v), 2), bias: put(ring.bias!, () => ops.zeros([1, 1, 1, 1]), 3) };
}

/** A block a query reads: the stacked pass memories or the cache. */
type RingSource = 'memory' | 'cache';

/**
 * What a step's queries add to their scores, per run: for pass `p` and a block, `HIDDEN` at the
 * ring slots whose key the query's chunk slot does not read from that block (the chunk slot's
 * one-hot times a table of every slot, so exact and traceable), and the relative-position columns
 * rows of a block's keys. Both are computed in distance order and rolled into ring order once per run,
 * shared by every layer application.
 */
class RingTerms<T> {
  private readonly phase: T | null;
  private readonly rings: { memory: number; cache: number };
  private readonly masks = new Map<string, T>();
  private readonly cols = new Map<string, T | null>();

  constructor(
    private readonly ops: Ops<T>,
    private readonly params: Params<T>,
    private readonly config: CoreConfig,
    private readonly shape: StaircaseShape,
    private readonly position: number,
  ) {
    this.phase = ops.phase ? ops.phase(position, shape.chunk) : null;
    this.rings = ringLengths(shape);
  }

  /** Where entry `i` of a block sits in distance order: the source it must come from, and its distance. */
  private entry(source: RingSource, i: number): { src: Source; d: number } {
    const R = this.rings[source];
    return source === 'memory' ? { src: Math.floor(i / R) + 1, d: R - (i % R) } : { src: this.shape.passes + 1, d: R - i };
  }

  private length(source: RingSource): number {
    return source === 'memory' ? this.shape.passes * this.rings.memory : this.rings.cache;
  }

  /** The blocks a pass-`p` query reads at some chunk slot. */
  sources(p: number): RingSource[] {
    return (['memory', 'cache'] as const).filter((source) => {
      if (this.rings[source] === 0) return false;
      for (let s = 0; s < this.shape.chunk; s++) {
        for (let i = 0; i < this.length(source); i++) {
          const { src, d } = this.entry(source, i);
          if (sourceOf(this.shape, p, s, d) === src) return true;
        }
      }
      return false;
    });
  }

  /** `[1, 1, 1, len]` in ring order: 0 where a pass-`p` query reads the block's slot, else {@link HIDDEN}. */
  hidden(p: number, source: RingSource): T {
    const key = `${p}/${source}`;
    const known = this.masks.get(key);
    if (known) return known;
    const F = this.shape.chunk;
    const len = this.length(source);
    const row = (s: number) =>
      Float32Array.from({ length: len }, (_, i) => {
        const { src, d } = this.entry(source, i);
        return sourceOf(this.shape, p, s, d) === src ? 0 : HIDDEN;
      });
    let flat: T;
    if (this.phase) {
      const table = new Float32Array(F * len);
      for (let s = 0; s < F; s++) table.set(row(s), s * len);
      flat = this.ops.matMul(this.phase, this.ops.constant(table, [F, len]));
    } else {
      flat = this.ops.constant(row(this.position % F), [1, len]);
    }
    const made = this.ops.reshape(roll(this.ops, this.ops.reshape(flat, [len, 1]), this.position, this.rings[source]), [1, 1, 1, len]);
    this.masks.set(key, made);
    return made;
  }

  /**
   * The relative-position table's rows `[len, hd]` for a block's keys in ring order (`own`: the
   * distance-0 row, `[1, hd]`); null without relative positions.
   */
  rows(source: RingSource | 'own'): T | null {
    if (this.config.position.type !== 'relative') return null;
    if (!this.cols.has(source)) {
      const table = param(this.params, 'pos.rel');
      if (source === 'own') {
        this.cols.set(source, relativeRows(this.ops, table, [0]));
      } else {
        const distances = Array.from({ length: this.length(source) }, (_, i) => this.entry(source, i).d);
        this.cols.set(source, roll(this.ops, relativeRows(this.ops, table, distances), this.position, this.rings[source]));
      }
    }
    return this.cols.get(source)!;
  }
}
