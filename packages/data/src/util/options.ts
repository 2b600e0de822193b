import { DataError } from '../errors.js';

/**
 * Refuses option keys that are not in `allowed`, so a misspelt option never silently falls back to
 * its default.
 *
 * @param where - a short name of the function that received the options, used in the message
 */
export function checkKeys(options: object | undefined, allowed: readonly string[], where: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') {
    throw new DataError(`${where}: options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new DataError(`${where}: unknown option "${key}" (valid options: ${allowed.join(', ')})`);
    }
  }
}

/** Throws a DataError unless `value` is an integer in `[min, max]`. Returns the value. */
export function checkInt(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new DataError(`${name} must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}
