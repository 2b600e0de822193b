import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { SeededRandom } from '@staircase/core';
import { join } from 'node:path';
import { BackendUnavailableError, selectBackend } from '@staircase/backend-tfjs';
import { describe, expect, it } from 'vitest';
import { CLI, cli, quickData, tmp } from './helpers.js';

const tiny = ['--preset', 'tiny', '--data', 'random-walk', ...quickData];
const records = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; split?: string });
const oneLine = (stderr: string) => stderr.trim().split('\n');

describe('run directories', () => {
  it('a second writer is refused while the first runs; SIGTERM saves like Ctrl-C; a stale lock is taken over', async () => {
    const dir = join(tmp('lock'), 'run');
    // No checkpoint or evaluation is due for 1 000 steps: the signal must be acted on at once, not at the next file write.
    expect((await cli(['train', ...tiny, '--steps', '4', '--set', 'train.checkpointEvery=1000', '--set', 'train.evalEvery=1000', '--out', dir])).code).toBe(0);
    const first = spawn(process.execPath, [CLI, 'train', '--resume', dir, '--steps', '100000']);
    let stderr = '';
    first.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/resumed at step 4/.test(stderr)) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    const second = await cli(['train', '--resume', dir, '--steps', '100000']);
    expect(second.code).toBe(1);
    expect(oneLine(second.stderr)).toEqual([expect.stringMatching(/is being written by another staircase process \(PID \d+\)/)]);
    const forced = await cli(['train', ...tiny, '--steps', '4', '--out', dir, '--force']);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/being written by another staircase process/);
    const code = await new Promise<number | null>((resolve) => {
      first.on('exit', resolve);
      first.kill('SIGTERM');
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/SIGTERM: finishing this step and saving a checkpoint/);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
    const saved = Math.max(...records(dir).map((r) => r.step));
    expect(saved).toBeGreaterThan(4);
    expect(saved).toBeLessThan(1000);

    // A lock left by a killed process, and a temp file of an interrupted write: both cleaned up.
    writeFileSync(join(dir, '.lock'), '999999999\n');
    writeFileSync(join(dir, 'checkpoints', 'latest.ckpt.tmp-999999999'), 'half');
    const resumed = await cli(['train', '--resume', dir, '--steps', String(saved + 2)]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readdirSync(join(dir, 'checkpoints')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('--force starts from an empty run: nothing of the old run is kept', async () => {
    const dir = join(tmp('force'), 'run');
    expect((await cli(['train', ...tiny, '--steps', '12', '--out', dir])).code).toBe(0);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const again = await cli(['train', ...tiny, '--steps', '3', '--set', 'train.evalEvery=100', '--out', dir, '--force']);
    expect(again.code, again.stderr).toBe(0);
    expect(Math.max(...records(dir).map((r) => r.step))).toBe(3);
    expect(records(dir).filter((r) => r.split === 'train')).toHaveLength(3);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine'); // not a run file: left alone
  });

  it('a failed start leaves no directory behind', async () => {
    const root = tmp('failed');
    for (const bad of [['--set', 'model.dModel=33'], ['--data', 'text:/does/not/exist'], ['--backend', 'nothing'], ['--workers', '3'], ['--config', root], ['--set', 'model.dModel=8192', '--backend', 'wasm'], ['--set', 'model.dModel=100000']]) {
      const dir = join(root, 'run');
      const r = await cli(['train', ...tiny, '--steps', '2', '--out', dir, ...bad]);
      expect(r.code, bad.join(' ')).toBe(1);
      expect(oneLine(r.stderr), bad.join(' ')).toHaveLength(1);
      expect(existsSync(dir), bad.join(' ')).toBe(false);
    }
  });

  it('a run that diverges before its first checkpoint says so instead of naming a missing file', async () => {
    const dir = join(tmp('diverge'), 'run');
    const r = await cli(['train', ...tiny, '--steps', '20', '--out', dir, '--set', 'train.lr=1e38', '--set', 'train.clipNorm=0', '--set', 'train.maxBadSteps=1', '--set', 'train.checkpointEvery=1000']);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr).at(-1)).toMatch(/training stopped: .*no checkpoint was written yet/);
    expect(existsSync(dir)).toBe(false); // nothing to resume: the same command can run again
  });
});

describe('a full disk', () => {
  it('ENOSPC is one line naming the path; the last checkpoint stays intact and the run resumes once space is freed', async (ctx) => {
    const mnt = tmp('full-disk');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip('cannot mount a small tmpfs here (needs root); the full-disk test runs where it can');
      return;
    }
    try {
      const dir = join(mnt, 'run');
      expect((await cli(['train', ...tiny, '--steps', '6', '--out', dir])).code).toBe(0);
      const { bavail, bsize } = statfsSync(mnt);
      mkdirSync(join(mnt, 'filler'));
      writeFileSync(join(mnt, 'filler', 'f'), Buffer.alloc(Math.max(0, bavail * bsize - 4096)));
      const full = await cli(['train', '--resume', dir, '--steps', '12']);
      expect(full.code).toBe(1);
      expect(oneLine(full.stderr).at(-1)).toMatch(/^staircase: cannot \w+ .*: no space left on the device: free some space \(ENOSPC\); .*last complete checkpoint is intact/);
      expect(full.stderr).not.toMatch(/\n\s+at /); // no stack trace
      rmSync(join(mnt, 'filler'), { recursive: true });
      const ev = await cli(['eval', '--run', dir, '--json']);
      expect(ev.code, ev.stderr).toBe(0);
      const resumed = await cli(['train', '--resume', dir, '--steps', '12']);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(Math.max(...records(dir).map((r) => r.step))).toBe(12);
    } finally {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    }
  });
});

