/**
 * The backend-neutral tensor operations every model is written against.
 *
 * Model code (attention, blocks, staircase rows, ladder repeats, streaming steps) calls only these
 * functions, in the spirit of Keras 3's `ops`. A backend implements them: `@staircase/backend-tfjs`
 * eagerly with TensorFlow.js (so autograd can train the models), `@staircase/backend-onnx`
 * symbolically (so running the same model code records an ONNX graph). Nothing here imports a
 * tensor library.
 *
 * Conventions: tensors are float32 unless created with {@link Ops.constantInt}; shapes are static
 * arrays of numbers; `matMul` batches over all leading dimensions and broadcasts a rank-2 right
 * operand; elementwise ops broadcast like NumPy.
 *
 * @typeParam T - the backend's tensor type.
 */
export interface Ops<T> {
  /** A short backend name for messages, e.g. `tfjs-wasm`. */
  readonly name: string;

  /** A float32 constant from values in row-major order. */
  constant(values: ArrayLike<number>, shape: readonly number[]): T;
  /** An int32 constant (indices, token ids). */
  constantInt(values: ArrayLike<number>, shape: readonly number[]): T;
  /** A float32 tensor of zeros. */
  zeros(shape: readonly number[]): T;
  /** The static shape of a tensor. */
  shape(x: T): number[];

  reshape(x: T, shape: readonly number[]): T;
  transpose(x: T, perm: readonly number[]): T;
  /** Concatenates along `axis` (negative counts from the end). */
  concat(xs: readonly T[], axis: number): T;
  /** Slices `size` elements from `begin` per axis; `-1` in `size` means "to the end". */
  slice(x: T, begin: readonly number[], size: readonly number[]): T;

  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  /** Multiplies by a plain number. */
  scale(x: T, s: number): T;
  relu(x: T): T;
  /** GELU (tanh approximation). */
  gelu(x: T): T;
  /** Batched matrix product over the last two axes. */
  matMul(a: T, b: T): T;
  /** Softmax over the last axis. */
  softmax(x: T): T;
  /** Log-softmax over the last axis. */
  logSoftmax(x: T): T;
  /** LayerNorm over the last axis with gain `g` and bias `b` (both `[d]`). */
  layerNorm(x: T, g: T, b: T, eps: number): T;
  /** Rows of `table` (`[n, ...]`) at int32 `indices`; the result has shape `[...indices, ...]`. */
  gather(table: T, indices: T): T;
  /** One-hot float32 encoding of int32 `indices` with `depth` classes (new last axis). */
  oneHot(indices: T, depth: number): T;
  /**
   * Elementwise choice: `a` where `condition` is non-zero, else `b` (all three broadcast like
   * NumPy; `condition` is float32, normally 0/1 masks). Exact: it copies values, it never mixes
   * them, so a fixed-shape graph can pick between state layouts without rounding.
   */
  select(condition: T, a: T, b: T): T;
  /** Sums over the given axes (all when omitted), not keeping them. */
  sum(x: T, axes?: readonly number[]): T;
  /**
   * Inverted dropout: zeroes each element with probability `rate` and scales the rest by
   * `1/(1-rate)`. Backends draw the mask from their own seeded generator.
   */
  dropout(x: T, rate: number): T;
  /** Identity in the forward pass, no gradient in the backward pass (detached state). */
  stopGradient(x: T): T;
  /**
   * Optional: the RoPE tables of positions `[start, start+length)` (see `rotaryTables`), `[length,
   * headDim/2]` each. Backends that compute eagerly leave it out (the tables become constants); a
   * graph exporter provides it so that positions can be inputs of a graph traced at one position.
   */
  rotary?(start: number, length: number, headDim: number, base: number): { cos: T; sin: T };
  /**
   * Optional: the one-hot float32 encoding `[1, period]` of `position mod period` (the slot a token
   * takes inside its chunk). Backends that compute eagerly leave it out (model code then builds
   * the constant); a graph exporter provides it so that a graph traced at one position serves
   * every position (the value becomes an input the runtime computes for each run).
   */
  phase?(position: number, period: number): T;
  /**
   * Optional: `x` rolled along its first axis by `position`, each run of `period` rows on its
   * own (default: the whole axis): `out[j] = x[b + ((j − b − position) mod period)]` with `b` the
   * start of `j`'s run — ring buffers' entries, oldest first, put in ring order. (The first axis:
   * a gather of whole rows, where one along the last axis moves element by element.)
   * Backends that compute eagerly leave it out (model code then slices and concatenates at the
   * known position, see `roll`); a graph exporter provides it so that a graph traced at one
   * position serves every position (the gather index becomes an input the runtime computes for
   * each run).
   */
  roll?(x: T, position: number, period?: number): T;
  /**
   * Optional: true when parameters are constants that the runtime folds arithmetic on at load (a
   * float32 graph export), so model code may combine weights — Q, K and V side by side — at no
   * cost per run. Left out by eager backends (it would cost a copy per call) and by int8 exports
   * (their quantization needs every product to read a weight as it is).
   */
  readonly foldsWeights?: boolean;
}

/** A named parameter map, e.g. `layers.3.attn.wq` → tensor. */
export type Params<T> = Readonly<Record<string, T>>;

/** Looks a parameter up by name, failing with the name when a checkpoint lacks it. */
export function param<T>(params: Params<T>, name: string): T {
  const p = params[name];
  if (p === undefined) throw new Error(`missing parameter "${name}"`);
  return p;
}
