import { closeSync, openSync, readSync } from 'node:fs';
import { DataError } from '../errors.js';
import type { CorpusFile } from './files.js';

/** Bytes `[start, end)` of one file. */
export interface ByteRegion {
  path: string;
  start: number;
  end: number;
}

/** Total bytes of some regions. */
export const regionBytes = (regions: readonly ByteRegion[]): number => regions.reduce((n, r) => n + r.end - r.start, 0);

/** The byte at `offset` of the concatenation of `files`, read from disk. */
function byteAt(files: readonly CorpusFile[], offset: number): number {
  let at = offset;
  for (const f of files) {
    if (at < f.size) {
      const fd = openSync(f.path, 'r');
      try {
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, at);
        return b[0] as number;
      } finally {
        closeSync(fd);
      }
    }
    at -= f.size;
  }
  return 0;
}

/**
 * Splits the concatenation of `files` into contiguous train / valid / test byte ranges by
 * `fractions` (default 90 % / 5 % / 5 %, like enwik8). Each cut is moved forward to the start of a
 * UTF-8 character so every split decodes as text. Deterministic.
 */
export function splitRegions(
  files: readonly CorpusFile[],
  fractions: readonly [number, number, number],
  where: string,
): [ByteRegion[], ByteRegion[], ByteRegion[]] {
  const total = files.reduce((n, f) => n + f.size, 0);
  const sum = fractions[0] + fractions[1] + fractions[2];
  if (fractions.some((f) => !(f > 0)) || Math.abs(sum - 1) > 1e-9) {
    throw new DataError(`${where}: split fractions must be three positive numbers adding up to 1, got ${fractions.join(', ')}`);
  }
  const cuts = [0, Math.floor(total * fractions[0]), Math.floor(total * (fractions[0] + fractions[1])), total];
  for (const i of [1, 2]) {
    let c = cuts[i] as number;
    for (let k = 0; k < 4 && c < total && ((byteAt(files, c) & 0xc0) === 0x80); k++) c++;
    cuts[i] = c;
  }
  const parts: [ByteRegion[], ByteRegion[], ByteRegion[]] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    const lo = cuts[s] as number;
    const hi = cuts[s + 1] as number;
    if (hi <= lo) {
      const name = ['train', 'valid', 'test'][s];
      throw new DataError(`${where}: ${total} bytes are too few to split: the ${name} split would be empty`);
    }
    let base = 0;
    for (const f of files) {
      const start = Math.max(lo, base);
      const end = Math.min(hi, base + f.size);
      if (end > start) (parts[s] as ByteRegion[]).push({ path: f.path, start: start - base, end: end - base });
      base += f.size;
    }
  }
  return parts;
}

/** Copies the bytes of `region` into `out` at `offset`. */
export function readRegionInto(region: ByteRegion, out: Uint8Array, offset: number): void {
  const fd = openSync(region.path, 'r');
  try {
    let got = 0;
    const n = region.end - region.start;
    while (got < n) {
      const r = readSync(fd, out, offset + got, n - got, region.start + got);
      if (r === 0) throw new DataError(`${region.path} is shorter than expected: it changed while being read`);
      got += r;
    }
  } finally {
    closeSync(fd);
  }
}
