import { DataError } from '../errors.js';
import { createRng, hashString, mixSeed } from '../util/rng.js';
import { type Episode, IGNORE, type Task } from './task.js';

/** A labelled token stream: ids into the task vocabulary, label indices (`-1` = not scored). */
export interface LabelledData {
  tokens: Int32Array;
  labels: Int32Array;
  /** Number of episodes (programs) concatenated. */
  episodes: number;
}

/** The seed used for one split of a task: the same (seed, split) always gives the same data. */
export function splitSeed(seed: number, split: string): number {
  return mixSeed(seed, hashString(split));
}

/** An endless, seeded stream of episodes, for generating on the fly. */
export function* taskEpisodes(task: Task, seed: number): Generator<Episode, never> {
  const rng = createRng(seed);
  for (;;) yield task.episode(rng);
}

/** Appends an episode's ids to growable buffers. */
class Builder {
  tokens = new Int32Array(1 << 12);
  labels = new Int32Array(1 << 12);
  length = 0;
  episodes = 0;
  private readonly tokenIds: Map<string, number>;
  private readonly labelIds: Map<string, number>;

  constructor(private readonly task: Task) {
    this.tokenIds = new Map(task.vocabulary.map((t, i) => [t, i]));
    this.labelIds = new Map(task.labelNames.map((t, i) => [t, i]));
  }

  add(ep: Episode, where: string): void {
    const need = this.length + ep.tokens.length;
    if (need > this.tokens.length) {
      const size = Math.max(need, this.tokens.length * 2);
      const t = new Int32Array(size);
      const l = new Int32Array(size);
      t.set(this.tokens.subarray(0, this.length));
      l.set(this.labels.subarray(0, this.length));
      this.tokens = t;
      this.labels = l;
    }
    for (let i = 0; i < ep.tokens.length; i++) {
      const tok = ep.tokens[i] as string;
      const lab = ep.labels[i] ?? IGNORE;
      const id = this.tokenIds.get(tok);
      const label = lab === IGNORE ? -1 : this.labelIds.get(lab);
      if (id === undefined) throw new DataError(`${where}: token ${JSON.stringify(tok)} is not in the ${this.task.name} vocabulary`);
      if (label === undefined) throw new DataError(`${where}: label ${JSON.stringify(lab)} is not a ${this.task.name} label`);
      this.tokens[this.length] = id;
      this.labels[this.length] = label;
      this.length++;
    }
    this.episodes++;
  }

  done(): LabelledData {
    return {
      tokens: this.tokens.slice(0, this.length),
      labels: this.labels.slice(0, this.length),
      episodes: this.episodes,
    };
  }
}

/** Generates `episodes` episodes from `seed` and concatenates them into one labelled stream. */
export function generateTaskData(task: Task, episodes: number, seed: number): LabelledData {
  const b = new Builder(task);
  const rng = createRng(seed);
  for (let e = 0; e < episodes; e++) b.add(task.episode(rng), task.name);
  return b.done();
}

/**
 * Text form of episodes, one per line: tokens separated by spaces, and a parallel labels file with
 * one label per token (`_` where not scored).
 */
export function episodesToText(episodes: Iterable<Episode>): { text: string; labels: string } {
  const text: string[] = [];
  const labels: string[] = [];
  for (const ep of episodes) {
    text.push(ep.tokens.join(' '));
    labels.push(ep.labels.join(' '));
  }
  return { text: text.join('\n') + '\n', labels: labels.join('\n') + '\n' };
}

/** Parses what {@link episodesToText} wrote back into episodes; checks that lines and tokens align. */
export function episodesFromText(text: string, labels: string, where = 'task file'): Episode[] {
  const tl = text.split('\n').filter((l) => l.trim() !== '');
  const ll = labels.split('\n').filter((l) => l.trim() !== '');
  if (tl.length !== ll.length) throw new DataError(`${where}: ${tl.length} lines of tokens but ${ll.length} lines of labels`);
  return tl.map((line, i) => {
    const tokens = line.trim().split(/\s+/);
    const labs = (ll[i] as string).trim().split(/\s+/);
    if (tokens.length !== labs.length) {
      throw new DataError(`${where}: line ${i + 1} has ${tokens.length} tokens but ${labs.length} labels`);
    }
    return { tokens, labels: labs };
  });
}

/** Converts parsed episodes to a labelled stream (ids of `task`). */
export function episodesToData(task: Task, episodes: Iterable<Episode>, where = task.name): LabelledData {
  const b = new Builder(task);
  for (const ep of episodes) b.add(ep, where);
  return b.done();
}

/**
 * For every position of a labelled stream, the index of its label within its episode (program):
 * `0` for an episode's first labelled position, `1` for the next, …; `-1` where nothing is scored.
 * Episodes end at `endToken` (the `END` id), so a model with a bounded window can be seen right
 * on early queries and wrong on late ones.
 *
 * @example
 * ```ts
 * // tokens  L ? R ? END S ?    labels  _ 1 _ 2 _ _ 0
 * queryIndices(tokens, labels, endId); // [-1, 0, -1, 1, -1, -1, 0]
 * ```
 */
export function queryIndices(tokens: ArrayLike<number>, labels: ArrayLike<number>, endToken: number): Int32Array {
  if (tokens.length !== labels.length) throw new DataError(`queryIndices: ${tokens.length} tokens but ${labels.length} labels`);
  const out = new Int32Array(tokens.length).fill(-1);
  let k = 0;
  for (let i = 0; i < tokens.length; i++) {
    if ((labels[i] as number) >= 0) out[i] = k++;
    if (tokens[i] === endToken) k = 0;
  }
  return out;
}
