import type { ModelState } from '@staircase/core';
import { type Tensor, disposeReplaced } from '@staircase/backend-tfjs';
import { type Batch, type Batcher, type DataSplit, type Dataset, queryIndices } from '@staircase/data';
import { UsageError } from './errors.js';
import type { Session } from './session.js';

/** Error rate of the queries at one index within their episode (program). */
export interface PositionError {
  /** 0 = an episode's first labelled position. */
  index: number;
  /** Labelled positions at this index. */
  count: number;
  errorRate: number;
}

/** Scores of a model on a split. */
export interface EvalMetrics {
  split: string;
  /** Mean cross-entropy in nats per scored position. */
  loss: number;
  /** Bits per scored token (= bits per byte for byte-level data, per character for char-level). */
  bitsPerToken: number;
  /** What a token is: `byte`, `char`, `word` or `token` (BPE). */
  unit: string;
  perplexity: number;
  /** Labelled tasks: fraction of labelled positions whose argmax is wrong. */
  errorRate?: number;
  /** Positions scored. */
  count: number;
  /** Labelled tasks: positions not scored because their row started inside the episode (see {@link EpisodeBounds}). */
  skipped?: number;
  /** Labelled tasks with `byPosition`: the error rate by the query's index within its episode. */
  byPosition?: PositionError[];
}

/** How to score a split. */
export interface EvalOptions {
  batch: number;
  length: number;
  /** Score only the first N batches (periodic evaluation). */
  maxBatches?: number;
  /** Labelled tasks: also tally errors by the query's index within its episode. */
  byPosition?: boolean;
  /** Called after each batch with the batches done and the batches to do (e.g. a progress bar). */
  onBatch?: (done: number, total: number) => void;
}

/** The batches an evaluation of `batcher` goes through: the whole split once, or `maxBatches`. */
export function batchesToScore(batcher: Batcher, options: Pick<EvalOptions, 'maxBatches'>): number {
  const all = batcher.stepsPerEpoch(0);
  return options.maxBatches === undefined ? all : Math.min(all, options.maxBatches);
}

/**
 * For `byPosition`: each position's query index within its episode (see `queryIndices`).
 * @throws UsageError when the data is not a labelled task.
 */
export function splitQueryIndex(dataset: Pick<Dataset, 'labelled' | 'task' | 'name'>, split: DataSplit): Int32Array {
  const end = dataset.task?.vocabulary.indexOf('END') ?? -1;
  if (!dataset.labelled || end < 0) throw new UsageError(`--by-position needs a labelled task (random-walk, algorithmic:*); ${dataset.name} is language data`);
  const { tokens, labels } = split.toArrays();
  return queryIndices(tokens, labels as Int32Array, end);
}

/** The tally for `options`: by position when asked; tasks skip what a row cannot know (see {@link EpisodeBounds}). */
export function tallyFor(dataset: Dataset, split: DataSplit, options: EvalOptions): EvalTally {
  const end = dataset.task?.vocabulary.indexOf('END') ?? -1;
  let bounds: EpisodeBounds | undefined;
  if (dataset.labelled && end >= 0) {
    const tokens = split.toArrays().tokens;
    bounds = { end, startsEpisode: (offset) => offset === 0 || tokens[offset - 1] === end };
  }
  return new EvalTally(split.name, dataset, options.byPosition ? splitQueryIndex(dataset, split) : undefined, bounds);
}

/**
 * Where episodes start, for labelled tasks. An evaluation row that starts inside an episode has
 * not seen that episode's start, so its answers there cannot be known (a walker's cell, a
 * variable's value): those positions, up to the row's first `END`, are not scored but counted
 * as `skipped`.
 */
export interface EpisodeBounds {
  /** The `END` token id. */
  end: number;
  /** Whether split offset `offset` is the first token of an episode. */
  startsEpisode: (offset: number) => boolean;
}

/**
 * Evaluates the session's weights on `split` with the models' carried state (the same way they
 * are trained): the whole split once, unless `maxBatches` caps it (periodic evaluation).
 */
