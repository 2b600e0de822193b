import { describe, expect, it } from 'vitest';
import { createRng } from '../util/rng.js';
import { randomWalkTask } from './random-walk.js';

describe('random-walk task', () => {
  const task = randomWalkTask();

  it('is deterministic per seed', () => {
    expect(task.episode(createRng(4))).toEqual(task.episode(createRng(4)));
    expect(task.episode(createRng(4))).not.toEqual(task.episode(createRng(5)));
  });

  it('every episode is valid and has E moves, E/q queries and END', () => {
    const rng = createRng(1);
    for (let i = 0; i < 100; i++) {
      const ep = task.episode(rng);
      expect(task.check(ep)).toEqual([]);
      expect(ep.tokens).toHaveLength(256 + 64 + 1);
      expect(ep.labels.filter((l) => l !== '_')).toHaveLength(64);
      expect(ep.tokens.at(-1)).toBe('END');
    }
  });

  it('moves are uniform and queries cover the ring', () => {
    const rng = createRng(2);
    const counts: Record<string, number> = { L: 0, R: 0, S: 0 };
    const cells = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const ep = task.episode(rng);
      for (const t of ep.tokens) if (t in counts) counts[t] = (counts[t] ?? 0) + 1;
      for (const l of ep.labels) if (l !== '_') cells.add(l);
    }
    for (const c of Object.values(counts)) expect(c / (50 * 256)).toBeGreaterThan(0.3);
    expect(cells.size).toBe(8);
  });

  it('has configurable ring size, query interval and episode length', () => {
    const small = randomWalkTask({ ringSize: 3, queryInterval: 1, episodeLength: 10 });
    const ep = small.episode(createRng(3));
    expect(small.check(ep)).toEqual([]);
    expect(ep.tokens).toHaveLength(21);
    expect(small.labelNames).toEqual(['0', '1', '2']);
  });

  it('the checker catches a wrong cell', () => {
    const ep = task.episode(createRng(6));
    const q = ep.tokens.indexOf('?');
    const labels = [...ep.labels];
    labels[q] = String((Number(labels[q]) + 1) % 8);
    expect(task.check({ tokens: ep.tokens, labels }).join()).toMatch(/walker is at/);
  });
});
