/**
 * One training or evaluation step for a recurrent model: `batch` rows of `length` tokens each,
 * row-major (`tokens[row * length + t]`).
 */
export interface Batch {
  /** Input ids, `batch * length`, row-major. */
  tokens: Int32Array;
  /**
   * Target per position: the next token (language modelling) or the label index at the same
   * position (labelled tasks). `0` where `mask` is 0.
   */
  targets: Int32Array;
  /** 1 where the position is scored, 0 where it is ignored (padding, `_` labels). */
  mask: Float32Array;
  /** Per row: the model must clear its carried state before this segment. */
  reset: boolean[];
  /** Epoch of this batch (0-based). */
  epoch: number;
  /** Index of this batch within its epoch (0-based). */
  step: number;
  /**
   * Per row: the offset in the split of the row's first position in this batch (`-1` for an empty
   * row). Lets evaluation attribute a score to where it sits in the data, e.g. a query's index
   * within its episode. Batches from {@link createBatcher} always carry it.
   */
  starts?: Int32Array;
  /** Rows `B`. */
  batch: number;
  /** Positions per row `M`. */
  length: number;
}

/**
 * Where a batcher is: pass it back as `{ position }` to continue with exactly the batches that
 * would have come next. JSON-serialisable.
 */
export interface BatcherPosition {
  epoch: number;
  step: number;
  /** Identifies the data and settings; resuming with other ones is refused. */
  fingerprint: string;
}
