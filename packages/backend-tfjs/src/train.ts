import { type HostParams, type Model, type ModelState, crossEntropy, initParams, parseConfig } from '@staircase/core';
import * as tfCore from '@tensorflow/tfjs-core';
import type { Scalar, Variable } from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { AdamW, assignHost } from './adamw.js';
import { SharedAdamW, type SharedOptimizerState, shardOf } from './parallel/shared-adamw.js';
import { type Checkpoint, type HostModelState, type HostTensor, NON_STRUCTURAL, assertCheckpointFits } from './checkpoint.js';
import { type TfjsOps, createTfjsOps } from './ops.js';
import { learningRate } from './schedule.js';
import { disposeReplaced, stateFromHost, stateToHost, tensorsIn } from './state.js';
import type { Tensor, Tf } from './tf.js';

const optimizerSchema = z.strictObject({
  /** Peak learning rate. */
  lr: z.number().positive().default(1e-3),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  /** Decoupled weight decay (AdamW), applied to parameters whose spec has `decay: true`. */
  weightDecay: z.number().min(0).default(0.01),
  warmupSteps: z.number().int().min(0).default(0),
  /** Updates over which the cosine decay runs; absent = constant learning rate after warm-up. */
  totalSteps: z.number().int().min(1).optional(),
  minLrRatio: z.number().min(0).max(1).default(0.1),
  /** Global gradient-norm clipping threshold; 0 = off. */
  clipNorm: z.number().min(0).default(1),
});

const trainerSchema = z.strictObject({
  /** The TensorFlow.js namespace (from {@link selectBackend}); default `@tensorflow/tfjs-core` with its active backend. */
  tf: z.custom<Tf>((v) => typeof v === 'object' && v !== null && typeof (v as Tf).variableGrads === 'function', 'a TensorFlow.js namespace').optional(),
  /** Seeds parameter initialisation and dropout. Default: the model config's `seed`. */
  seed: z.number().int().min(0).optional(),
  optimizer: optimizerSchema.prefault({}),
  /** Micro-batches per update: the batch's rows are split into this many equal groups. */
  accumulation: z.number().int().min(1).default(1),
  /** How `gather` is differentiated (see {@link TfjsOpsOptions}). */
  gatherGradient: z.enum(['auto', 'one-hot', 'native']).default('auto'),
  /** Differentiate matMul with explicit transposes (default: on WASM only). */
  explicitTransposes: z.boolean().optional(),
  /** Use this package's own WASM kernels (default: on where supported; see {@link TfjsOpsOptions}), AdamW's update included. */
  wasmKernels: z.boolean().optional(),
});

/** Options of {@link createTrainer}; every field is optional. */
export type TrainerOptions = z.input<typeof trainerSchema>;
/** {@link TrainerOptions} after defaults. */
export type ResolvedTrainerOptions = z.output<typeof trainerSchema>;
/** The optimizer section of {@link TrainerOptions} after defaults. */
export type OptimizerOptions = z.output<typeof optimizerSchema>;

/**
 * A training batch: `batch` rows of `length` tokens each, row-major. Row `r` of consecutive
 * batches must continue the same stream, since the model state is carried between calls.
 */
export interface Batch {
  readonly tokens: Int32Array;
  readonly targets: Int32Array;
  /** 1 where the target is scored; default all ones. */
  readonly mask?: Float32Array;
  readonly batch: number;
  readonly length: number;
}

/** What one {@link Trainer.step} did. */
export interface StepResult {
  /** Mean cross-entropy (nats) over the scored targets, before the update. */
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Learning rate of this update. */
  readonly lr: number;
  /** False when the loss or gradient norm was not finite: the parameters were left unchanged. */
  readonly applied: boolean;
  /** Updates applied so far, this one included. */
  readonly step: number;
}

/** What {@link Trainer.evaluate} returns. */
export interface EvalResult {
  /** Mean cross-entropy (nats) over the scored targets. */
  readonly loss: number;
  /** Number of scored targets. */
  readonly count: number;
}

