import { describe, expect, it } from 'vitest';
import { DataError } from '../errors.js';
import { createRng } from '../util/rng.js';
import { algorithmicTask } from './algorithmic.js';
import type { Episode } from './task.js';

const draw = (task: ReturnType<typeof algorithmicTask>, seed: number, n: number): Episode[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => task.episode(rng));
};

describe('algorithmic task', () => {
  const task3 = algorithmicTask({ variables: 3 });
  const task5 = algorithmicTask({ variables: 5 });

  it('is deterministic per seed', () => {
    expect(draw(task3, 7, 5)).toEqual(draw(task3, 7, 5));
    expect(draw(task3, 7, 5)).not.toEqual(draw(task3, 8, 5));
  });

  it('writes programs as PAPER.md shows them', () => {
    const [p] = draw(task3, 1, 1) as [Episode];
    const text = p.tokens.join(' ');
    expect(text).toMatch(/^[xyz] = (10|[1-9]) ; /);
    expect(text.endsWith(' END')).toBe(true);
    for (const tok of p.tokens) expect(task3.vocabulary).toContain(tok);
  });

  it.each([
    ['3var', task3],
    ['5var', task5],
  ])('%s: every program re-executes to the same labels and obeys every rule', (_, task) => {
    for (const p of draw(task, 11, 300)) expect(task.check(p)).toEqual([]);
  });

  it('3var statistics match the paper: ~430 tokens and ~25 labelled positions per program', () => {
    const programs = draw(task3, 3, 400);
    const tokens = programs.reduce((n, p) => n + p.tokens.length, 0) / programs.length;
    const labelled = programs.reduce((n, p) => n + p.labels.filter((l) => l !== '_').length, 0) / programs.length;
    expect(tokens).toBeGreaterThan(410);
    expect(tokens).toBeLessThan(450);
    expect(labelled).toBeGreaterThan(22);
    expect(labelled).toBeLessThan(28);
    const kinds = { if: 0, print: 0 };
    for (const p of programs) for (const t of p.tokens) if (t === 'if' || t === 'print') kinds[t]++;
    expect(kinds.if / kinds.print).toBeGreaterThan(0.85);
    expect(kinds.if / kinds.print).toBeLessThan(1.15);
  });

  it('5var programs use all five variables and values 1..10 only', () => {
    const programs = draw(task5, 5, 50);
    const used = new Set(programs.flatMap((p) => p.tokens.filter((t) => 'xyzpr'.includes(t))));
    expect([...used].sort()).toEqual(['p', 'r', 'x', 'y', 'z']);
    for (const p of programs) for (const l of p.labels) if (l !== '_') expect(Number(l)).toBeGreaterThanOrEqual(1);
    for (const p of programs) for (const l of p.labels) if (l !== '_') expect(Number(l)).toBeLessThanOrEqual(10);
  });

  it('has configurable program length and values', () => {
    const short = algorithmicTask({ statements: 10, maxValue: 4 });
    for (const p of draw(short, 2, 50)) {
      expect(short.check(p)).toEqual([]);
      expect(p.tokens.filter((t) => t === ';').length).toBe(10);
    }
  });

  it('the checker catches a wrong label, a broken rule and a missing END', () => {
    const [p] = draw(task3, 9, 1) as [Episode];
    const at = p.labels.findIndex((l) => l !== '_');
    const wrongLabel = { tokens: p.tokens, labels: p.labels.map((l, i) => (i === at ? String((Number(l) % 10) + 1) : l)) };
    expect(task3.check(wrongLabel).join()).toMatch(/label/);
    const twice = { tokens: ['x', '=', '1', ';', ...p.tokens], labels: ['_', '_', '_', '_', ...p.labels] };
    expect(task3.check(twice).length).toBeGreaterThan(0);
    expect(task3.check({ tokens: p.tokens.slice(0, -1), labels: p.labels.slice(0, -1) }).join()).toMatch(/END/);
  });

  it('refuses bad parameters with a DataError', () => {
    expect(() => algorithmicTask({ variables: 4 as 3 })).toThrow(DataError);
    expect(() => algorithmicTask({ statements: 0 })).toThrow(/statements must be an integer >= 1/);
    expect(() => algorithmicTask({ programLength: 5 } as object)).toThrow(/unknown option "programLength"/);
  });
});
