/** A mistake of the user's (bad flag, missing run, mismatch); the CLI prints its message alone. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// Errors the packages raise for user mistakes: their messages are one actionable line.
const USER_ERRORS = new Set(['UsageError', 'ConfigError', 'DataError', 'CheckpointError', 'BackendUnavailableError', 'ExportError', 'OnnxModelError', 'BenchmarkError']);

/** Whether `e` reports a user's mistake (print the message, no stack trace). */
export function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}
