import type { Batch } from '../batching/batch.js';

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
  /** Labelled tasks with a query index: the error rate by the query's index within its episode. */
  byPosition?: PositionError[];
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

/** {@link EpisodeBounds} of a split's tokens whose episodes end with token `end`. */
export function episodeBounds(tokens: ArrayLike<number>, end: number): EpisodeBounds {
  return { end, startsEpisode: (offset) => offset === 0 || tokens[offset - 1] === end };
}

/** What one token of a tokenizer kind is, as metrics name it: `byte`, `char`, `word`, or `token` (BPE). */
export function tokenUnit(kind: string): string {
  return ({ byte: 'byte', char: 'char', word: 'word' } as Record<string, string>)[kind] ?? 'token';
}

/**
 * Sums a split's scores batch by batch, whatever computed them (TensorFlow.js, ONNX Runtime in
 * Node or in a browser): log-probabilities of the targets and argmax predictions per position.
 * Every runtime that scores a split through it reports the same figures for the same numbers.
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
    private readonly dataset: { readonly tokenizer: { readonly kind: string }; readonly labelled: boolean },
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
