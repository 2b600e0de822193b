/**
 * Entry of a data-parallel worker thread (built as `dist/parallel-worker.js`): one model replica on
 * its own TensorFlow.js instance, driven by {@link createParallelTrainer} on the caller's thread.
 * It answers commands in order; the only message handled out of order is the "go" of a gradient
 * reduction, which arrives while a step command is waiting for it.
 */
import { parentPort } from 'node:worker_threads';
import { createModel } from '@staircase/core';
import { selectBackend } from '../select.js';
import { type ReplicaLink, type Trainer, createReplicaTrainer } from '../train.js';
import type { GoSignal, InitCommand, ReadySignal, Reply, Request } from './protocol.js';
import { type GradientSlots, ReplicaMemory } from './replica-memory.js';
import type { SharedOptimizerState } from './shared-adamw.js';

const port = parentPort;
if (!port) throw new Error('@staircase/backend-tfjs parallel-worker must run as a worker thread');

let trainer: Trainer | undefined;
let link: WorkerLink | undefined;
let queue: Promise<void> = Promise.resolve();

/** The worker's side of the replica group: publish and barrier by "ready" → wait for "go". */
class WorkerLink implements ReplicaLink {
  private seq = 0;
  private shares = 0;
  private readonly waiting = new Map<number, () => void>();
  private readonly arrived = new Set<number>();

  constructor(
    readonly index: number,
    readonly count: number,
    private readonly slots: GradientSlots,
    readonly optimizer: SharedOptimizerState,
  ) {}

  async share(local: Float32Array): Promise<void> {
    this.slots.write(++this.shares, this.index, local);
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
    port!.postMessage({ op: 'reduce-ready', seq } satisfies ReadySignal);
    if (!this.arrived.delete(seq)) await new Promise<void>((resolve) => this.waiting.set(seq, resolve));
  }

  go(seq: number): void {
    const resolve = this.waiting.get(seq);
    if (resolve) {
      this.waiting.delete(seq);
      resolve();
    } else this.arrived.add(seq);
  }
}

async function init(cmd: InitCommand): Promise<void> {
  // Kind modules register their model kinds in core's registry as a side effect.
  for (const spec of cmd.kindModules) await import(spec);
  const { tf } = await selectBackend({ backend: cmd.backend });
  const model = createModel(cmd.config);
  const shared = new ReplicaMemory(cmd.memory, cmd.count, cmd.width);
  link = new WorkerLink(cmd.index, cmd.count, shared.slots, shared.optimizer);
  trainer = createReplicaTrainer(model, { ...cmd.options, tf }, link);
}

async function handle(req: Request): Promise<unknown> {
  if (req.op === 'init') return init(req);
  if (!trainer) throw new Error('internal: worker used before init');
  switch (req.op) {
    case 'step':
      return trainer.step(req.batch);
    case 'reset':
      return trainer.reset(req.which);
    case 'setParams':
      return trainer.setParams(req.values);
    case 'restore':
      return trainer.restore(req.checkpoint);
    case 'modelState':
      return (await trainer.checkpoint()).modelState;
  }
}

port.on('message', (msg: Request | GoSignal) => {
  if (msg.op === 'reduce-go') {
    link?.go(msg.seq);
    return;
  }
  queue = queue.then(async () => {
    let reply: Reply;
    try {
      reply = { id: msg.id, ok: true, result: await handle(msg) };
    } catch (e) {
      reply = { id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply);
  });
});
