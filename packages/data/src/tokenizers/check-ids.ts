import { DataError } from '../errors.js';

/** Throws a DataError naming the first id of `ids` that is outside `[0, vocabSize)`. */
export function checkIds(ids: ArrayLike<number>, vocabSize: number, kind: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new DataError(
        `${kind} tokenizer: id ${id} at position ${i} is outside its vocabulary of ${vocabSize} (ids 0..${vocabSize - 1})`,
      );
    }
  }
}
