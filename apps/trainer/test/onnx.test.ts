import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, quickData, tmp } from './helpers.js';

const KINDS = ['transformer-xl', 'staircase', 'cached-staircase', 'global-staircase', 'ladder', 'staircase-ladder'];
const json = (r: { code: number; stdout: string; stderr: string }) => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('export → eval and sample on ONNX Runtime, equal to TensorFlow.js', () => {
  const dir = tmp('onnx');
  it.each(KINDS)('%s', async (kind) => {
    const run = join(dir, kind);
    const t = await cli(['train', '--preset', 'tiny', '--model', kind, '--data', 'brown', '--out', run, '--steps', '3', ...quickData]);
    expect(t.code, t.stderr).toBe(0);
    const file = join(dir, `${kind}.onnx`);
    const x = json(await cli(['export', '--run', run, '--out', file, '--json']));
    expect(x.files).toEqual({ step: file, segment: join(dir, `${kind}.segment.onnx`) });

    const evalArgs = ['eval', '--run', run, '--json', '--max-batches', '2'];
    const tfjs = json(await cli(evalArgs));
    const onnx = json(await cli([...evalArgs, '--runtime', 'onnx', '--device', 'cpu']));
    expect(onnx.count).toBe(tfjs.count);
    expect(Math.abs(onnx.loss - tfjs.loss)).toBeLessThan(1e-4);

    const sampleArgs = ['sample', '--run', run, '--json', '--tokens', '30', '--temperature', '0', '--prompt', 'The '];
    const a = json(await cli(sampleArgs));
    const b = json(await cli([...sampleArgs, '--runtime', 'onnx']));
    const c = json(await cli(['sample', '--onnx', file, '--json', '--tokens', '30', '--temperature', '0', '--prompt', 'The ']));
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).toEqual(a.ids);
  });

  it('labels a task episode and scores its error rate', async () => {
    const run = join(dir, 'task');
    const t = await cli(['train', '--preset', 'tiny', '--model', 'staircase', '--data', 'algorithmic:3var', '--out', run, '--steps', '3', ...quickData]);
    expect(t.code, t.stderr).toBe(0);
    const tfjs = json(await cli(['eval', '--run', run, '--json', '--max-batches', '2']));
    const onnx = json(await cli(['eval', '--run', run, '--json', '--max-batches', '2', '--runtime', 'onnx']));
    expect(onnx.errorRate).toBeCloseTo(tfjs.errorRate, 6);
    const a = json(await cli(['sample', '--run', run, '--json', '--tokens', '20']));
    const b = json(await cli(['sample', '--run', run, '--json', '--tokens', '20', '--runtime', 'onnx']));
    expect(b.text).toBe(a.text);
  });

  describe('user mistakes: one line, exit 1', () => {
    const oneLine = (r: { code: number; stderr: string }, text: string) => {
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n').filter((l) => l.trim() !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(text);
    };
    it('export without --out, or to a name without .onnx', async () => {
      oneLine(await cli(['export', '--run', join(dir, 'staircase')]), '--out');
      oneLine(await cli(['export', '--run', join(dir, 'staircase'), '--out', join(dir, 'model.bin')]), 'must end in .onnx');
    });
    it('an unknown runtime or device', async () => {
      oneLine(await cli(['eval', '--run', join(dir, 'staircase'), '--runtime', 'torch']), 'expected tfjs or onnx');
      oneLine(await cli(['sample', '--run', join(dir, 'staircase'), '--runtime', 'onnx', '--device', 'tpu']), 'expected one of auto, webgpu, wasm, cpu');
    });
    it('a file that is not ONNX, and a missing one', async () => {
      const bad = join(dir, 'bad.onnx');
      writeFileSync(bad, 'not a model at all');
      writeFileSync(join(dir, 'bad.segment.onnx'), 'not a model at all');
      oneLine(await cli(['sample', '--onnx', bad]), 'not an ONNX model');
      oneLine(await cli(['sample', '--onnx', join(dir, 'none.onnx')]), 'no such file');
    });
  });
});