/** Extra fields of {@link Trainer.checkpoint}. */
export interface CheckpointExtras {
  readonly dataPosition?: unknown;
  readonly tokenizer?: unknown;
  readonly metadata?: Record<string, unknown>;
}

/**
 * Trains a core {@link Model} with AdamW on TensorFlow.js. Holds the parameters (as `tf.Variable`s),
 * the optimizer state and the model state carried from batch to batch.
 */
export interface Trainer {
  readonly model: Model;
  readonly tf: Tf;
  readonly ops: TfjsOps;
  readonly options: ResolvedTrainerOptions;
  /** Updates applied so far. */
  readonly stepCount: number;
  /** The parameters, by name. */
  readonly params: Readonly<Record<string, Variable>>;
  /** Names of the parameters weight decay applies to. */
  readonly decayedParams: readonly string[];
  /** One update from `batch` (split into `accumulation` micro-batches), carrying the model state. */
  step(batch: Batch): Promise<StepResult>;
  /** Steps through `batches`, yielding each result (stops after `steps` when given). */
  train(batches: Iterable<Batch> | AsyncIterable<Batch>, options?: { steps?: number }): AsyncGenerator<StepResult>;
  /** Forward only (no dropout), carrying its own state, separate from training's. */
  evaluate(batch: Batch): Promise<EvalResult>;
  /** Logits of `tokens` from an empty state, in evaluation mode, `[batch, length, vocab]`. */
  logits(input: { tokens: Int32Array; batch: number; length: number }): Promise<{ values: Float32Array; shape: number[] }>;
  /** Learning rate the next update will use. */
  nextLearningRate(): number;
  /** Forgets carried model state (`train`, `eval`, or both). */
  reset(which?: 'train' | 'eval' | 'all'): void;
  /** Copies the parameters to host memory. */
  getParams(): Promise<HostParams>;
  /** Overwrites parameters from host memory (every name required). */
  setParams(values: HostParams): void;
  /**
   * Weights, config, optimizer state, step and the carried training state (`modelState`, one
   * entry per accumulation micro-batch), plus `extras`, in host memory.
   */
  checkpoint(extras?: CheckpointExtras): Promise<Checkpoint>;
  /**
   * Restores weights, optimizer state, step and the carried training state; checks the checkpoint
   * fits the model. The evaluation state is reset. The training state starts empty when the
   * checkpoint has no `modelState`, or one written with another `accumulation`, another model kind
   * or another config (other than seed, dropout, attnDropout, layerNormEps).
   */
  restore(checkpoint: Checkpoint): void;
  /** Frees every tensor the trainer holds. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/**
 * Creates a {@link Trainer}: parameters initialised by core's `initParams` with the seed, AdamW
 * with linear warm-up and cosine decay, global-norm clipping, gradient accumulation, seeded
 * dropout. Options are validated; unknown keys are refused.
 *
 * @example
 * ```ts
 * const { tf } = await selectBackend();
 * const trainer = createTrainer(createModel(config), { tf, optimizer: { lr: 3e-4, warmupSteps: 100 } });
 * for await (const r of trainer.train(batches, { steps: 1000 })) console.log(r.step, r.loss);
 * ```
 */
export function createTrainer(model: Model, options: TrainerOptions = {}): Trainer {
  const opts = parseConfig(trainerSchema, options, 'createTrainer options');
  return new TfjsTrainer(model, opts);
}

/**
 * How one data-parallel replica shares its gradients with the others. Internal to this package
 * (see `parallel/`): replica `index` of `count` trains rows `index` of every micro-batch split in
 * `count` equal parts, and every replica applies the same summed gradient.
 */
export interface ReplicaLink {
  readonly index: number;
  readonly count: number;
  /** The parameters and AdamW moments, in host memory shared by every replica. */
  readonly optimizer: SharedOptimizerState;
  /**
   * Publishes this replica's packed gradients (parameters in spec order, flattened, then the
   * partial loss) and waits until every replica has published its own.
   */
  share(local: Float32Array): Promise<void>;
  /** Elements `[from, to)` of the published vectors summed in replica order (identical bits everywhere). */
  sumShared(from: number, to: number): Float32Array;
  /**
   * This replica's shard `[from, to)` of the published vectors, summed in replica order into its
   * own slot (a view of shared memory, valid until the next publication), with its squared norm.
   */
  reduceShard(from: number, to: number): { values: Float32Array; squares: number };
  /** Resolves once every replica has called it as often. */
  barrier(): Promise<void>;
}

/** A {@link Trainer} that is one replica of a data-parallel group (options already validated). */
export function createReplicaTrainer(model: Model, options: ResolvedTrainerOptions, link: ReplicaLink): Trainer {
  return new TfjsTrainer(model, options, link);
}

/** Validates trainer options (for callers that pass them on, e.g. to worker threads). */
export function resolveTrainerOptions(options: TrainerOptions, where = 'createTrainer options'): ResolvedTrainerOptions {
  return parseConfig(trainerSchema, options, where);
}

class TfjsTrainer implements Trainer {
  readonly tf: Tf;
  readonly ops: TfjsOps;
  private readonly vars = new Map<string, Variable>();
  private readonly optimizer: AdamW | SharedAdamW;
  private readonly seed: number;
  private trainStates: (ModelState<Tensor> | null)[] = [];
  private evalState: ModelState<Tensor> | null = null;
  private disposed = false;

