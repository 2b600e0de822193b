/**
 * A benchmark setting the caller got wrong: an unknown size, model, backend or ONNX Runtime device,
 * or a count out of range. Its message is one line that names the setting as the `staircase bench`
 * command line spells it (`--kinds`, `--onnx-devices`, …) and says what is accepted, so that a
 * command line can print it alone, without a stack trace (match on `name`, which survives the
 * package's ESM and CommonJS builds being loaded side by side, where `instanceof` may not).
 *
 * @example
 * ```ts
 * try {
 *   await runBench({ kinds: ['lstm'] });
 * } catch (e) {
 *   if (e instanceof Error && e.name === 'BenchmarkError') console.error(e.message);
 *   else throw e;
 * }
 * ```
 */
export class BenchmarkError extends Error {
  override readonly name = 'BenchmarkError';
}

/** The first line of what was thrown, for a report's one-line `error` and `reason` fields. */
export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
