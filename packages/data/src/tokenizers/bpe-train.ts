import { DataError } from '../errors.js';
import { checkInt, checkKeys } from '../util/options.js';
import { BpeTokenizer, pairKey } from './bpe.js';
import { MaxHeap } from './max-heap.js';
import { pretokenize } from './pretokenize.js';

/** Options of {@link trainBpe}. */
export interface TrainBpeOptions {
  /** Final vocabulary size: 256 bytes + merges + specials. Default 1024. */
  vocabSize?: number;
  /** Special symbols appended after the merges. Default none. */
  specials?: readonly string[];
  /** Pairs seen fewer times than this are never merged (training may stop early). Default 2. */
  minCount?: number;
}

const encoder = new TextEncoder();

/**
 * Trains a byte-level BPE on `text` (a string or an iterable of strings, e.g. documents).
 *
 * Classic greedy algorithm: count pieces (see `pretokenize`), then repeatedly merge the most
 * frequent adjacent pair (ties: the smallest pair of ids), updating only the pieces that hold it.
 * Deterministic for a given input.
 *
 * @example
 * ```ts
 * const bpe = trainBpe(text, { vocabSize: 512 });
 * bpe.decode(bpe.encode(text)) === text;
 * ```
 */
export function trainBpe(text: string | Iterable<string>, options: TrainBpeOptions = {}): BpeTokenizer {
  checkKeys(options, ['vocabSize', 'specials', 'minCount'], 'trainBpe');
  const specials = [...(options.specials ?? [])];
  const vocabSize = checkInt(options.vocabSize ?? 1024, 'trainBpe: vocabSize', 256 + specials.length, 1_000_000);
  const minCount = checkInt(options.minCount ?? 2, 'trainBpe: minCount', 1);

  const pieceCounts = new Map<string, number>();
  for (const part of typeof text === 'string' ? [text] : text) {
    for (const piece of pretokenize(part)) pieceCounts.set(piece, (pieceCounts.get(piece) ?? 0) + 1);
  }
  if (pieceCounts.size === 0) throw new DataError('trainBpe: the training text is empty');

  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, count] of pieceCounts) {
    words.push(Array.from(encoder.encode(piece)));
    freqs.push(count);
  }

  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const heap = new MaxHeap();
  const addPairs = (w: number, sign: 1 | -1, touched: Set<number>): void => {
    const ids = words[w] as number[];
    const f = (freqs[w] as number) * sign;
    for (let i = 0; i + 1 < ids.length; i++) {
      const key = pairKey(ids[i] as number, ids[i + 1] as number);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + f);
      touched.add(key);
      if (sign > 0) {
        const set = where.get(key);
        if (set) set.add(w);
        else where.set(key, new Set([w]));
      }
    }
  };
  const initial = new Set<number>();
  for (let w = 0; w < words.length; w++) addPairs(w, 1, initial);
  for (const key of initial) heap.push(pairCounts.get(key) as number, key);

  const merges: [number, number][] = [];
  const target = vocabSize - 256 - specials.length;
  while (merges.length < target) {
    const top = heap.pop();
    if (!top) break;
    const [count, key] = top;
    if (pairCounts.get(key) !== count) continue; // stale entry
    if (count < minCount) break;
    const a = Math.floor(key / 2_097_152);
    const b = key - a * 2_097_152;
    const id = 256 + merges.length;
    merges.push([a, b]);
    const touched = new Set<number>();
    for (const w of where.get(key) ?? []) {
      const ids = words[w] as number[];
      addPairs(w, -1, touched);
      const merged: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          merged.push(id);
          i++;
        } else merged.push(ids[i] as number);
      }
      words[w] = merged;
      addPairs(w, 1, touched);
    }
    pairCounts.delete(key);
    where.delete(key);
    for (const k of touched) {
      const c = pairCounts.get(k);
      if (c === undefined) continue;
      if (c <= 0) {
        pairCounts.delete(k);
        where.delete(k);
      } else heap.push(c, k);
    }
  }
  return new BpeTokenizer(merges, specials);
}