  constructor(
    readonly model: Model,
    readonly options: ResolvedTrainerOptions,
    private readonly replica?: ReplicaLink,
  ) {
    this.tf = options.tf ?? tfCore;
    this.seed = options.seed ?? model.config.seed;
    this.ops = createTfjsOps(this.tf, {
      seed: this.seed,
      gatherGradient: options.gatherGradient,
      ...(options.explicitTransposes === undefined ? {} : { explicitTransposes: options.explicitTransposes }),
      ...(options.wasmKernels === undefined ? {} : { wasmKernels: options.wasmKernels }),
    });
    const specs = model.paramSpecs();
    const host = initParams(specs, this.seed);
    for (const spec of specs) {
      const init = this.tf.tensor(host[spec.name]!, [...spec.shape], 'float32');
      this.vars.set(spec.name, this.tf.variable(init, true));
      init.dispose();
    }
    const { betas, eps, weightDecay } = options.optimizer;
    if (replica && replica.count > 1) {
      // Replicas share one host copy of the parameters and moments; replica 0 fills it.
      const shared = new SharedAdamW(specs, { betas, eps, weightDecay }, replica.optimizer, replica.index === 0);
      shared.setParams(host);
      this.optimizer = shared;
    } else this.optimizer = new AdamW(this.tf, specs, { betas, eps, weightDecay }, options.wasmKernels !== false);
  }

  get stepCount(): number {
    return this.optimizer.step;
  }

  get params(): Readonly<Record<string, Variable>> {
    return Object.fromEntries(this.vars);
  }

  get decayedParams(): readonly string[] {
    return this.optimizer.decayed();
  }

  nextLearningRate(): number {
    return learningRate(this.optimizer.step, this.options.optimizer);
  }

