import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, greedyByRerunning, openTrained } from '../src/index.js';
import { CLI, cli, quickData, tmp } from './helpers.js';

const trainLosses = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.split === 'train')
    .map((r) => [r.step, r.loss]);

describe('resume', () => {
  it.each(['staircase', 'transformer-xl', 'cached-staircase'])('N steps straight == N/2, stop, resume, N/2 (%s)', async (kind) => {
    const dir = tmp('resume');
    const args = ['--preset', 'tiny', '--model', kind, ...quickData, '--set', 'model.dropout=0.1', '--set', 'train.evalEvery=100', '--set', 'train.scheduleSteps=8'];
    const a = await cli(['train', ...args, '--steps', '8', '--out', join(dir, 'a')]);
    expect(a.code, a.stderr).toBe(0);
    const b1 = await cli(['train', ...args, '--steps', '4', '--out', join(dir, 'b')]);
    expect(b1.code, b1.stderr).toBe(0);
    const b2 = await cli(['train', '--resume', join(dir, 'b'), '--steps', '8']);
    expect(b2.code, b2.stderr).toBe(0);
    expect(trainLosses(join(dir, 'b'))).toEqual(trainLosses(join(dir, 'a')));
    expect(trainLosses(join(dir, 'a'))).toHaveLength(8);
  });
});

describe('a torn metrics.jsonl (disk full or a kill during the append)', () => {
  it('does not block --resume: the torn line is dropped and the metrics equal an uninterrupted run', async () => {
    const dir = tmp('torn');
    const args = ['--preset', 'tiny', '--data', 'random-walk', ...quickData, '--set', 'train.scheduleSteps=8', '--set', 'train.checkpointEvery=4'];
    const a = await cli(['train', ...args, '--steps', '8', '--out', join(dir, 'a')]);
    expect(a.code, a.stderr).toBe(0);
    const b1 = await cli(['train', ...args, '--steps', '4', '--out', join(dir, 'b')]);
    expect(b1.code, b1.stderr).toBe(0);
    appendFileSync(join(dir, 'b', 'metrics.jsonl'), '{"step":5,"split":"tr');
    const b2 = await cli(['train', '--resume', join(dir, 'b'), '--steps', '8']);
    expect(b2.code, b2.stderr).toBe(0);
    expect(trainLosses(join(dir, 'b'))).toEqual(trainLosses(join(dir, 'a')));
  });
});

describe('Ctrl-C', () => {
  it('finishes the step, saves a loadable checkpoint and exits 0', async () => {
    const dir = join(tmp('sigint'), 'run');
    const child = spawn(process.execPath, [CLI, 'train', '--preset', 'tiny', '--steps', '5000', '--out', dir, ...quickData]);
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/step 1\/5000/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', resolve);
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('stopped at step');
    expect(existsSync(join(dir, 'checkpoints/latest.ckpt'))).toBe(true);
    const e = await cli(['eval', '--run', dir, '--json']);
    expect(e.code, e.stderr).toBe(0);
    const resumed = await cli(['train', '--resume', dir, '--steps', '8']);
    expect(resumed.code, resumed.stderr).toBe(0);
  });
});

describe('divergence', () => {
  it('skips non-finite steps, then stops with a clear message and an intact checkpoint', async () => {
    const dir = join(tmp('nan'), 'run');
    const r = await cli(['train', '--preset', 'tiny', '--steps', '50', '--out', dir, ...quickData, '--set', 'train.lr=1e30', '--set', 'train.checkpointEvery=1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('non-finite loss');
    expect(r.stderr).toMatch(/training stopped: 5 consecutive non-finite losses .* last good checkpoint is/);
    const e = await cli(['eval', '--run', dir, '--json']);
    expect(e.code, e.stderr).toBe(0);
  });
});

describe('streaming sampling', () => {
  it.each(['staircase', 'cached-staircase', 'global-staircase', 'ladder', 'transformer-xl', 'staircase-ladder'])(
    'greedy tokens equal re-running the whole prefix (%s)',
    async (kind) => {
      const dir = join(tmp('greedy'), 'run');
      const t = await cli(['train', '--preset', 'tiny', '--model', kind, '--steps', '3', '--out', dir, ...quickData]);
      expect(t.code, t.stderr).toBe(0);
      const session = await openTrained({ run: dir, backend: 'cpu' });
      try {
        // Longer than train.length (32): the prompt goes through in segments, which must not change a token.
        const prompt = session.dataset.tokenizer.encode('The staircase '.repeat(6));
        expect(prompt.length).toBeGreaterThan(2 * session.config.train.length);
        const streamed: number[] = [];
        for await (const id of generate(session, prompt, 40, { temperature: 0, topK: 0, topP: 1, seed: 0 })) streamed.push(id);
        expect(streamed).toEqual(await greedyByRerunning(session, prompt, 40));
      } finally {
        session.close();
      }
    },
  );
});
