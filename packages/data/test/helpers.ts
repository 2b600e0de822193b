import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../src/index.js';

/** A fresh temp folder and a function removing it. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'staircase-data-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes a sparse 100 000 000-byte enwik8 stand-in: optional header, a few text blocks, zeros
 * elsewhere (cheap: the file system stores the holes as nothing).
 */
export function writeEnwik8StandIn(path: string, options: { header?: boolean; size?: number } = {}): void {
  const fd = openSync(path, 'w');
  try {
    const size = options.size ?? 100_000_000;
    if (options.header ?? true) writeSync(fd, Buffer.from('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.3/">\n'), 0, undefined, 0);
    const block = Buffer.from('<page><title>Stand-in</title><text>Hello, enwik8.</text></page>\n');
    for (const at of [90_000_000, 95_000_000, size - block.length]) if (at >= 0 && at < size) writeSync(fd, block, 0, block.length, at);
    writeSync(fd, Buffer.from([0x0a]), 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
}

/** Runs `fn` and returns the DataError it throws (fails the test otherwise). */
export async function dataError(fn: () => unknown): Promise<DataError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof DataError) {
      if (e.message.includes('\n')) throw new Error(`DataError message has several lines: ${e.message}`);
      return e;
    }
    throw e;
  }
  throw new Error('expected a DataError');
}

/** Whether two id arrays are equal (fast for millions of ids, unlike a deep equality). */
export function sameIds(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
