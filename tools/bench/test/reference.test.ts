import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Tensor, type Tf, createTfjsOps, encodeCheckpoint, selectBackend } from '@staircase/backend-tfjs';
import { type ForwardResult, type ModelState, createModel, crossEntropy, initParams } from '@staircase/core';
import '@staircase/ladder';
import '@staircase/staircase';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PYTHON, REFERENCE_SCRIPT, openPytorchSession, pytorchUnavailable } from '../src/pytorch.js';

// The PyTorch peer (tools/bench/reference) re-implements every model kind from our TypeScript.
// Here both run the same weights on the same tokens, fed in segments that carry state, and must
// agree to 1e-4: the peer's benchmark figures are then figures of the same computation.
// Without torch for Debian's Python (`apt-get install -y python3-torch libopenblas0-pthread`;
// CI's .ci/run must install both) these tests are skipped, saying why.
const unavailable = await pytorchUnavailable();
const skipNote = unavailable ? ` — skipped: ${unavailable} (install python3-torch libopenblas0-pthread)` : '';
if (unavailable) console.warn(`reference.test.ts: PyTorch peer unavailable, skipping: ${unavailable}`);

const run = promisify(execFile);
const python = (args: string[]) => run(DEFAULT_PYTHON, [REFERENCE_SCRIPT, ...args], { maxBuffer: 16 << 20, timeout: 300_000 });

const tiny = { vocabSize: 11, dModel: 16, heads: 2, layers: 2, dFF: 32, seed: 3 } as const;
// Small chunks, memories and relative range so that 21 tokens cross every boundary: memories and
// caches fill and slide, relative distances are clipped, staircases drain across segments.
const kinds: Record<string, Record<string, unknown>> = {
  'transformer-xl': { kind: 'transformer-xl', memory: 5 },
  staircase: { kind: 'staircase', chunk: 3, passes: 3 },
  'cached-staircase': { kind: 'cached-staircase', chunk: 3, passes: 2, cacheChunks: 2 },
  'global-staircase': { kind: 'global-staircase', chunk: 3, passes: 2 },
  ladder: { kind: 'ladder', repeats: 2, memory: 4 },
  'staircase-ladder': { kind: 'staircase-ladder', chunk: 3, passes: 2, repeats: 2 },
};
// Each position type once, each activation once.
const variants: Record<string, Record<string, unknown>> = {
  'relative, gelu': { position: { type: 'relative', maxDistance: 6 }, activation: 'gelu' },
  'rope, relu': { position: { type: 'rope', base: 10000 }, activation: 'relu' },
};
const SEGMENTS = [7, 5, 9];
const BATCH = 2;

// Variable names are global to TensorFlow.js: number them per model.
let variables = 0;
const dir = mkdtempSync(join(tmpdir(), 'staircase-reference-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The float32 tensor `name` of a plain safetensors file (what `run.py crosscheck --out` writes). */
function readSafetensor(path: string, name: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const entry = header[name];
  if (entry?.dtype !== 'F32') throw new Error(`${path} holds no F32 tensor "${name}"`);
  const [begin, end] = entry.data_offsets;
  const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
  // Copy into a fresh, aligned buffer: the file's bytes need not be 4-byte aligned in memory.
  return { shape: entry.shape, data: new Float32Array(Uint8Array.from(raw).buffer) };
}

/**
 * Our model (TensorFlow.js CPU backend) over the segments, carrying state: the logits, and the
 * gradient of Σ_segments mean cross-entropy (state is detached between segments). Also writes the
 * weights as one of our checkpoints, which is what the peer reads.
 */
async function ours(config: Record<string, unknown>, tokens: number[][], targets: number[][], weightsPath: string) {
  const { tf } = await selectBackend({ backend: 'cpu' });
  const ops = createTfjsOps(tf);
  const model = createModel(config);
  const specs = model.paramSpecs();
  const host = initParams(specs, 7);
  writeFileSync(
    weightsPath,
    encodeCheckpoint({ config: model.config, params: Object.fromEntries(specs.map((s) => [s.name, { shape: s.shape, data: host[s.name]! }])), step: 0 }),
  );
  const vars = specs.map((s) => tf.tidy(() => tf.variable(tf.tensor(host[s.name]!, [...s.shape]), true, `reference-test/${++variables}/${s.name}`)));
  const params = Object.fromEntries(specs.map((s, i) => [s.name, vars[i]! as Tensor]));
  const rows = (x: number[][], start: number, n: number) => x.flatMap((row) => row.slice(start, start + n));
  let logits: Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    let state: ModelState<Tensor> | null = null;
    const pieces: Tensor[] = [];
    let loss = tf.scalar(0);
    let start = 0;
    for (const n of SEGMENTS) {
      const out: ForwardResult<Tensor> = model.forward(ops, params, ops.constantInt(rows(tokens, start, n), [BATCH, n]), state);
      pieces.push(out.logits);
      const mask = tf.ones([BATCH, n]);
      loss = tf.add(loss, crossEntropy(ops, out.logits, ops.constantInt(rows(targets, start, n), [BATCH, n]), mask, BATCH * n));
      state = out.state;
      start += n;
    }
    logits = tf.keep(tf.concat(pieces, 1));
    return loss as ReturnType<Tf['scalar']>;
  }, vars);
  const names = new Map(vars.map((v, i) => [v.name, specs[i]!.name]));
  const result = {
    shape: [...logits!.shape],
    logits: (await logits!.data()) as Float32Array,
    loss: (await value.data())[0]!,
    grads: Object.fromEntries(await Promise.all(Object.entries(grads).map(async ([v, g]) => [names.get(v)!, (await g.data()) as Float32Array] as const))),
  };
  tf.dispose([logits!, value, ...Object.values(grads), ...vars]);
  return result;
}

