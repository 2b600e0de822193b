import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, quickData, tmp } from './helpers.js';

it('trains with two data-parallel workers and resumes', async () => {
  const dir = tmp('workers');
  const out = join(dir, 'run');
  const common = ['--preset', 'tiny', '--model', 'staircase', '--data', 'brown', ...quickData];
  const a = await cli(['train', ...common, '--out', out, '--steps', '3', '--workers', '2']);
  expect(a.code, a.stderr).toBe(0);
  expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).train.workers).toBe(2);
  expect(existsSync(join(out, 'checkpoints/latest.ckpt'))).toBe(true);
  const b = await cli(['train', '--resume', out, '--steps', '5']);
  expect(b.code, b.stderr).toBe(0);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.loss !== undefined).map((r) => r.step);
  expect(Math.max(...steps)).toBe(5);
  expect(steps.every((s) => Number.isFinite(s))).toBe(true);
});
