import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, hasScript, onTerminal, quickData, tmp } from './helpers.js';

const lastLines = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('staircase:'));

describe('sample and eval of a run whose corpus is gone', () => {
  const root = tmp('no-corpus');
  const corpus = join(root, 'corpus.txt');
  const run = join(root, 'run');
  beforeAll(async () => {
    writeFileSync(corpus, Array.from({ length: 300 }, (_, i) => `Line ${i}: the staircase reads chunk ${i % 7} again.`).join('\n'));
    const t = await cli(['train', '--preset', 'tiny', '--data', `text:${corpus}`, '--out', run, '--steps', '2', ...quickData]);
    expect(t.code, t.stderr).toBe(0);
    rmSync(corpus);
  }, 120_000);

  it('sample needs only the checkpoint: it works on TF.js and ONNX Runtime after the corpus was deleted', async () => {
    const greedy = ['--prompt', 'Line 1', '--tokens', '6', '--temperature', '0', '--json'];
    const tfjs = await cli(['sample', '--run', run, ...greedy]);
    expect(tfjs.code, tfjs.stderr).toBe(0);
    expect(JSON.parse(tfjs.stdout).ids).toHaveLength(6);
    const onnx = await cli(['sample', '--run', run, '--runtime', 'onnx', '--device', 'cpu', ...greedy]);
    expect(onnx.code, onnx.stderr).toBe(0);
    expect(JSON.parse(onnx.stdout).ids).toEqual(JSON.parse(tfjs.stdout).ids);
  });

  it('eval opens the data the checkpoint names only to score it, and says so in one line when it is gone', async () => {
    const r = await cli(['eval', '--run', run]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(lastLines(r.stderr)).toEqual([
      `staircase: cannot open text:${corpus}, the data this model was trained on (its saved run config names it): no such file or folder: ${corpus}; give --data SPEC to score other data`,
    ]);
  });

  it('eval names the checkpoint (step, best or latest) and the data it scored, in the text and the JSON', async () => {
    const other = join(root, 'other.txt');
    writeFileSync(other, 'Another text, scored with the byte tokenizer of the run. '.repeat(40));
    const json = await cli(['eval', '--run', run, '--data', `text:${other}`, '--max-batches', '1', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const m = JSON.parse(json.stdout);
    expect(m).toMatchObject({ split: 'valid', data: `text:${other}`, dataFrom: '--data', checkpoint: { which: 'best', step: 2 } });
    // The path is in the text output, not in the record (records compare across directories).
    expect(m.checkpoint.path).toBeUndefined();
    const latest = await cli(['eval', '--checkpoint', join(run, 'checkpoints/latest.ckpt'), '--data', `text:${other}`, '--max-batches', '1']);
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stdout.split('\n')[0]).toBe(`scored checkpoint ${join(run, 'checkpoints/latest.ckpt')} (latest, step 2) on the valid split of text:${other}`);
    expect(latest.stdout.split('\n')[1]).toMatch(/^valid \(\d+ positions\): [\d.]+ bits\/byte/);
  });
});

describe('eval names the data it was trained on', () => {
  it('the run config\'s data, said to be the training data; --runtime onnx too', async () => {
    const run = join(tmp('eval-names'), 'run');
    expect((await cli(['train', '--preset', 'tiny', '--data', 'random-walk', '--out', run, '--steps', '2', ...quickData])).code).toBe(0);
    const text = await cli(['eval', '--run', run, '--split', 'test']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(`scored checkpoint ${join(run, 'checkpoints/best.ckpt')} (best, step 2) on the test split of random-walk, the data it was trained on`);
    const onnx = JSON.parse((await cli(['eval', '--run', run, '--runtime', 'onnx', '--device', 'cpu', '--json'])).stdout);
    expect(onnx).toMatchObject({ data: 'random-walk', dataFrom: 'checkpoint', checkpoint: { which: 'best', step: 2 } });
    // A labelled task's sample streams a generated test episode: no file is read.
    const s = await cli(['sample', '--run', run, '--tokens', '8', '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).text).toMatch(/\[/);
  });
});

describe.skipIf(!hasScript)('on a terminal', () => {
  const run = join(tmp('tty'), 'run');
  beforeAll(async () => {
    expect((await cli(['train', '--preset', 'tiny', '--data', 'brown', '--out', run, '--steps', '2', ...quickData])).code).toBe(0);
  }, 120_000);

  it('eval shows a progress bar of the batches, cleared before the result', async () => {
    const r = await onTerminal(['eval', '--run', run, '--max-batches', '3']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/eval valid \|[^|]*\| 0\/3 batches/);
    expect(r.output).toMatch(/scored checkpoint .*best\.ckpt \(best, step 2\) on the valid split of brown, the data it was trained on\r\nvalid \(\d+ positions\)/);
    // Piped, there is no bar.
    const piped = await cli(['eval', '--run', run, '--max-batches', '3']);
    expect(piped.stderr).not.toMatch(/batches/);
  });

  it('sample escapes control characters on a terminal and keeps them when redirected', async () => {
    const args = ['sample', '--run', run, '--prompt', 'a\u001b[2Jb\u202e\rc\td', '--tokens', '1', '--temperature', '0'];
    const tty = await onTerminal(args);
    expect(tty.code, tty.output).toBe(0);
    expect(tty.output).toContain('a\\x1b[2Jb\\u202e\\x0dc\td');
    expect(tty.output).not.toContain('\u001b[2J');
    const piped = await cli(args);
    expect(piped.stdout.startsWith('a\u001b[2Jb\u202e\rc\td')).toBe(true);
  });

  it('the sample at the end of training is escaped in the log and kept as generated in samples/', async () => {
    const dir = join(tmp('tty-train'), 'run');
    const r = await onTerminal(['train', '--preset', 'tiny', '--data', 'brown', '--out', dir, '--steps', '1', '--set', 'sample.prompt="x\\u001b[2Jy"', ...quickData]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('x\\x1b[2Jy');
    const [file] = readdirSync(join(dir, 'samples'));
    expect(readFileSync(join(dir, 'samples', file!), 'utf8').startsWith('x\u001b[2Jy')).toBe(true);
  });
});