/** Largest |a − b| / (atol + rtol·|b|): at most 1 when every element is within tolerance. */
function worstRatio(a: Float32Array, b: Float32Array, atol: number, rtol: number): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  return worst;
}

describe('PyTorch reference peer: crosscheck against our models', () => {
  for (const [kind, fields] of Object.entries(kinds)) {
    for (const [variant, extra] of Object.entries(variants)) {
      it.skipIf(!!unavailable)(`${kind} (${variant}): equal logits and gradients over segments ${SEGMENTS.join(', ')}${skipNote}`, async () => {
        const config = { ...tiny, ...fields, ...extra };
        const id = `${kind}-${variant.replace(/\W+/g, '-')}`;
        const total = SEGMENTS.reduce((a, b) => a + b, 0);
        // Deterministic tokens covering the whole vocabulary.
        const tokens = Array.from({ length: BATCH }, (_, b) => Array.from({ length: total }, (_, t) => (t * 7 + b * 5 + ((t * t) % 3)) % tiny.vocabSize));
        const targets = tokens.map((row, b) => row.map((_, t) => (t * 3 + b + 1) % tiny.vocabSize));
        const weights = join(dir, `${id}.ckpt`);
        const tokensPath = join(dir, `${id}.tokens.json`);
        const out = join(dir, `${id}.out.safetensors`);
        const mine = await ours(config, tokens, targets, weights);
        writeFileSync(tokensPath, JSON.stringify({ tokens, targets }));
        const { stdout } = await python(['crosscheck', '--weights', weights, '--tokens', tokensPath, '--segments', SEGMENTS.join(','), '--out', out, '--grads']);
        const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
        expect(summary).toMatchObject({ kind, shape: [BATCH, total, tiny.vocabSize], segments: SEGMENTS });
        const theirs = readSafetensor(out, 'logits');
        expect(theirs.shape).toEqual(mine.shape);
        // Not vacuous: logits vary between positions.
        expect(Math.max(...mine.logits) - Math.min(...mine.logits)).toBeGreaterThan(0.1);
        expect(worstRatio(mine.logits, theirs.data, 1e-4, 0)).toBeLessThan(1);
        expect(mine.loss).toBeCloseTo(readSafetensor(out, 'loss').data[0]!, 4);
        // Gradients too: both sides detach carried state, so each segment's loss trains the
        // weights only through its own segment.
        for (const [name, g] of Object.entries(mine.grads)) {
          const ratio = worstRatio(g, readSafetensor(out, `grad/${name}`).data, 1e-5, 1e-3);
          expect(ratio, `gradient of ${name}`).toBeLessThan(1);
        }
      });
    }
  }

  it.skipIf(!!unavailable)(`run.py bench reports every field the harness reads (tiny, no timing assertions)${skipNote}`, async () => {
    const config = join(dir, 'bench-config.json');
    writeFileSync(config, JSON.stringify({ ...tiny, ...kinds['cached-staircase'], position: { type: 'relative', maxDistance: 8 } }));
    const { stdout } = await python([
      'bench',
      '--config',
      config,
      '--batch',
      '2',
      '--length',
      '8',
      '--steps',
      '2',
      '--warmup',
      '1',
      '--threads',
      '1',
      '--blas-threads',
      '2',
      '--stream-positions',
      '16,40',
      '--stream-tokens',
      '2',
    ]);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result).toEqual(
      expect.objectContaining({
        torch: expect.any(String),
        blas: expect.any(String),
        threads: 1,
        blas_threads: 2,
        train_tokens_per_s: expect.any(Number),
        eval_tokens_per_s: expect.any(Number),
        stream_ms_per_token: { '16': expect.any(Number), '40': expect.any(Number) },
        peak_rss_mb: expect.any(Number),
        kind: 'cached-staircase',
        layer_applications_per_token: 4,
      }),
    );
    expect(Number.isFinite(result.first_loss)).toBe(true);
    // int8 weight products: a speed, the threads they ran on, and logits near float32's but not equal.
    expect(result.eval_int8_tokens_per_s).toBeGreaterThan(0);
    expect(result.eval_int8_threads).toMatch(/^\d+ \+ \d+$/);
    expect(result.int8_logits_rel_error).toBeGreaterThan(0);
    expect(result.int8_logits_rel_error).toBeLessThan(0.1);
  });

  it.skipIf(!!unavailable)(`run.py serve times train / eval calls on one loaded model, and says why it cannot start${skipNote}`, async () => {
    const config = { ...tiny, ...kinds['transformer-xl'], position: { type: 'relative', maxDistance: 8 } };
    const peer = await openPytorchSession(config, { batch: 2, length: 8 }, { blasThreads: 1 });
    try {
      expect(peer.torch).toMatch(/\d/);
      for (const [command, steps] of [['eval', 2], ['train', 1], ['eval', 1]] as const) expect(await peer.time(command, steps)).toBeGreaterThan(0);
    } finally {
      await peer.close();
    }
    await expect(openPytorchSession({ ...config, kind: 'no-such-kind' }, { batch: 2, length: 8 })).rejects.toThrow(/run\.py serve ended \(exit 1\): .*no-such-kind/);
  });
});