describe('fault injection', () => {
  it('20 kills (SIGKILL) at random moments: every resume is exact and no temp file survives the next start', async () => {
    const root = tmp('kills');
    const args = [...tiny, '--steps', '60', '--set', 'train.checkpointEvery=1', '--set', 'train.evalEvery=7'];
    const straight = await cli(['train', ...args, '--out', join(root, 'straight')]);
    expect(straight.code, straight.stderr).toBe(0);
    const dir = join(root, 'killed');
    const rng = new SeededRandom(7);
    // The last train step logged; a line torn by a kill is skipped (the next start drops it).
    const lastStep = () => {
      if (!existsSync(join(dir, 'metrics.jsonl'))) return 0;
      let step = 0;
      for (const line of readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n')) {
        try {
          const r = JSON.parse(line) as { step: number; split?: string };
          if (r.split === 'train') step = Math.max(step, r.step);
        } catch {}
      }
      return step;
    };
    let kills = 0;
    let finished = false;
    while (!finished) {
      const resume = existsSync(join(dir, 'checkpoints', 'latest.ckpt'));
      const child = spawn(process.execPath, [CLI, 'train', ...(resume ? ['--resume', dir] : [...args, '--out', dir, '--force'])], { stdio: 'ignore' });
      // The moment is tied to progress, not to wall time, so that a fast or a slow machine gets the
      // same 20 kills: a quarter during start-up, the rest 0–150 ms after the run logs step k + 1 or
      // k + 2 (inside a step, a checkpoint write or a validation).
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      if (kills < 20) {
        const during = rng.next() < 0.25;
        const target = lastStep() + 1 + Math.floor(rng.next() * 2);
        const delay = Math.floor(rng.next() * (during ? 600 : 150));
        if (during) timer = setTimeout(() => child.kill('SIGKILL'), delay);
        else
          poll = setInterval(() => {
            if (lastStep() < target) return;
            clearInterval(poll);
            timer = setTimeout(() => child.kill('SIGKILL'), delay);
          }, 10);
      }
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      clearInterval(poll);
      clearTimeout(timer);
      if (code === 0) finished = true;
      else kills++;
      expect(kills, 'the run never finishes').toBeLessThan(60);
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    const losses = (d: string) => records(d).filter((r) => r.split === 'train').map((r) => [r.step, (r as unknown as { loss: number }).loss]);
    expect(losses(dir)).toEqual(losses(join(root, 'straight')));
    const temps = [dir, join(dir, 'checkpoints'), join(dir, 'plots'), join(dir, 'samples')].flatMap((d) => readdirSync(d).filter((f) => f.includes('.tmp-')));
    expect(temps).toEqual([]);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });
});

describe('flags that would be silently wrong', () => {
  it('--resume refuses flags it would not apply', async () => {
    const dir = join(tmp('resume-flags'), 'run');
    expect((await cli(['train', ...tiny, '--steps', '2', '--out', dir])).code).toBe(0);
    for (const extra of [['--set', 'train.lr=0.5'], ['--data', 'brown'], ['--model', 'ladder'], ['--preset', 'small']]) {
      const r = await cli(['train', '--resume', dir, ...extra]);
      expect(r.code, extra.join(' ')).toBe(1);
      expect(oneLine(r.stderr)).toEqual([expect.stringMatching(new RegExp(`${extra[0]} would not apply: drop it`))]);
    }
  });

  it('resuming a finished run does not add a second final validation record', async () => {
    const dir = join(tmp('finished'), 'run');
    expect((await cli(['train', ...tiny, '--steps', '4', '--out', dir])).code).toBe(0);
    for (let i = 0; i < 2; i++) expect((await cli(['train', '--resume', dir])).code).toBe(0);
    expect(records(dir).filter((r) => r.split === 'valid' && r.step === 4)).toHaveLength(1);
  });

  it('--resume --steps keeps the learning-rate schedule unless --extend-schedule', async () => {
    const root = tmp('schedule');
    const lrs = (dir: string) =>
      (readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as { split?: string; lr: number }[])
        .filter((r) => r.split === 'train')
        .map((r) => r.lr);
    const args = [...tiny, '--set', 'train.warmupSteps=1'];
    expect((await cli(['train', ...args, '--steps', '8', '--out', join(root, 'straight')])).code).toBe(0);
    for (const name of ['kept', 'extended']) expect((await cli(['train', ...args, '--steps', '4', '--out', join(root, name)])).code).toBe(0);
    const kept = await cli(['train', '--resume', join(root, 'kept'), '--steps', '8']);
    expect(kept.stderr).toMatch(/the learning-rate schedule keeps its 4 steps, then stays at its final rate/);
    // Past its end the cosine stays at its floor (lr × minLrRatio), below the last scheduled rate.
    const after = lrs(join(root, 'kept')).slice(4);
    expect(after).toEqual([after[0], after[0], after[0], after[0]]);
    expect(after[0]).toBeLessThan(lrs(join(root, 'kept'))[3]!);
    const extended = await cli(['train', '--resume', join(root, 'extended'), '--steps', '8', '--extend-schedule']);
    expect(extended.code, extended.stderr).toBe(0);
    expect(lrs(join(root, 'extended')).slice(4)).toEqual(lrs(join(root, 'straight')).slice(4));
    const alone = await cli(['train', '--resume', join(root, 'extended'), '--extend-schedule']);
    expect(oneLine(alone.stderr)).toEqual([expect.stringMatching(/--extend-schedule needs --steps N/)]);
  });

  it('sampling and evaluation flags are validated', async () => {
    const dir = join(tmp('sample-flags'), 'run');
    expect((await cli(['train', '--preset', 'tiny', '--data', 'brown', ...quickData, '--steps', '2', '--out', dir])).code).toBe(0);
    for (const [args, message] of [
      [['sample', '--run', dir, '--temperature', '-1'], /--temperature -1: expected ≥ 0/],
      [['sample', '--run', dir, '--top-p', '0'], /--top-p 0: expected a number in \(0, 1\]/],
      [['sample', '--run', dir, '--top-p', '2'], /--top-p 2: expected a number in \(0, 1\]/],
      [['eval', '--run', dir, '--max-batches', '0'], /--max-batches 0: expected at least 1/],
      [['train', ...tiny, '--set', '__proto__.x=1', '--out', join(dir, 'x')], /"__proto__" is not a config key/],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(oneLine(r.stderr)).toEqual([expect.stringMatching(message)]);
    }
    // Streamed text is exactly the generated text (pieces decoded as they complete).
    const json = JSON.parse((await cli(['sample', '--run', dir, '--prompt', 'Thé ', '--tokens', '40', '--seed', '3', '--json'])).stdout);
    const streamed = await cli(['sample', '--run', dir, '--prompt', 'Thé ', '--tokens', '40', '--seed', '3']);
    expect(streamed.stdout).toBe(`Thé ${json.text}\n`);
  });

  it('a prompt of thousands of words: one line for onnxruntime-node, --prompt-file works on every runtime', async () => {
    const root = tmp('long-prompt');
    const dir = join(root, 'run');
    expect((await cli(['train', '--preset', 'tiny', '--model', 'transformer-xl', '--data', 'brown', ...quickData, '--steps', '2', '--out', dir])).code).toBe(0);
    const prompt = 'The '.repeat(8000);
    const refused = await cli(['sample', '--run', dir, '--runtime', 'onnx', '--device', 'cpu', '--prompt', prompt, '--tokens', '1']);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toEqual([expect.stringMatching(/crashes onnxruntime-node as it starts; pass a long prompt with --prompt-file FILE/)]);
    const file = join(root, 'prompt.txt');
    writeFileSync(file, 'The '.repeat(1000)); // 4 000 tokens: many segments on TF.js, many runs on ONNX Runtime
    const greedy = ['--tokens', '3', '--temperature', '0', '--json'];
    const onnx = await cli(['sample', '--run', dir, '--runtime', 'onnx', '--device', 'cpu', '--prompt-file', file, ...greedy]);
    expect(onnx.code, onnx.stderr).toBe(0);
    const tfjs = await cli(['sample', '--run', dir, '--prompt-file', file, ...greedy]);
    expect(tfjs.code, tfjs.stderr).toBe(0);
    expect(JSON.parse(tfjs.stdout).ids).toEqual(JSON.parse(onnx.stdout).ids);
    const both = await cli(['sample', '--run', dir, '--prompt', 'a', '--prompt-file', file]);
    expect(oneLine(both.stderr)).toEqual(['staircase: give --prompt or --prompt-file, not both']);
  });

  it('prompt characters outside a char vocabulary are named, not silently read as <unk>', async () => {
    const dir = join(tmp('unk'), 'run');
    expect((await cli(['train', '--preset', 'tiny', '--data', 'brown', ...quickData, '--set', 'data.tokenizer=char', '--steps', '1', '--out', dir])).code).toBe(0);
    const r = await cli(['sample', '--run', dir, '--prompt', 'The ☃☃ €', '--tokens', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 prompt character\(s\) are not in the model's vocabulary and are read as <unk>: "☃" "€"/);
    const plain = await cli(['sample', '--run', dir, '--prompt', 'The ', '--tokens', '2']);
    expect(plain.stderr).not.toMatch(/<unk>/);
  });

  it('STAIRCASE_BACKEND is the default backend; a config or flag that names one wins', async () => {
    const root = tmp('env-backend');
    const args = ['--preset', 'tiny', '--data', 'random-walk', '--set', 'data.episodes={"train":20,"valid":4,"test":4}', '--steps', '1'];
    const a = await cli(['train', ...args, '--out', join(root, 'a')], { STAIRCASE_BACKEND: 'cpu' });
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(root, 'a', 'config.json'), 'utf8')).backend).toBe('cpu');
    expect(a.stderr).toMatch(/backend: cpu/);
    const b = await cli(['train', ...args, '--out', join(root, 'b')], { STAIRCASE_BACKEND: 'bogus' });
    expect(b.code).toBe(1);
    expect(oneLine(b.stderr)).toEqual([expect.stringMatching(/backend: got "bogus", expected one of/)]);
    const c = await cli(['train', ...args, '--backend', 'cpu', '--out', join(root, 'c')], { STAIRCASE_BACKEND: 'bogus' });
    expect(c.code, c.stderr).toBe(0);
  });
});

describe('train on WebGPU in Node', () => {
  it('trains and evaluates (asynchronous reads), the validation loss within 1e-3 of the CPU backend', async (ctx) => {
    try {
      await selectBackend({ backend: 'webgpu' });
    } catch (e) {
      if (!(e instanceof BackendUnavailableError)) throw e;
      ctx.skip(`WebGPU unavailable here — ${e.message}`);
      return;
    }
    const root = tmp('webgpu-train');
    const args = ['train', '--preset', 'tiny', '--data', 'random-walk', '--set', 'data.episodes={"train":20,"valid":4,"test":4}', '--set', 'train.evalBatches=1', '--steps', '2'];
    const gpu = await cli([...args, '--backend', 'webgpu', '--out', join(root, 'gpu')]);
    expect(gpu.code, gpu.stderr).toBe(0);
    const cpu = await cli([...args, '--backend', 'cpu', '--out', join(root, 'cpu')]);
    expect(cpu.code, cpu.stderr).toBe(0);
    const valid = (dir: string) => records(dir).filter((r) => r.split === 'valid').map((r) => (r as unknown as { loss: number }).loss);
    const [g, c] = [valid(join(root, 'gpu')), valid(join(root, 'cpu'))];
    expect(g).toHaveLength(1);
    expect(Math.abs(g[0]! - c[0]!)).toBeLessThan(1e-3);
  });
});