  async step(batch: Batch): Promise<StepResult> {
    this.assertLive();
    const { tf } = this;
    const { batch: B, length: M } = checkBatch(batch);
    const k = this.options.accumulation;
    const parts = this.replica?.count ?? 1;
    const part = this.replica?.index ?? 0;
    if (B % (k * parts) !== 0) {
      throw new Error(
        parts === 1
          ? `batch of ${B} rows cannot be split into ${k} equal micro-batches (accumulation)`
          : `batch of ${B} rows cannot be split into ${k} micro-batches (accumulation) of ${parts} equal parts (workers)`,
      );
    }
    // This replica's rows of each micro-batch: micro-batch i is rows [i·B/k, (i+1)·B/k), cut in `parts`.
    const rows = B / (k * parts);
    const mask = batch.mask ?? new Float32Array(B * M).fill(1);
    let count = 0;
    for (let i = 0; i < mask.length; i++) count += mask[i]!;
    const varList = [...this.vars.values()];
    const names = new Map(varList.map((v, i) => [v.name, [...this.vars.keys()][i]!]));
    const grads: Record<string, Tensor> = {};
    const losses: Tensor[] = [];
    const nextStates: (ModelState<Tensor> | null)[] = [];
    let packed: Tensor | undefined;
    try {
      for (let i = 0; i < k; i++) {
        const first = (i * parts + part) * rows * M;
        const span = [first, first + rows * M] as const;
        // Replica 0 of 1 keeps the single-process streams, so workers = 1 is the plain trainer.
        this.ops.setRandomStream((this.optimizer.step * k + i) * parts + part);
        const { value, grads: g } = tf.variableGrads(() => {
          const tokens = tf.tensor(batch.tokens.subarray(...span), [rows, M], 'int32');
          const targets = tf.tensor(batch.targets.subarray(...span), [rows, M], 'int32');
          const m = tf.tensor(mask.subarray(...span), [rows, M], 'float32');
          const out = this.model.forward(this.ops, this.params, tokens, this.trainStates[i] ?? null, { training: true });
          for (const t of tensorsIn(out.state)) tf.keep(t);
          nextStates[i] = out.state;
          return crossEntropy(this.ops, out.logits, targets, m, count) as Scalar;
        }, varList);
        losses.push(value);
        for (const [varName, grad] of Object.entries(g)) {
          const name = names.get(varName)!;
          const prev = grads[name];
          if (prev) {
            grads[name] = tf.add(prev, grad);
            prev.dispose();
            grad.dispose();
          } else grads[name] = grad;
        }
      }
      if (this.optimizer instanceof SharedAdamW) {
        const lr = this.nextLearningRate();
        const { loss, gradNorm, applied } = await this.sharedUpdate(this.optimizer, grads, losses, lr);
        for (let i = 0; i < k; i++) disposeReplaced(this.trainStates[i], nextStates[i]);
        this.trainStates = nextStates;
        return { loss, gradNorm, lr, applied, step: this.optimizer.step };
      }
      // One read of both numbers. Sums are pairwise adds, not addN: tfjs-backend-webgpu 4.22 binds
      // one storage buffer per addN input and silently returns zeros past the device's limit (16 on
      // lavapipe), e.g. for the squared norms of 30 parameters.
      packed = tf.tidy(() => {
        const total = (xs: Tensor[]) => xs.reduce((a, b) => tf.add(a, b));
        const loss = total(losses);
        const squares = Object.values(grads).map((g) => tf.sum(tf.mul(g, g)));
        const norm = squares.length ? tf.sqrt(total(squares)) : tf.scalar(0);
        return tf.concat([tf.reshape(loss, [1]), tf.reshape(norm, [1])]);
      });
      const [loss, gradNorm] = (await packed.data()) as Float32Array;
      for (let i = 0; i < k; i++) disposeReplaced(this.trainStates[i], nextStates[i]);
      this.trainStates = nextStates;
      const lr = this.nextLearningRate();
      const applied = Number.isFinite(loss) && Number.isFinite(gradNorm);
      if (applied) {
        const clip = this.options.optimizer.clipNorm;
        const scale = clip > 0 && gradNorm! > clip ? clip / (gradNorm! + 1e-6) : 1;
        (this.optimizer as AdamW).apply(this.vars, grads, lr, scale);
      }
      return { loss: loss!, gradNorm: gradNorm!, lr, applied, step: this.optimizer.step };
    } finally {
      packed?.dispose();
      for (const t of losses) t.dispose();
      for (const t of Object.values(grads)) t.dispose();
    }
  }

