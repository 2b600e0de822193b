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

  it('exports int8 weight products: a smaller file that scores within int8 rounding of float32', async () => {
    const run = join(dir, 'int8');
    const t = await cli(['train', '--preset', 'tiny', '--model', 'transformer-xl', '--data', 'brown', '--out', run, '--steps', '3', ...quickData]);
    expect(t.code, t.stderr).toBe(0);
    const float = json(await cli(['export', '--run', run, '--out', join(dir, 'f32.onnx'), '--json']));
    const int8 = json(await cli(['export', '--run', run, '--out', join(dir, 'q8.onnx'), '--quantize', 'int8', '--json']));
    expect([float.weights, int8.weights]).toEqual(['float32', 'int8']);
    // The tiny preset's file is mostly embedding and metadata (the tokenizer): a quarter off at least.
    expect(int8.bytes.segment).toBeLessThan(0.75 * float.bytes.segment);
    const evalArgs = ['eval', '--run', run, '--json', '--max-batches', '2', '--runtime', 'onnx'];
    const a = json(await cli(evalArgs));
    const b = json(await cli([...evalArgs, '--quantize', 'int8']));
    const c = json(await cli(['eval', '--onnx', join(dir, 'q8.onnx'), '--json', '--max-batches', '2']));
    expect(b.loss).not.toBe(a.loss);
    expect(Math.abs(b.loss - a.loss) / a.loss).toBeLessThan(0.01);
    expect(c.loss).toBe(b.loss);
    // The step graph (generation) runs int8 too.
    const sample = json(await cli(['sample', '--onnx', join(dir, 'q8.onnx'), '--json', '--tokens', '12', '--temperature', '0', '--prompt', 'The ']));
    expect(sample.ids).toHaveLength(12);
    const onTheFly = json(await cli(['sample', '--run', run, '--runtime', 'onnx', '--quantize', 'int8', '--json', '--tokens', '12', '--temperature', '0', '--prompt', 'The ']));
    expect(onTheFly.ids).toEqual(sample.ids);
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
    it('an unknown quantization, or one that cannot apply', async () => {
      oneLine(await cli(['export', '--run', join(dir, 'staircase'), '--out', join(dir, 'q.onnx'), '--quantize', 'int4']), '--quantize int4: expected int8');
      oneLine(await cli(['eval', '--run', join(dir, 'staircase'), '--quantize', 'int8']), 'need --runtime onnx');
      oneLine(await cli(['eval', '--onnx', join(dir, 'staircase.onnx'), '--quantize', 'int8']), 're-export it with staircase export --quantize');
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
