import type { CoreConfig } from './config.js';
import type { Ops, Params } from './ops.js';
import type { ParamSpec } from './params.js';

/**
 * The recurrent state a model carries from one call to the next: everything later tokens may
 * attend to. `position` counts the tokens already consumed. Its other fields are the model kind's
 * own (memories, in-flight chunks, caches) and are plain objects of tensors and numbers, detached
 * from any gradient.
 */
export interface ModelState<T> {
  readonly kind: string;
  readonly batch: number;
  readonly position: number;
  readonly data: unknown;
  /** @internal phantom: ties the state to its tensor type. */
  readonly __tensor?: T;
}

/** Reported once per core application of a span of query tokens (used to count passes). */
export interface PassEvent {
  /** 1-based pass (staircase) — always 1 for models without chunked recurrence. */
  readonly pass: number;
  /** Absolute positions `[start, end)` of the query tokens processed. */
  readonly start: number;
  readonly end: number;
  /** Layer applications each of these tokens received in this core application. */
  readonly layerApplications: number;
}

/** Options of {@link Model.forward}. */
export interface ForwardOptions {
  /** Enables dropout. Default false. */
  readonly training?: boolean;
  /** Called for every core application, for tests and instrumentation. */
  readonly onPass?: (event: PassEvent) => void;
}

/** What {@link Model.forward} returns. */
export interface ForwardResult<T> {
  /** `[batch, tokens, vocabSize]`. */
  readonly logits: T;
  /** The state after these tokens: pass it to the next call. */
  readonly state: ModelState<T>;
}

/** Compute and size figures of a model, for reports. */
export interface ModelCost {
  readonly parameters: number;
  /** Layer applications each token receives (the paper's cost per token). */
  readonly layerApplicationsPerToken: number;
}

/**
 * A fixed-shape formulation of token-by-token streaming: one token per call, and a state whose
 * tensors keep their shapes at every position (empty slots carry an additive score bias of −1e9).
 * Its logits equal {@link Model.forward}'s one token at a time; its state is laid out differently
 * (it is only ever passed back to {@link FixedStep.step}). A graph exporter traces it once and the
 * graph serves every position: whatever depends on the position goes through {@link Ops.phase},
 * {@link Ops.roll} and {@link Ops.rotary}.
 *
 * The state is a set of ring buffers: every K/V block of its tree holds the entries of the last
 * `length` positions, position `p` at index `p mod length`. A step returns the one new entry of
 * each block (the current position's), and {@link FixedStep.advance} writes it over the oldest,
 * so nothing of the state's size is copied per token; a runtime may write the entries into its
 * own buffers instead (index `position mod length`, the entry's bias 0).
 */
export interface FixedStep {
  /** The state before the first token: every slot empty. */
  initialState<T>(ops: Ops<T>, batch: number): ModelState<T>;
  /**
   * Consumes one token per row (`[batch, 1]`) after `state` and returns its logits `[batch, 1,
   * vocab]` and the new entry of every state block (see {@link FixedStepResult.entries}).
   */
  step<T>(ops: Ops<T>, params: Params<T>, tokens: T, state: ModelState<T>): FixedStepResult<T>;
  /** The state after a step: `entries` written into `state`'s rings (eager backends). */
  advance<T>(ops: Ops<T>, state: ModelState<T>, entries: unknown): ModelState<T>;
}

/** What {@link FixedStep.step} returns. */
export interface FixedStepResult<T> {
  /** `[batch, 1, vocab]`. */
  readonly logits: T;
  /**
   * The state data's tree with every K/V block replaced by the current position's entry (keys and
   * values `[batch, heads, 1, headDim]`, no bias).
   */
  readonly entries: unknown;
}

/**
 * A model: a validated config and plain functions over an {@link Ops} backend.
 *
 * `forward(ops, params, tokens, state)` consumes `tokens` (int32 `[batch, length]`) after the
 * history summarised by `state` (`null` = the start of a sequence) and returns logits for every
 * token and the new state. Calling it on a whole sequence, on consecutive segments, or one token
 * at a time gives the same logits: training uses long segments, generation single tokens.
 */
export interface Model<C extends CoreConfig = CoreConfig> {
  readonly kind: string;
  readonly config: C;
  paramSpecs(): ParamSpec[];
  cost(): ModelCost;
  /**
   * Present only for kinds whose state grows without bound (Global Cached Staircase): a model of
   * the same kind and weights whose state is bounded and whose outputs equal this model's for the
   * first `positions` tokens of a sequence. Fixed-shape exports use it.
   */
  bounded?(positions: number): Model;
  /**
   * Present for kinds whose one-token-at-a-time state would change shape within a chunk (the
   * staircase family): the same computation with a fixed-shape state, for exported step graphs.
   */
  readonly fixedStep?: FixedStep;
  forward<T>(
    ops: Ops<T>,
    params: Params<T>,
    tokens: T,
    state: ModelState<T> | null,
    options?: ForwardOptions,
  ): ForwardResult<T>;
}