  /**
   * The data-parallel end of a step: publish this replica's gradients, sum this replica's shard
   * of everyone's, combine the shards' squared norms, update the shard of the shared parameters
   * and moments, then load every replica's updated shards into this replica's variables.
   */
  private async sharedUpdate(
    opt: SharedAdamW,
    grads: Record<string, Tensor>,
    losses: Tensor[],
    lr: number,
  ): Promise<{ loss: number; gradNorm: number; applied: boolean }> {
    const { tf } = this;
    const link = this.replica!;
    const local = tf.tidy(() => {
      const flat = [...this.vars].map(([name, v]) => tf.reshape(grads[name] ?? tf.zerosLike(v), [-1]));
      return tf.concat([...flat, tf.reshape(losses.reduce((a, b) => tf.add(a, b)), [1])]);
    });
    let host: Float32Array;
    try {
      host = (await local.data()) as Float32Array;
    } finally {
      local.dispose();
    }
    const size = host.length - 1;
    await link.share(host);
    const [from, to] = shardOf(size, link.index, link.count);
    const loss = link.sumShared(size, size + 1)[0]!;
    const { values: shard, squares } = link.reduceShard(from, to);
    link.optimizer.partials[link.index] = squares;
    await link.barrier();
    let total = 0;
    for (let r = 0; r < link.count; r++) total += link.optimizer.partials[r]!;
    const gradNorm = Math.sqrt(total);
    const applied = Number.isFinite(loss) && Number.isFinite(gradNorm);
    if (applied) {
      const clip = this.options.optimizer.clipNorm;
      opt.applyShard(shard, from, to, lr, clip > 0 && gradNorm > clip ? clip / (gradNorm + 1e-6) : 1);
    }
    // Every shard is written before anyone reads the parameters back.
    await link.barrier();
    if (applied) {
      let offset = 0;
      for (const [name, v] of this.vars) {
        assignHost(tf, v, link.optimizer.params.subarray(offset, offset + v.size), `parameter "${name}"`);
        offset += v.size;
      }
    }
    return { loss, gradNorm, applied };
  }

  async *train(batches: Iterable<Batch> | AsyncIterable<Batch>, options: { steps?: number } = {}): AsyncGenerator<StepResult> {
    let n = 0;
    if (options.steps !== undefined && options.steps <= 0) return;
    for await (const batch of batches) {
      yield await this.step(batch);
      if (options.steps !== undefined && ++n >= options.steps) return;
    }
  }

  async evaluate(batch: Batch): Promise<EvalResult> {
    this.assertLive();
    const { tf } = this;
    const { batch: B, length: M } = checkBatch(batch);
    const mask = batch.mask ?? new Float32Array(B * M).fill(1);
    let count = 0;
    for (let i = 0; i < mask.length; i++) count += mask[i]!;
    let next: ModelState<Tensor> | null = null;
    const loss = tf.tidy(() => {
      const tokens = tf.tensor(batch.tokens, [B, M], 'int32');
      const targets = tf.tensor(batch.targets, [B, M], 'int32');
      const m = tf.tensor(mask, [B, M], 'float32');
      const out = this.model.forward(this.ops, this.params, tokens, this.evalState, { training: false });
      for (const t of tensorsIn(out.state)) tf.keep(t);
      next = out.state;
      return crossEntropy(this.ops, out.logits, targets, m, count);
    });
    try {
      const [value] = (await loss.data()) as Float32Array;
      disposeReplaced(this.evalState, next);
      this.evalState = next;
      return { loss: value!, count };
    } finally {
      loss.dispose();
    }
  }

  async logits(input: { tokens: Int32Array; batch: number; length: number }): Promise<{ values: Float32Array; shape: number[] }> {
    this.assertLive();
    const { tf } = this;
    const out = tf.tidy(() => {
      const tokens = tf.tensor(input.tokens, [input.batch, input.length], 'int32');
      return this.model.forward(this.ops, this.params, tokens, null, { training: false }).logits;
    });
    try {
      return { values: ((await out.data()) as Float32Array).slice(), shape: [...out.shape] };
    } finally {
      out.dispose();
    }
  }

