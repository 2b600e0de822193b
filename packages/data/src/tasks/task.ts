import type { Rng } from '../util/rng.js';

/** The label of a position that is not scored. */
export const IGNORE = '_';

/** One program or episode: a token per position and a label per position (`_` = not scored). */
export interface Episode {
  tokens: string[];
  labels: string[];
}

/**
 * A synthetic labelled task. The model reads `tokens`; at each position its target is the label at
 * that same position (not the next token), scored only where the label is not `_`.
 */
export interface Task {
  /** E.g. `algorithmic:3var`, `random-walk`. */
  readonly name: string;
  /** Every token an episode can contain (the word tokenizer's vocabulary, in id order). */
  readonly vocabulary: readonly string[];
  /** Every label other than `_`, in label-index order. */
  readonly labelNames: readonly string[];
  /** The parameters in force (JSON-safe). */
  readonly params: Readonly<Record<string, number | string | readonly string[]>>;
  /** Draws one episode. */
  episode(rng: Rng): Episode;
  /** Re-executes an episode and returns every way it breaks the task's rules (empty when valid). */
  check(episode: Episode): string[];
}
