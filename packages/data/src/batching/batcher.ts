import { DataError } from '../errors.js';
import { checkInt, checkKeys } from '../util/options.js';
import { createRng, mixSeed } from '../util/rng.js';
import type { Batch, BatcherPosition } from './batch.js';
import { RowSchedule } from './row-schedule.js';
import type { TokenSource } from './token-source.js';

/** Options of {@link createBatcher}. */
export interface BatcherOptions {
  /** The split's token ids. */
  tokens: TokenSource;
  /**
   * Label indices at the same positions (`-1` = not scored). When given, targets are these labels;
   * otherwise targets are the next tokens.
   */
  labels?: TokenSource;
  /** Rows per batch `B`. */
  batch: number;
  /** Positions per segment `M`. */
  length: number;
  /** Seed of the per-epoch random start offset. Default 0. */
  seed?: number;
  /** Rotate the stream by a random offset each epoch (training). Default true. */
  randomOffset?: boolean;
  /** Stop after this many epochs. Default: never (training); 1 for evaluation. */
  epochs?: number;
  /** Continue from a position returned by `position()`. */
  position?: BatcherPosition;
}

/** Iterates batches; see {@link createBatcher}. */
export interface Batcher extends IterableIterator<Batch> {
  /** Rows `B`. */
  readonly batch: number;
  /** Positions per segment `M`. */
  readonly length: number;
  /** Scored positions per epoch (tokens − 1 for language modelling, tokens for labelled data). */
  readonly positionsPerEpoch: number;
  /** Batches in epoch `epoch` (can differ by one between epochs because of the offset). */
  stepsPerEpoch(epoch: number): number;
  /** Where the next batch comes from; JSON-serialisable. */
  position(): BatcherPosition;
}

/**
 * Batches a token stream for a model that carries state from segment to segment.
 *
 * The stream (rotated by a seeded random offset each epoch) is cut into `batch` contiguous rows;
 * batch `step` holds segment `step` of every row, so row `b` of consecutive batches continues the
 * same text. A row that reaches the end of the stream continues from its start in a new segment
 * with `reset[b] = true` (as does every row at the start of an epoch). Every scored position is
 * yielded exactly once per epoch; the tail of a row's last segment is masked. Evaluation: use
 * `{ randomOffset: false, epochs: 1 }` (see {@link evalBatcher}).
 *
 * @example
 * ```ts
 * const batcher = createBatcher({ tokens: split.tokens, batch: 8, length: 128, seed: 1 });
 * for (const b of batcher) { train(b); if (done) { save(batcher.position()); break; } }
 * const resumed = createBatcher({ ...sameOptions, position: saved }); // the same remaining batches
 * ```
 */
export function createBatcher(options: BatcherOptions): Batcher {
  checkKeys(options, ['tokens', 'labels', 'batch', 'length', 'seed', 'randomOffset', 'epochs', 'position'], 'createBatcher');
  const { tokens, labels } = options;
  if (!tokens || typeof tokens.read !== 'function') throw new DataError('createBatcher: "tokens" must be a TokenSource');
  const B = checkInt(options.batch, 'createBatcher: batch', 1);
  const M = checkInt(options.length, 'createBatcher: length', 1);
  const seed = checkInt(options.seed ?? 0, 'createBatcher: seed', 0, 0xffffffff);
  const randomOffset = options.randomOffset ?? true;
  const epochs = options.epochs ?? Number.POSITIVE_INFINITY;
  if (epochs !== Number.POSITIVE_INFINITY) checkInt(epochs, 'createBatcher: epochs', 1);
  if (labels && labels.length !== tokens.length) {
    throw new DataError(`createBatcher: ${tokens.length} tokens but ${labels.length} labels`);
  }
  const P = labels ? tokens.length : tokens.length - 1;
  if (P < B) {
    throw new DataError(`createBatcher: the split has ${Math.max(P, 0)} scored positions, fewer than batch = ${B} rows: use a smaller batch`);
  }
  const fingerprint = `v1 n=${tokens.length} labelled=${labels ? 1 : 0} batch=${B} length=${M} seed=${seed} offset=${randomOffset ? 1 : 0}`;

  const offsetOf = (epoch: number): number => (randomOffset ? createRng(mixSeed(seed, epoch)).int(P) : 0);
  let schedule: RowSchedule | null = null;
  let scheduleEpoch = -1;
  const scheduleFor = (epoch: number): RowSchedule => {
    if (scheduleEpoch !== epoch || !schedule) {
      schedule = new RowSchedule(P, B, M, offsetOf(epoch));
      scheduleEpoch = epoch;
    }
    return schedule;
  };

  let epoch = 0;
  let step = 0;
  if (options.position) {
    const pos = options.position;
    if (pos.fingerprint !== fingerprint) {
      throw new DataError(`createBatcher: the saved position is for other data or settings (${pos.fingerprint}), not (${fingerprint})`);
    }
    epoch = checkInt(pos.epoch, 'createBatcher: position.epoch', 0);
    step = checkInt(pos.step, 'createBatcher: position.step', 0);
    if (epoch < epochs && step >= scheduleFor(epoch).steps) {
      throw new DataError(`createBatcher: position.step ${step} is past the end of epoch ${epoch}`);
    }
  }

  const scratch = new Int32Array(M + 1);
  const make = (): Batch => {
    const s = scheduleFor(epoch);
    const starts = new Int32Array(B).fill(-1);
    const out: Batch = {
      tokens: new Int32Array(B * M),
      targets: new Int32Array(B * M),
      mask: new Float32Array(B * M),
      reset: new Array<boolean>(B).fill(false),
      starts,
      epoch,
      step,
      batch: B,
      length: M,
    };
    for (let b = 0; b < B; b++) {
      const seg = s.segment(b, step, M);
      out.reset[b] = seg.reset;
      if (seg.count === 0) continue;
      starts[b] = seg.start;
      const at = b * M;
      if (labels) {
        tokens.read(seg.start, seg.count, out.tokens, at);
        labels.read(seg.start, seg.count, scratch, 0);
        for (let i = 0; i < seg.count; i++) {
          const label = scratch[i] as number;
          if (label >= 0) {
            out.targets[at + i] = label;
            out.mask[at + i] = 1;
          }
        }
      } else {
        tokens.read(seg.start, seg.count + 1, scratch, 0);
        out.tokens.set(scratch.subarray(0, seg.count), at);
        out.targets.set(scratch.subarray(1, seg.count + 1), at);
        out.mask.fill(1, at, at + seg.count);
      }
    }
    return out;
  };

  const batcher: Batcher = {
    batch: B,
    length: M,
    positionsPerEpoch: P,
    stepsPerEpoch: (e) => scheduleFor(checkInt(e, 'stepsPerEpoch: epoch', 0)).steps,
    position: () => ({ epoch, step, fingerprint }),
    next(): IteratorResult<Batch> {
      if (epoch >= epochs) return { done: true, value: undefined };
      const value = make();
      step++;
      if (step >= scheduleFor(epoch).steps) {
        epoch++;
        step = 0;
      }
      return { done: false, value };
    },
    [Symbol.iterator]() {
      return batcher;
    },
  };
  return batcher;
}

/** Evaluation batches: the whole split exactly once, no offset, last segments masked. */
export function evalBatcher(options: Omit<BatcherOptions, 'randomOffset' | 'epochs' | 'seed'>): Batcher {
  return createBatcher({ ...options, randomOffset: false, epochs: 1 });
}
