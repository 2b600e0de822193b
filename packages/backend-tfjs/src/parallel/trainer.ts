/**
 * Data-parallel training on several CPU cores: the caller's thread and `workers − 1` worker threads
 * each hold a replica of the model on their own TensorFlow.js instance (WASM or CPU backend, which
 * are single-threaded in Node), compute gradients on their share of the batch's rows, sum them
 * through a SharedArrayBuffer and apply the same AdamW update. Rows are independent streams with
 * their own carried state, so splitting them changes nothing but the order of floating-point sums.
 */
import { ConfigError, type HostParams, type Model, parseConfig } from '@staircase/core';
import * as tfCore from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import { z } from 'zod';
import type { Checkpoint, HostModelState } from '../checkpoint.js';
import type { Batch, CheckpointExtras, EvalResult, ReplicaLink, StepResult, Trainer, TrainerOptions } from '../train.js';
import { createReplicaTrainer, createTrainer, resolveTrainerOptions } from '../train.js';
import type { Tf } from '../tf.js';
import type { Command, GoSignal, ReadySignal, Reply, WireBatch, WorkerTrainerOptions } from './protocol.js';
import { type GradientSlots, ReplicaMemory } from './replica-memory.js';
import { joinStateRows, sliceStateRows } from './rows.js';
import type { SharedOptimizerState } from './shared-adamw.js';

const parallelSchema = z.strictObject({
  /**
   * Replicas training in parallel, the calling thread being one of them: 2 = the caller and one
   * worker thread. 1 (default) is the plain single-thread trainer.
   */
  workers: z.number().int().min(1).max(64).default(1),
  /**
   * Modules each worker imports before building the model, for their side effect of registering
   * model kinds (e.g. `import.meta.resolve('@staircase/staircase')`). Bare specifiers resolve from
   * this package's own location, so prefer absolute URLs.
   */
  kindModules: z.array(z.string()).default([]),
  /** The worker script; default this package's built `parallel-worker.js`. */
  workerUrl: z.union([z.string(), z.instanceof(URL)]).optional(),
});

/** Options of {@link createParallelTrainer}: those of `createTrainer` plus the parallel ones. */
export type ParallelTrainerOptions = TrainerOptions & z.input<typeof parallelSchema>;

/**
 * Creates a {@link Trainer} that trains on `workers` threads at once (Node only). Same interface,
 * same checkpoints and, up to floating-point summation order, the same numbers as `createTrainer`
 * with the same options: every replica starts from the same seeded parameters, applies the same
 * summed gradient and carries the state of its own rows (checkpoints hold the state of all rows,
 * as the single-thread trainer writes it, and either kind of trainer resumes the other's).
 *
 * The batch's rows (per accumulation micro-batch) must split evenly across the workers. Dropout
 * masks are drawn per replica, so with dropout on, runs with different `workers` differ (each is
 * still deterministic and resumable). Evaluation and `logits` run on the caller's thread only.
 * The worker threads hold no event-loop reference while idle; call `dispose()` to stop them.
 *
 * @example
 * ```ts
 * const { tf } = await selectBackend({ backend: 'wasm' });
 * const trainer = await createParallelTrainer(createModel(config), {
 *   tf, workers: 2, kindModules: [import.meta.resolve('@staircase/staircase')],
 * });
 * ```
 */
