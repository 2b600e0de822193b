import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { algorithmicTask } from './algorithmic.js';
import { randomWalkTask } from './random-walk.js';
import { episodesFromText, generateTaskData, queryIndices, splitSeed, taskEpisodes } from './task-data.js';
import { readTaskSplit, writeTaskFiles } from './task-files.js';

describe('task data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'staircase-task-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('labels index the label vocabulary; -1 marks ignored positions', () => {
    const task = algorithmicTask();
    const data = generateTaskData(task, 20, 1);
    expect(data.tokens.length).toBe(data.labels.length);
    expect(data.episodes).toBe(20);
    for (let i = 0; i < data.tokens.length; i++) {
      const label = data.labels[i] as number;
      if (label >= 0) {
        expect(task.vocabulary[data.tokens[i] as number]).toBe(';');
        expect(label).toBeLessThan(10);
      }
    }
  });

  it('generates on the fly the same episodes as in bulk', () => {
    const task = randomWalkTask({ episodeLength: 16 });
    const it1 = taskEpisodes(task, 3);
    const first = it1.next().value;
    const second = it1.next().value;
    const bulk = generateTaskData(task, 2, 3);
    expect(bulk.tokens.length).toBe(first.tokens.length + second.tokens.length);
    expect(task.vocabulary[bulk.tokens[0] as number]).toBe(first.tokens[0]);
  });

  it('writes text + label files and reads back exactly the generated data', async () => {
    const task = algorithmicTask({ variables: 5, statements: 20 });
    await writeTaskFiles(task, dir, { train: 5, valid: 2, test: 2 }, 42);
    const read = await readTaskSplit(task, dir, 'valid');
    const generated = generateTaskData(task, 2, splitSeed(42, 'valid'));
    expect(read.tokens).toEqual(generated.tokens);
    expect(read.labels).toEqual(generated.labels);
  });

  it('refuses misaligned label files', () => {
    expect(() => episodesFromText('x = 1 ;\n', '_ _ _\n')).toThrow(DataError);
  });

  it('queryIndices numbers the labelled positions of each episode from 0', () => {
    // tokens: L ? R ? END S ?   (END = 4)   labels: _ 1 _ 2 _ _ 0
    expect(Array.from(queryIndices([0, 3, 1, 3, 4, 2, 3], [-1, 1, -1, 2, -1, -1, 0], 4))).toEqual([-1, 0, -1, 1, -1, -1, 0]);
    const task = randomWalkTask({ episodeLength: 20, queryInterval: 4 });
    const data = generateTaskData(task, 7, 3);
    const q = queryIndices(data.tokens, data.labels, task.vocabulary.indexOf('END'));
    const counts = new Map<number, number>();
    for (const i of q) if (i >= 0) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([...counts.entries()].sort(([a], [b]) => a - b)).toEqual([0, 1, 2, 3, 4].map((i) => [i, 7]));
    expect(() => queryIndices([1, 2], [1], 4)).toThrow(DataError);
  });
});
