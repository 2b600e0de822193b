/**
 * Whether a terminal would act on code point `c` instead of showing it: C0 controls other than tab
 * and newline (ESC, carriage return, backspace, bell …), DEL, C1 controls, and the bidirectional
 * overrides and isolates that reorder what follows them.
 */
function isUnprintable(c: number): boolean {
  return (c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/**
 * Text made safe to write to a terminal: each character a terminal would act on (see
 * {@link isUnprintable}) is written as an escape, `\x1b` or `\u202e`; everything else, newlines and
 * tabs included, is kept.
 *
 * @example
 * ```ts
 * escapeUnprintable('a\u001b[2Jb\n'); // 'a\\x1b[2Jb\n'
 * ```
 */
export function escapeUnprintable(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (!isUnprintable(c)) out += ch;
    else out += c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}
