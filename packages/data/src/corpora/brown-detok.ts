const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}', "''", "'", '%']);
const NO_SPACE_AFTER = new Set(['(', '[', '{', '``', '$']);
const MAP: Record<string, string> = { '``': '"', "''": '"' };

/**
 * Joins Brown-corpus tokens into running text: `` `` `` and `''` become `"`, and punctuation
 * attaches to its neighbour (`word ,` → `word,`, `( word` → `(word`).
 *
 * @example
 * ```ts
 * detokenize(['``', 'Hi', "''", ',', 'he', 'said', '.']); // '"Hi", he said.'
 * ```
 */
export function detokenize(tokens: readonly string[]): string {
  let out = '';
  let glueNext = true;
  for (const tok of tokens) {
    if (!glueNext && !NO_SPACE_BEFORE.has(tok)) out += ' ';
    out += MAP[tok] ?? tok;
    glueNext = NO_SPACE_AFTER.has(tok);
  }
  return out;
}

/** Strips the POS tag of one `word/tag` item (the tag follows the last `/`). */
export function stripTag(item: string): string {
  const slash = item.lastIndexOf('/');
  return slash > 0 ? item.slice(0, slash) : item;
}
