/**
 * Splits text into BPE "words" (GPT-2 style, without the English contraction rules): a run of
 * letters, digits or other symbols with at most one leading space, or a run of whitespace.
 * Concatenating the pieces gives back the text. A piece never joins a non-space character to a
 * following space, so text cut just before a whitespace run that follows a non-space character
 * pre-tokenizes the same in parts as whole (streaming relies on this).
 */
const PIECE = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The pieces of `text`, in order. */
export function pretokenize(text: string): string[] {
  return text.match(PIECE) ?? [];
}

/**
 * Index at which `text` can be cut so that `pretokenize(a) ++ pretokenize(b)` equals
 * `pretokenize(a + b)`: the start of the last whitespace run that follows a non-space character.
 * Returns 0 when there is no such place.
 */
export function safeCut(text: string): number {
  for (let i = text.length - 1; i > 0; i--) {
    if (/\s/.test(text[i] as string) && !/\s/.test(text[i - 1] as string)) return i;
  }
  return 0;
}