  reset(which: 'train' | 'eval' | 'all' = 'all'): void {
    if (which !== 'eval') {
      for (const s of this.trainStates) disposeReplaced(s, null);
      this.trainStates = [];
    }
    if (which !== 'train') {
      disposeReplaced(this.evalState, null);
      this.evalState = null;
    }
  }

  async getParams(): Promise<HostParams> {
    const out: HostParams = {};
    for (const [name, v] of this.vars) out[name] = ((await v.data()) as Float32Array).slice();
    return out;
  }

  setParams(values: HostParams): void {
    for (const [name, v] of this.vars) assignHost(this.tf, v, values[name], `parameter "${name}"`);
    if (this.optimizer instanceof SharedAdamW) this.optimizer.setParams(values);
  }

  async checkpoint(extras: CheckpointExtras = {}): Promise<Checkpoint> {
    const values = await this.getParams();
    const params: Record<string, HostTensor> = {};
    for (const [name, v] of this.vars) params[name] = { shape: [...v.shape], data: values[name]! };
    return {
      config: this.model.config as unknown as Record<string, unknown>,
      params,
      optimizer: await this.optimizer.state(),
      step: this.optimizer.step,
      dataPosition: extras.dataPosition,
      tokenizer: extras.tokenizer,
      metadata: extras.metadata,
      modelState: await Promise.all(
        Array.from({ length: this.options.accumulation }, (_, i) => {
          const state = this.trainStates[i] ?? null;
          return state === null ? null : (stateToHost(state) as Promise<unknown> as Promise<HostModelState>);
        }),
      ),
    };
  }

  restore(checkpoint: Checkpoint): void {
    assertCheckpointFits(checkpoint, this.model);
    this.setParams(Object.fromEntries(Object.entries(checkpoint.params).map(([n, t]) => [n, t.data])));
    if (checkpoint.optimizer) this.optimizer.load(checkpoint.optimizer);
    else this.optimizer.load({ step: checkpoint.step, m: zerosLike(checkpoint), v: zerosLike(checkpoint) });
    const states = this.carriedStates(checkpoint);
    this.reset();
    this.trainStates = states;
  }

  /** The checkpoint's training state as tensors, or none when it does not fit this trainer. */
  private carriedStates(checkpoint: Checkpoint): (ModelState<Tensor> | null)[] {
    const saved = checkpoint.modelState;
    if (!saved || saved.length !== this.options.accumulation) return [];
    if (saved.some((s) => s !== null && s.kind !== this.model.kind)) return [];
    const ours = this.model.config as unknown as Record<string, unknown>;
    const theirs = checkpoint.config;
    for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
      if (!NON_STRUCTURAL.has(key) && JSON.stringify(ours[key]) !== JSON.stringify(theirs[key])) return [];
    }
    const out: (ModelState<Tensor> | null)[] = [];
    try {
      for (const s of saved) out.push(s === null ? null : (stateFromHost(this.tf, s) as unknown as ModelState<Tensor>));
    } catch (e) {
      for (const s of out) disposeReplaced(s, null);
      throw e;
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.reset();
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.optimizer.dispose();
    this.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this trainer was disposed');
  }
}

function zerosLike(checkpoint: Checkpoint): HostParams {
  return Object.fromEntries(Object.entries(checkpoint.params).map(([n, t]) => [n, new Float32Array(t.data.length)]));
}

function checkBatch(batch: Batch): { batch: number; length: number } {
  const { batch: B, length: M } = batch;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(M) || M < 1) {
    throw new Error(`batch: batch and length must be positive integers, got ${B} × ${M}`);
  }
  const n = B * M;
  for (const [field, arr] of [['tokens', batch.tokens], ['targets', batch.targets], ['mask', batch.mask]] as const) {
    if (arr !== undefined && arr.length !== n) throw new Error(`batch.${field}: has ${arr.length} values, expected batch × length = ${n}`);
  }
  return { batch: B, length: M };
}