export async function evaluateSplit(
  session: Session,
  split: DataSplit,
  options: EvalOptions,
): Promise<EvalMetrics> {
  const { trainer, model, dataset } = session;
  const { tf, ops } = trainer;
  const batcher = split.evalBatcher({ batch: options.batch, length: options.length });
  const tally = tallyFor(dataset, split, options);
  const total = batchesToScore(batcher, options);
  options.onBatch?.(0, total);
  let state: ModelState<Tensor> | null = null;
  for (let next = batcher.next(); !next.done; next = batcher.next()) {
    const b: Batch = next.value;
    if (b.reset.some(Boolean)) {
      disposeReplaced(state, null);
      state = null;
    }
    const previous = state;
    const out = tf.tidy(() => {
      const { logits, state: s } = model.forward(ops, trainer.params, ops.constantInt(b.tokens, [b.batch, b.length]), previous);
      const logp = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor(b.targets, [b.batch, b.length], 'int32'), logits.shape[2]!)), -1);
      return { picked, argmax: tf.argMax(logits, -1), state: s as unknown as Tensor };
    });
    // Asynchronous reads: WebGPU in Node has no synchronous read-back (it needs OffscreenCanvas).
    const picked = await out.picked.data();
    const argmax = await out.argmax.data();
    tf.dispose([out.picked, out.argmax]);
    state = out.state as unknown as ModelState<Tensor>;
    disposeReplaced(previous, state);
    tally.add(b, picked, argmax);
    options.onBatch?.(tally.batches, total);
    if (options.maxBatches !== undefined && tally.batches >= options.maxBatches) break;
  }
  disposeReplaced(state, null);
  return tally.metrics();
}

/**
 * Sums a split's scores batch by batch, whatever computed them (TensorFlow.js here, ONNX Runtime
 * for `--runtime onnx`): log-probabilities of the targets and argmax predictions per position.
 */
export class EvalTally {
  private nll = 0;
  private count = 0;
  private wrong = 0;
  private readonly byIndex: { count: number; wrong: number }[] = [];
  private skipped = 0;
  /** Per row: still inside the episode the row started in (not scored). */
  private blind: boolean[] = [];
  batches = 0;

  /**
   * `queryIndex`: per split offset, the query's index within its episode (`-1` = none), to tally by
   * position. `bounds`: labelled tasks, to skip what a row cannot know.
   */
  constructor(
    private readonly split: string,
    private readonly dataset: Pick<Dataset, 'tokenizer' | 'labelled'>,
    private readonly queryIndex?: Int32Array,
    private readonly bounds?: EpisodeBounds,
  ) {}

  /** Adds one batch: `picked` = log p(target), `argmax` = predicted id, per position (row-major). */
  add(b: Batch, picked: ArrayLike<number>, argmax: ArrayLike<number>): void {
    if ((this.queryIndex || this.bounds) && !b.starts) throw new Error('EvalTally: batches must carry their starts');
    if (this.bounds) {
      for (let row = 0; row < b.batch; row++) {
        if (b.reset[row] && b.starts![row]! >= 0) this.blind[row] = !this.bounds.startsEpisode(b.starts![row]!);
      }
    }
    for (let i = 0; i < b.mask.length; i++) {
      const row = Math.floor(i / b.length);
      if (this.blind[row]) {
        if (b.mask[i] !== 0) this.skipped++;
        if (b.tokens[i] === this.bounds!.end) this.blind[row] = false;
        continue;
      }
      if (b.mask[i] === 0) continue;
      this.nll -= picked[i]!;
      this.count++;
      const wrong = argmax[i] !== b.targets[i];
      if (wrong) this.wrong++;
      if (this.queryIndex) {
        const q = this.queryIndex[b.starts![row]! + (i % b.length)]!;
        this.byIndex[q] ??= { count: 0, wrong: 0 };
        const cell = this.byIndex[q];
        cell.count++;
        if (wrong) cell.wrong++;
      }
    }
    this.batches++;
  }

  metrics(): EvalMetrics {
    const loss = this.nll / Math.max(this.count, 1);
    return {
      split: this.split,
      loss,
      bitsPerToken: loss / Math.LN2,
      unit: tokenUnit(this.dataset.tokenizer.kind),
      perplexity: Math.exp(loss),
      ...(this.dataset.labelled ? { errorRate: this.wrong / Math.max(this.count, 1) } : {}),
      count: this.count,
      ...(this.bounds ? { skipped: this.skipped } : {}),
      ...(this.queryIndex
        ? { byPosition: Array.from(this.byIndex, (c, index) => ({ index, count: c?.count ?? 0, errorRate: c && c.count > 0 ? c.wrong / c.count : 0 })) }
        : {}),
    };
  }
}

/** What one token of a tokenizer kind is, as metrics name it: `byte`, `char`, `word`, or `token` (BPE). */
export function tokenUnit(kind: string): string {
  return ({ byte: 'byte', char: 'char', word: 'word' } as Record<string, string>)[kind] ?? 'token';
}

/** The headline metric of a dataset for reports: error rate for tasks, bits per token otherwise. */
export function headline(m: EvalMetrics): string {
  if (m.errorRate !== undefined) return `error ${(100 * m.errorRate).toFixed(2)}% (loss ${m.loss.toFixed(4)})`;
  return `${m.bitsPerToken.toFixed(4)} bits/${m.unit}, perplexity ${m.perplexity.toFixed(3)} (loss ${m.loss.toFixed(4)})`;
}
