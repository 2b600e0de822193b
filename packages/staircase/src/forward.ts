import {
  type CoreConfig,
  type ForwardOptions,
  type ForwardResult,
  type KV,
  type ModelState,
  type Ops,
  type Params,
  checkState,
  concatKV,
  detachKV,
  embed,
  kvLength,
  kvParts,
  layerForward,
  layerKV,
  outputHead,
  sliceKV,
} from '@staircase/core';
import { cacheWindow, chunkOf, oldestCacheNeeded, oldestChunkNeeded, rowsFor } from './schedule.js';

/** Shape of a staircase: chunking, passes, cache and depth recurrence. */
export interface StaircaseShape {
  /** Forward step `F`: tokens per chunk. */
  readonly chunk: number;
  /** Passes `n` every chunk receives (staircase size `S = n·F`). */
  readonly passes: number;
  /** Finished chunks whose final outputs every row attends to: 0 (Staircase), `k` (Cached), `Infinity` (Global Cached). */
  readonly cacheChunks: number;
  /** Applications of the `layers`-deep core per pass (Staircase × Ladder `R`; 1 otherwise). */
  readonly repeats: number;
}

/**
 * Keys/values a chunk's tokens produced at each pass: `passes[p − 1][a]` for layer application `a`.
 * These are the per-layer *inputs* of its passes (projected by that layer's LN1 and K/V weights),
 * which is exactly what newer chunks attend to.
 */
export interface ChunkKeys<T> {
  readonly chunk: number;
  readonly passes: readonly (readonly KV<T>[])[];
}

/** The carried state of the staircase family. */
export interface StaircaseStateData<T> {
  /** Chunks still reachable from later rows (at most `n`, the newest possibly partial). */
  readonly chunks: readonly ChunkKeys<T>[];
  /** Per layer, K/V of the final outputs of positions `[cache.start, position)`; null without a cache. */
  readonly cache: { readonly start: number; readonly layers: readonly KV<T>[] } | null;
}

/**
 * Consumes `tokens` (`[B, T]`) after the history in `state` and returns logits for all of them.
 *
 * Rows of {@link rowsFor} run in order; inside a row the core runs once over the concatenation
 * of the row's query chunks, each layer attending (causally) to, in position order: the cache
 * of finished chunks, the carried keys of older chunks of the row window, and the row itself.
 * A chunk leaving its last pass is finished: its states are its outputs, and (in cached
 * variants) its outputs' K/V join the cache.
 */
export function staircaseForward<T>(
  ops: Ops<T>,
  params: Params<T>,
  config: CoreConfig,
  shape: StaircaseShape,
  kind: string,
  tokens: T,
  state: ModelState<T> | null,
  options: ForwardOptions = {},
): ForwardResult<T> {
  const [batch, length] = ops.shape(tokens) as [number, number];
  checkState(kind, batch, state);
  const { chunk: F, passes: n, cacheChunks, repeats } = shape;
  const L = config.layers;
  const applications = repeats * L;
  const t0 = state?.position ?? 0;
  const t1 = t0 + length;
  const carried = (state?.data as StaircaseStateData<T> | undefined) ?? { chunks: [], cache: null };
  const carriedChunks = new Map(carried.chunks.map((c) => [c.chunk, c]));
  const keepFrom = oldestChunkNeeded(t1, F, n);

  // Current hidden state of each new chunk's tokens; starts as their embeddings.
  const emb = embed(ops, params, tokens);
  const d = config.dModel;
  const hidden = new Map<number, T>();
  for (let c = chunkOf(t0, F); c <= chunkOf(t1 - 1, F); c++) {
    const s = Math.max(c * F, t0);
    const e = Math.min((c + 1) * F, t1);
    hidden.set(c, ops.slice(emb, [0, s - t0, 0], [batch, e - s, d]));
  }
  const outputs = new Map<number, T>();
  const newKeys = new Map<number, KV<T>[][]>();
  // The cache as blocks of consecutive positions (the carried one, then one per finished chunk):
  // a row's window and the next state concatenate only the blocks they need, instead of growing
  // one tensor per finished chunk and slicing each window out of it (3 copies of a position → 1).
  let cache: CacheBlocks<T> | null = null;
  if (carried.cache) {
    cache = { start: carried.cache.start, end: carried.cache.start, blocks: [] };
    if (carried.cache.layers.length > 0) appendBlock(ops, cache, carried.cache.layers);
  } else if (cacheChunks > 0) {
    cache = { start: t0, end: t0, blocks: [] };
  }
  let cacheEnd = t0;

  for (const row of rowsFor(t0, t1, F, n)) {
    const { entries } = row;
    const qStart = entries[0]!.start;
    let h = ops.concat(
      entries.map((e) => hidden.get(e.chunk)!),
      1,
    );
    const window = cacheWindow(row, F, cacheChunks);
    const carriedInRow: { chunk: ChunkKeys<T>; pass: number }[] = [];
    for (let c = Math.max(0, row.row - n + 1); c <= Math.min(row.row, chunkOf(t0, F)); c++) {
      const keys = carriedChunks.get(c);
      if (keys && c * F < t0) carriedInRow.push({ chunk: keys, pass: row.row - c + 1 });
    }
    for (let a = 0; a < applications; a++) {
      const layer = a % L;
      const cachePart = cache ? layerParts(ops, cache, layer, window.start, window.end) : [];
      const past = [...cachePart, ...carriedInRow.map(({ chunk, pass }) => chunk.passes[pass - 1]![a]!)];
      const out = layerForward(ops, params, config, layer, h, qStart, { past, training: options.training });
      h = out.h;
      let offset = 0;
      for (const e of entries) {
        const len = e.end - e.start;
        if (e.chunk >= keepFrom) {
          const perPass = newKeys.get(e.chunk) ?? [];
          newKeys.set(e.chunk, perPass);
          perPass[e.pass - 1] = [...(perPass[e.pass - 1] ?? []), sliceKV(ops, out.kv, offset, len)];
        }
        offset += len;
      }
    }
    let offset = 0;
    for (const e of entries) {
      const len = e.end - e.start;
      const he = entries.length === 1 ? h : ops.slice(h, [0, offset, 0], [batch, len, d]);
      offset += len;
      options.onPass?.({ pass: e.pass, start: e.start, end: e.end, layerApplications: applications });
      if (e.pass < n) {
        hidden.set(e.chunk, he);
        continue;
      }
      outputs.set(e.chunk, he);
      if (cache) {
        if (e.start !== cacheEnd) throw new Error(`internal: cache gap at ${cacheEnd}..${e.start}`);
        const block = Array.from({ length: L }, (_, l) => layerKV(ops, params, config, l, he, e.start));
        appendBlock(ops, cache, block);
        cacheEnd = e.end;
      }
    }
  }

  const finals = [...outputs.keys()].sort((a, b) => a - b).map((c) => outputs.get(c)!);
  const logits = outputHead(ops, params, config, finals.length === 1 ? finals[0]! : ops.concat(finals, 1));
  return {
    logits,
    state: {
      kind,
      batch,
      position: t1,
      data: nextState(ops, carriedChunks, newKeys, cache, keepFrom, oldestCacheNeeded(t1, F, n, cacheChunks)),
    },
  };
}

