import { type KV, type PlacedKV, concatKV, detachKV, kvLength, kvParts } from './attention.js';
import { embed, layerForward, outputHead } from './block.js';
import type { CoreConfig } from './config.js';
import type { ForwardOptions, ForwardResult, ModelState } from './model.js';
import type { Ops, Params } from './ops.js';

/** State of a windowed model: for every layer application, K/V of the last `memory` positions. */
export interface WindowedStateData<T> {
  readonly memories: readonly (KV<T> | null)[];
}

/** Shape of a windowed stack: how far back each token sees, and how often the stack repeats. */
export interface WindowedOptions {
  /** Positions of memory: a token attends to itself and the `memory` positions before it. */
  readonly memory: number;
  /** Applications of the whole `layers`-deep stack with shared weights (Ladder `R`; 1 = Transformer-XL). */
  readonly repeats: number;
}

/**
 * Transformer-XL and Ladder: every token passes through the core stack `repeats` times
 * (`for r in 1..R: for l in 1..L: h = layer_l(h)`). Each layer application attends over the
 * inputs of that same application at the `memory` preceding positions (kept across calls, no
 * gradient into them) and at the current ones, causally.
 *
 * Decided here: the attention span is a sliding window of `memory` positions for *every* query,
 * not "the current segment plus a memory", so that a sequence gives the same outputs whether it
 * is processed in one call, in segments or token by token.
 */
export function windowedForward<T>(
  ops: Ops<T>,
  params: Params<T>,
  config: CoreConfig,
  shape: WindowedOptions,
  kind: string,
  tokens: T,
  state: ModelState<T> | null,
  options: ForwardOptions = {},
): ForwardResult<T> {
  const [batch, length] = ops.shape(tokens) as [number, number];
  checkState(kind, batch, state);
  const start = state?.position ?? 0;
  const memories = (state?.data as WindowedStateData<T> | undefined)?.memories ?? [];
  const applications = shape.repeats * config.layers;
  let h = embed(ops, params, tokens);
  const next: (KV<T> | null)[] = [];
  for (let a = 0; a < applications; a++) {
    const past = memories[a] ?? null;
    const out = layerForward(ops, params, config, a % config.layers, h, start, {
      past,
      window: shape.memory,
      training: options.training,
    });
    h = out.h;
    next.push(keepLast(ops, [past, out.kv], shape.memory));
  }
  options.onPass?.({ pass: 1, start, end: start + length, layerApplications: applications });
  return {
    logits: outputHead(ops, params, config, h),
    state: { kind, batch, position: start + length, data: { memories: next } satisfies WindowedStateData<T> },
  };
}

/**
 * The last `n` positions of consecutive K/V blocks (oldest first), detached. Only the parts that
 * cover the window are concatenated (see {@link kvParts}): when the current block alone is `n` long
 * or longer (a segment at least as long as the memory), the memory is that block or a slice of it,
 * with no copy of the old memory made only to be cut away again.
 */
function keepLast<T>(ops: Ops<T>, blocks: readonly (KV<T> | null)[], n: number): KV<T> | null {
  if (n === 0) return null;
  const placed: PlacedKV<T>[] = [];
  let end = 0;
  for (const kv of blocks) {
    if (!kv) continue;
    placed.push({ start: end, kv });
    end += kvLength(ops, kv);
  }
  const kv = concatKV(ops, kvParts(ops, placed, Math.max(0, end - n), end));
  return kv ? detachKV(ops, kv) : null;
}

/** Refuses a state made by another kind of model or for another batch size. */
export function checkState<T>(kind: string, batch: number, state: ModelState<T> | null): void {
  if (!state) return;
  if (state.kind !== kind) throw new Error(`state was made by a "${state.kind}" model, not "${kind}"`);
  if (state.batch !== batch) throw new Error(`state holds ${state.batch} rows but the tokens have ${batch}`);
}
