import { type AttendOptions, type KV, attend, concatKV, project, rope } from './attention.js';
import type { CoreConfig } from './config.js';
import { type Ops, type Params, param } from './ops.js';

/** Options of one layer application. */
export interface LayerOptions<T> extends Omit<AttendOptions, 'mask'> {
  /**
   * Keys/values of the positions just before the queries (memory, cache, in-flight chunks): one
   * block, or consecutive blocks oldest first, which are concatenated with the queries' own in
   * one copy (rather than joined first and copied again).
   */
  readonly past?: KV<T> | readonly (KV<T> | null)[] | null;
}

/** What one layer application returns. */
export interface LayerResult<T> {
  /** The new hidden state of the queries, `[B, Tq, d]`. */
  readonly h: T;
  /** Keys/values of the queries at this layer (the layer *inputs*, projected): later tokens attend to them. */
  readonly kv: KV<T>;
}

function layerNorm<T>(ops: Ops<T>, params: Params<T>, name: string, x: T, eps: number): T {
  return ops.layerNorm(x, param(params, `${name}.g`), param(params, `${name}.b`), eps);
}

/** Dropout on a residual branch, only in training. */
function drop<T>(ops: Ops<T>, x: T, rate: number, training: boolean | undefined): T {
  return training && rate > 0 ? ops.dropout(x, rate) : x;
}

/** Linear → ReLU/GELU → dropout → Linear. */
export function feedForward<T>(ops: Ops<T>, params: Params<T>, config: CoreConfig, layer: number, x: T, training?: boolean): T {
  const p = `layers.${layer}.ffn`;
  let h = ops.add(ops.matMul(x, param(params, `${p}.w1`)), param(params, `${p}.b1`));
  h = config.activation === 'gelu' ? ops.gelu(h) : ops.relu(h);
  h = drop(ops, h, config.dropout, training);
  return ops.add(ops.matMul(h, param(params, `${p}.w2`)), param(params, `${p}.b2`));
}

/**
 * Keys/values that layer `layer` derives from hidden states `h` (`[B, T, d]`, first position
 * `start`): `LN1`, then the K and V projections (and RoPE on K). Used for the queries' own
 * positions and for caches of finished chunks, which are projected, never recomputed.
 */
export function layerKV<T>(ops: Ops<T>, params: Params<T>, config: CoreConfig, layer: number, h: T, start: number): KV<T> {
  const x = layerNorm(ops, params, `layers.${layer}.ln1`, h, config.layerNormEps);
  return {
    k: project(ops, params, config, layer, 'wk', x, start),
    v: project(ops, params, config, layer, 'wv', x, start),
  };
}

/**
 * One pre-norm Transformer layer over queries `h` (`[B, Tq, d]`, first position `start`):
 * `h += Attn(LN1(h), LN1(context))`, then `h += FFN(LN2(h))`. The context is `past` (already
 * projected keys/values of the positions right before `start`) followed by the queries themselves.
 */
export function layerForward<T>(
  ops: Ops<T>,
  params: Params<T>,
  config: CoreConfig,
  layer: number,
  h: T,
  start: number,
  options: LayerOptions<T> = {},
): LayerResult<T> {
  const past = options.past;
  return layerWith(ops, params, config, layer, h, start, options.training, (q, kv) =>
    attend(ops, params, config, layer, q, concatKV(ops, [...(Array.isArray(past) ? past : [past as KV<T> | null | undefined]), kv])!, options),
  );
}

/**
 * {@link layerForward} with the attention given by `attention(q, kv)`: it receives the queries'
 * heads and their own keys/values (projected, RoPE applied) and returns the attention output
 * projected by `wo`, `[B, Tq, d]`. For contexts that are not one contiguous K/V block (ring
 * buffers read in place, see `attendBlocks`). With `fuse`, one token's Q, K and V come from one
 * product with the three weights side by side, the queries' `1/√hd` folded into `wq` (for
 * exported one-token graphs, where those weights are a constant: one pass over the input and
 * three nodes fewer), and `attention` receives the queries **already scaled**.
 */
export function layerWith<T>(
  ops: Ops<T>,
  params: Params<T>,
  config: CoreConfig,
  layer: number,
  h: T,
  start: number,
  training: boolean | undefined,
  attention: (q: T, kv: KV<T>) => T,
  fuse = false,
): LayerResult<T> {
  const x = layerNorm(ops, params, `layers.${layer}.ln1`, h, config.layerNormEps);
  const { q, kv } =
    fuse && ops.shape(x)[1] === 1
      ? projectFused(ops, params, config, layer, x, start)
      : {
          q: project(ops, params, config, layer, 'wq', x, start),
          kv: { k: project(ops, params, config, layer, 'wk', x, start), v: project(ops, params, config, layer, 'wv', x, start) },
        };
  const a = attention(q, kv);
  let out = ops.add(h, drop(ops, a, config.dropout, training));
  const f = feedForward(ops, params, config, layer, layerNorm(ops, params, `layers.${layer}.ln2`, out, config.layerNormEps), training);
  out = ops.add(out, drop(ops, f, config.dropout, training));
  return { h: out, kv };
}

/**
 * Scaled Q and K/V heads of one token (`x` `[B, 1, d]`, normalised) from one product with
 * `[wq/√hd | wk | wv]` (RoPE is linear, so scaling before it is the same).
 */
function projectFused<T>(ops: Ops<T>, params: Params<T>, config: CoreConfig, layer: number, x: T, start: number): { q: T; kv: KV<T> } {
  const [b, , d] = ops.shape(x) as [number, number, number];
  const H = config.heads;
  const weight = (n: 'wq' | 'wk' | 'wv') => param(params, `layers.${layer}.attn.${n}`);
  const w = ops.concat([ops.scale(weight('wq'), 1 / Math.sqrt(d / H)), weight('wk'), weight('wv')], 1);
  const heads = ops.reshape(ops.matMul(x, w), [b, 3 * H, 1, d / H]);
  const part = (i: number) => ops.slice(heads, [0, i * H, 0, 0], [b, H, 1, d / H]);
  const rotate = (y: T) => (config.position.type === 'rope' ? rope(ops, y, start, config.position.base) : y);
  return { q: rotate(part(0)), kv: { k: rotate(part(1)), v: part(2) } };
}

/** Token embeddings `[B, T, d]` of int32 `tokens` `[B, T]`. */
export function embed<T>(ops: Ops<T>, params: Params<T>, tokens: T): T {
  return ops.gather(param(params, 'embed'), tokens);
}

/** Final LayerNorm and output projection: `[B, T, d]` → logits `[B, T, vocab]`. */
export function outputHead<T>(ops: Ops<T>, params: Params<T>, config: CoreConfig, h: T): T {
  const x = layerNorm(ops, params, 'lnf', h, config.layerNormEps);
  return ops.add(ops.matMul(x, param(params, 'out.w')), param(params, 'out.b'));
}