/** Keeps only what later rows can reach, detached from the gradient. */
function nextState<T>(
  ops: Ops<T>,
  old: Map<number, ChunkKeys<T>>,
  newKeys: Map<number, KV<T>[][]>,
  cache: CacheBlocks<T> | null,
  keepFrom: number,
  cacheFrom: number,
): StaircaseStateData<T> {
  const chunks: ChunkKeys<T>[] = [];
  const indices = new Set([...old.keys(), ...newKeys.keys()]);
  for (const c of [...indices].sort((a, b) => a - b)) {
    if (c < keepFrom) continue;
    const before = old.get(c);
    const added = newKeys.get(c);
    const passCount = Math.max(before?.passes.length ?? 0, added?.length ?? 0);
    const passes = Array.from({ length: passCount }, (_, p) => {
      const a = before?.passes[p] ?? [];
      const b = added?.[p] ?? [];
      const apps = Math.max(a.length, b.length);
      return Array.from({ length: apps }, (_, i) => detachKV(ops, concatKV(ops, [a[i], b[i]])!));
    });
    chunks.push({ chunk: c, passes });
  }
  let nextCache: StaircaseStateData<T>['cache'] = null;
  if (cache) {
    const from = Math.min(cache.end, Math.max(cache.start, cacheFrom));
    const layers = from === cache.end ? [] : cache.blocks[0]!.layers.map((_, l) => detachKV(ops, concatKV(ops, layerParts(ops, cache, l, from, cache.end))!));
    nextCache = { start: from, layers };
  }
  return { chunks, cache: nextCache };
}

/** The cache while a call runs: per block (oldest first), each layer's K/V of its positions. */
interface CacheBlocks<T> {
  readonly start: number;
  /** First position after the newest block. */
  end: number;
  readonly blocks: { readonly start: number; readonly layers: readonly KV<T>[] }[];
}

/** Appends the next positions' per-layer K/V to the cache. */
function appendBlock<T>(ops: Ops<T>, cache: CacheBlocks<T>, layers: readonly KV<T>[]): void {
  cache.blocks.push({ start: cache.end, layers });
  cache.end += kvLength(ops, layers[0]!);
}

/** Layer `layer`'s cached K/V of positions `[from, to)`, as parts to concatenate. */
function layerParts<T>(ops: Ops<T>, cache: CacheBlocks<T>, layer: number, from: number, to: number): KV<T>[] {
  return kvParts(
    ops,
    cache.blocks.map((b) => ({ start: b.start, kv: b.layers[layer]! })),
    from,
    to,
  );
}
