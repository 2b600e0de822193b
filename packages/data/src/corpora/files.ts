import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError } from '../errors.js';

/** A file of a corpus and its size in bytes. */
export interface CorpusFile {
  path: string;
  size: number;
}

/**
 * Expands files and folders (recursively; hidden entries skipped) into a sorted list of files.
 *
 * @throws DataError for a missing path, an empty file given by name, or nothing to read.
 */
export function listCorpusFiles(paths: readonly string[]): CorpusFile[] {
  if (paths.length === 0) throw new DataError('no corpus path given: pass text:PATH[,PATH...]');
  const out: CorpusFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size > 0) out.push({ path: p, size: st.size });
    }
  };
  for (const raw of paths) {
    const p = resolve(raw);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw new DataError(`no such file or folder: ${raw}`);
    }
    if (st.isDirectory()) {
      const before = out.length;
      walk(p);
      if (out.length === before) throw new DataError(`folder ${raw} holds no non-empty files`);
    } else if (st.size === 0) {
      throw new DataError(`${raw} is empty: a corpus needs at least one byte of text`);
    } else out.push({ path: p, size: st.size });
  }
  return out;
}