export async function createParallelTrainer(model: Model, options: ParallelTrainerOptions = {}): Promise<Trainer> {
  const { workers, kindModules, workerUrl, ...trainerOptions } = options;
  const par = parseConfig(parallelSchema, { workers, kindModules, workerUrl }, 'createParallelTrainer options');
  if (par.workers === 1) return createTrainer(model, trainerOptions);
  const resolved = resolveTrainerOptions(trainerOptions, 'createParallelTrainer options');
  const tf = resolved.tf ?? tfCore;
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') {
    throw new ConfigError(
      `createParallelTrainer options.workers: got ${par.workers} on the "${backend}" backend; worker threads help only the single-threaded wasm and cpu backends, use workers: 1`,
    );
  }
  const { Worker } = await import('node:worker_threads');
  const url = await workerScript(par.workerUrl);
  const count = par.workers;
  const width = model.paramSpecs().reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0) + 1;
  const shared = ReplicaMemory.allocate(count, width);
  const execArgv = withoutCondition(process.execArgv, 'source');
  const handles = Array.from({ length: count - 1 }, () => new WorkerHandle(new Worker(url, { execArgv })));
  const { tf: _tf, ...wireOptions } = resolved;
  try {
    await Promise.all(
      handles.map((h, i) =>
        h.request({
          op: 'init',
          config: model.config as unknown as Record<string, unknown>,
          options: wireOptions satisfies WorkerTrainerOptions,
          backend,
          kindModules: par.kindModules,
          index: i + 1,
          count,
          memory: shared.memory,
          width,
        }),
      ),
    );
  } catch (e) {
    for (const h of handles) h.terminate();
    throw new Error(`createParallelTrainer: a worker failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  const local = createReplicaTrainer(model, { ...resolved, tf }, new CallerLink(shared.slots, handles, shared.optimizer));
  return new ParallelTrainer(local, handles, count);
}

/** The worker script's URL, checked to exist so a missing build fails with a clear message. */
/**
 * The parent's Node options without one export condition. The worker script is built code and
 * must resolve the built packages; a parent run from source (vitest passes `--conditions source`)
 * would otherwise hand the worker TypeScript files it cannot load.
 */
export function withoutCondition(execArgv: readonly string[], condition: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if ((arg === '--conditions' || arg === '-C') && execArgv[i + 1] === condition) {
      i++;
      continue;
    }
    if (arg === `--conditions=${condition}` || arg === `-C=${condition}`) continue;
    out.push(arg);
  }
  return out;
}

async function workerScript(given: string | URL | undefined): Promise<URL> {
  const here = import.meta.url;
  // Built, this module sits in dist/ next to the worker; run from source (the `source` export
  // condition, e.g. under vitest), the built worker is in ../../dist.
  const url = given !== undefined ? new URL(given) : new URL(here.endsWith('.ts') ? '../../dist/parallel-worker.js' : './parallel-worker.js', here);
  if (url.protocol === 'file:') {
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    if (!existsSync(fileURLToPath(url))) {
      throw new ConfigError(
        `createParallelTrainer: the worker script ${fileURLToPath(url)} does not exist; build @staircase/backend-tfjs (pnpm build) or pass options.workerUrl`,
      );
    }
  }
  return url;
}

/** The caller's end of one worker thread: requests answered in order, and reduction signals. */
class WorkerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ready = new Set<number>();
  private readonly readyWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private terminated = false;

  constructor(private readonly worker: Worker) {
    // Idle workers must not keep the process alive; a pending request holds a reference.
    worker.unref();
    worker.on('message', (msg: Reply | ReadySignal) => {
      if ('op' in msg) {
        const waiter = this.readyWaiters.get(msg.seq);
        if (waiter) {
          this.readyWaiters.delete(msg.seq);
          waiter.resolve();
        } else this.ready.add(msg.seq);
      } else {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new Error(msg.error));
      }
      this.updateRef();
    });
    worker.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    worker.on('exit', (code) => this.fail(new Error(this.terminated ? 'the worker was stopped' : `the worker exited (code ${code})`)));
  }

  request(command: Command): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.updateRef();
    this.worker.postMessage({ ...command, id });
    return result;
  }

  /** Resolves when the worker has written its gradients for reduction `seq`. */
  waitReady(seq: number): Promise<void> {
    if (this.ready.delete(seq)) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<void>((resolve, reject) => this.readyWaiters.set(seq, { resolve, reject }));
    this.updateRef();
    return p;
  }

  go(seq: number): void {
    this.worker.postMessage({ op: 'reduce-go', seq } satisfies GoSignal);
  }

  terminate(): void {
    this.terminated = true;
    void this.worker.terminate();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    for (const w of this.readyWaiters.values()) w.reject(this.failure);
    this.pending.clear();
    this.readyWaiters.clear();
  }

  private updateRef(): void {
    if (this.terminated) return;
    if (this.pending.size > 0 || this.readyWaiters.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}

/** Replica 0's end of the group: it waits for every worker's "ready", then says "go". */
class CallerLink implements ReplicaLink {
  readonly index = 0;
  readonly count: number;
  private seq = 0;
  private shares = 0;

  constructor(
    private readonly slots: GradientSlots,
    private readonly handles: readonly WorkerHandle[],
    readonly optimizer: SharedOptimizerState,
  ) {
    this.count = handles.length + 1;
  }

  async share(local: Float32Array): Promise<void> {
    this.slots.write(++this.shares, 0, local);
    await this.barrier();
  }

  sumShared(from: number, to: number): Float32Array {
    return this.slots.sum(this.shares, from, to);
  }

  reduceShard(from: number, to: number): { values: Float32Array; squares: number } {
    return this.slots.reduceInto(this.shares, this.index, from, to);
  }

  async barrier(): Promise<void> {
    const seq = this.seq++;
    await Promise.all(this.handles.map((h) => h.waitReady(seq)));
    for (const h of this.handles) h.go(seq);
  }
}

class ParallelTrainer implements Trainer {
  private broken: Error | undefined;
  private disposed = false;

  constructor(
    private readonly local: Trainer,
    private readonly handles: readonly WorkerHandle[],
    private readonly count: number,
  ) {}

  get model(): Model {
    return this.local.model;
  }
  get tf(): Tf {
    return this.local.tf;
  }
  get ops() {
    return this.local.ops;
  }
  get options() {
    return this.local.options;
  }
  get stepCount(): number {
    return this.local.stepCount;
  }
  /** The caller's replica's parameters (every replica holds the same values). */
  get params() {
    return this.local.params;
  }
  get decayedParams(): readonly string[] {
    return this.local.decayedParams;
  }

  async step(batch: Batch): Promise<StepResult> {
    this.assertUsable();
    // Refuse a batch the replicas cannot split before any of them starts on it.
    const k = this.local.options.accumulation;
    if (!Number.isInteger(batch.batch) || batch.batch % (k * this.count) !== 0) {
      throw new Error(`batch of ${batch.batch} rows cannot be split into ${k} micro-batches (accumulation) of ${this.count} equal parts (workers)`);
    }
    const n = batch.batch * batch.length;
    for (const [field, arr] of [['tokens', batch.tokens], ['targets', batch.targets], ['mask', batch.mask]] as const) {
      if (arr !== undefined && arr.length !== n) throw new Error(`batch.${field}: has ${arr.length} values, expected batch × length = ${n}`);
    }
    // Copies: a view into a larger buffer would send the whole buffer.
    const wire: WireBatch = {
      tokens: batch.tokens.slice(),
      targets: batch.targets.slice(),
      ...(batch.mask ? { mask: batch.mask.slice() } : {}),
      batch: batch.batch,
      length: batch.length,
    };
    const replies = this.handles.map((h) => h.request({ op: 'step', batch: wire }));
    try {
      const result = await this.local.step(batch);
      await Promise.all(replies);
      return result;
    } catch (e) {
      // Replicas may now disagree (one applied the update, another did not): stop them all.
      this.break(e);
      await Promise.allSettled(replies);
      throw e;
    }
  }

  async *train(batches: Iterable<Batch> | AsyncIterable<Batch>, options: { steps?: number } = {}): AsyncGenerator<StepResult> {
    let n = 0;
    if (options.steps !== undefined && options.steps <= 0) return;
    for await (const batch of batches) {
      yield await this.step(batch);
      if (options.steps !== undefined && ++n >= options.steps) return;
    }
  }

  evaluate(batch: Batch): Promise<EvalResult> {
    this.assertUsable();
    return this.local.evaluate(batch);
  }

  logits(input: { tokens: Int32Array; batch: number; length: number }): Promise<{ values: Float32Array; shape: number[] }> {
    this.assertUsable();
    return this.local.logits(input);
  }

  nextLearningRate(): number {
    return this.local.nextLearningRate();
  }

  reset(which: 'train' | 'eval' | 'all' = 'all'): void {
    this.assertUsable();
    this.local.reset(which);
    this.broadcast({ op: 'reset', which });
  }

  getParams(): Promise<HostParams> {
    return this.local.getParams();
  }

  setParams(values: HostParams): void {
    this.assertUsable();
    this.local.setParams(values);
    this.broadcast({ op: 'setParams', values });
  }

  async checkpoint(extras: CheckpointExtras = {}): Promise<Checkpoint> {
    this.assertUsable();
    const [own, ...theirs] = await Promise.all([
      this.local.checkpoint(extras),
      ...this.handles.map((h) => h.request({ op: 'modelState' }) as Promise<readonly (HostModelState | null)[]>),
    ]);
    const modelState = own.modelState?.map((state, i) => {
      const parts = [state, ...theirs.map((t) => t[i] ?? null)];
      return parts.every((p): p is HostModelState => p !== null) ? joinStateRows(parts) : null;
    });
    return { ...own, modelState };
  }

  restore(checkpoint: Checkpoint): void {
    this.assertUsable();
    // Each replica carries its own rows of every micro-batch's state; a state that does not split
    // evenly cannot be carried, and training starts from an empty state (as for another accumulation).
    const saved = checkpoint.modelState;
    const splittable = saved?.every((s) => s === null || (s.batch % this.count === 0 && s.batch >= this.count));
    const partOf = (j: number) =>
      saved && splittable ? saved.map((s) => (s === null ? null : sliceStateRows(s, (j * s.batch) / this.count, s.batch / this.count))) : undefined;
    this.local.restore({ ...checkpoint, modelState: partOf(0) });
    this.handles.forEach((h, i) => {
      h.request({ op: 'restore', checkpoint: { ...checkpoint, modelState: partOf(i + 1) } }).catch((e: Error) => this.break(e));
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.local.dispose();
    for (const h of this.handles) h.terminate();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Sends a command whose failure surfaces at the next call (the caller's method is synchronous). */
  private broadcast(command: Command): void {
    for (const h of this.handles) h.request(command).catch((e: Error) => this.break(e));
  }

  private break(e: unknown): void {
    if (this.disposed) return;
    this.broken ??= e instanceof Error ? e : new Error(String(e));
    for (const h of this.handles) h.terminate();
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('this trainer was disposed');
    if (this.broken) throw new Error(`this parallel trainer stopped after an error (${this.broken.message}); create a new one`);
  }
}
