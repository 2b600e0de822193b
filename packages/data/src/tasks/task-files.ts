import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { checkInt } from '../util/options.js';
import { createRng } from '../util/rng.js';
import { type LabelledData, episodesFromText, episodesToData, episodesToText, splitSeed } from './task-data.js';
import type { Episode, Task } from './task.js';

/** Episode counts per split. Default for the paper's tasks: 10 000 / 1 000 / 1 000. */
export interface SplitCounts {
  train: number;
  valid: number;
  test: number;
}

/**
 * Writes `train.txt` + `train.labels`, `valid.*`, `test.*` under `dir` (one episode per line) and
 * returns the paths written. Split `s` uses seed `splitSeed(seed, s)`, as `openDataset` does, so
 * the files hold exactly the data `openDataset` would generate.
 */
export async function writeTaskFiles(task: Task, dir: string, counts: SplitCounts, seed: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const split of ['train', 'valid', 'test'] as const) {
    const n = checkInt(counts[split], `writeTaskFiles: counts.${split}`, 1);
    const rng = createRng(splitSeed(seed, split));
    const episodes: Episode[] = [];
    for (let i = 0; i < n; i++) episodes.push(task.episode(rng));
    const { text, labels } = episodesToText(episodes);
    for (const [ext, body] of [['txt', text], ['labels', labels]] as const) {
      const path = join(dir, `${split}.${ext}`);
      await writeFile(path, body);
      written.push(path);
    }
  }
  return written;
}

/** Reads one split written by {@link writeTaskFiles} and validates every episode with `task.check`. */
export async function readTaskSplit(task: Task, dir: string, split: 'train' | 'valid' | 'test'): Promise<LabelledData> {
  const read = async (path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch {
      throw new DataError(`cannot read ${path}: expected files written by writeTaskFiles`);
    }
  };
  const textPath = join(dir, `${split}.txt`);
  const episodes = episodesFromText(await read(textPath), await read(join(dir, `${split}.labels`)), textPath);
  episodes.forEach((ep, i) => {
    const problems = task.check(ep);
    if (problems.length > 0) throw new DataError(`${textPath}: episode ${i + 1} is not a valid ${task.name} episode: ${problems[0]}`);
  });
  return episodesToData(task, episodes, textPath);
}
