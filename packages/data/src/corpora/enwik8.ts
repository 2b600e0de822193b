import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { FileTokenSource } from '../batching/file-token-source.js';
import type { TokenSource } from '../batching/token-source.js';
import { DataError } from '../errors.js';
import { ByteTokenizer } from '../tokenizers/byte.js';
import { checkKeys } from '../util/options.js';
import type { SplitName } from './split-name.js';

/** Size of enwik8 in bytes. */
export const ENWIK8_BYTES = 100_000_000;
/** Standard split: first 90M bytes train, next 5M valid, last 5M test. */
export const ENWIK8_SPLIT = { train: [0, 90_000_000], valid: [90_000_000, 95_000_000], test: [95_000_000, 100_000_000] } as const;
const HEADER = '<mediawiki';

/** Options of {@link openEnwik8}. */
export interface Enwik8Options {
  /** Check that the file starts like enwik8 (`<mediawiki`). Default true; false accepts a stand-in of the right size. */
  checkContent?: boolean;
}

/** enwik8 as three byte streams read from disk on demand (never loaded whole). */
export interface Enwik8 {
  tokenizer: ByteTokenizer;
  splits: Record<SplitName, TokenSource>;
  close(): void;
}

/**
 * Opens a user-supplied enwik8 file (byte-level, 256 symbols) with the standard 90M/5M/5M split.
 *
 * @throws DataError when the file is missing, is not 100 000 000 bytes, or (unless
 * `checkContent: false`) does not start with `<mediawiki`.
 */
export function openEnwik8(path: string, options: Enwik8Options = {}): Enwik8 {
  checkKeys(options, ['checkContent'], 'enwik8');
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new DataError(`no such file: ${path} (expected the 100 000 000-byte enwik8 file)`);
  }
  if (size !== ENWIK8_BYTES) {
    throw new DataError(`${path} has ${size} bytes, but enwik8 has exactly 100 000 000: pass the unzipped enwik8 file`);
  }
  if (options.checkContent ?? true) {
    const head = Buffer.alloc(HEADER.length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString('latin1') !== HEADER) {
      throw new DataError(`${path} does not start with "${HEADER}" like enwik8 does: pass the unzipped enwik8 file (or checkContent: false for a stand-in)`);
    }
  }
  const source = (name: SplitName): FileTokenSource => {
    const [start, end] = ENWIK8_SPLIT[name];
    return new FileTokenSource(path, { offset: start, length: end - start, bytesPerId: 1 });
  };
  const splits = { train: source('train'), valid: source('valid'), test: source('test') };
  return {
    tokenizer: new ByteTokenizer(),
    splits,
    close() {
      for (const s of Object.values(splits)) s.close();
    },
  };
}
