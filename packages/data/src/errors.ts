/**
 * The one error type this package throws for user mistakes (bad paths, wrong files, bad options).
 *
 * Its message is a single line that says what was expected and how to fix it, so a CLI can print
 * `error.message` alone instead of a stack trace.
 *
 * @example
 * ```ts
 * try { await openDataset('nope') } catch (e) { if (e instanceof DataError) console.error(e.message) }
 * ```
 */
export class DataError extends Error {
  override readonly name = 'DataError';

  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}
