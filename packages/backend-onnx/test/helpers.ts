import '@staircase/ladder';
import '@staircase/staircase';
import { createTfjsOps, disposeReplaced, selectBackend, type Tensor, type Tf } from '@staircase/backend-tfjs';
import { createModel, type HostParams, initParams, type Model, type ModelState, sampleTokens } from '@staircase/core';
import { expect } from 'vitest';
import { describeDevices, OnnxModel, OnnxModelError } from '../src/index.js';

/** A tiny model of every kind, as in the TensorFlow.js model tests. */
export const tinyBase = { vocabSize: 11, dModel: 16, heads: 2, layers: 2, dFF: 32, position: { type: 'relative', maxDistance: 6 }, seed: 3 } as const;
export const tinyKinds: Record<string, Record<string, unknown>> = {
  'transformer-xl': { kind: 'transformer-xl', memory: 5 },
  staircase: { kind: 'staircase', chunk: 3, passes: 3 },
  'cached-staircase': { kind: 'cached-staircase', chunk: 2, passes: 2, cacheChunks: 2 },
  'global-staircase': { kind: 'global-staircase', chunk: 2, passes: 3 },
  ladder: { kind: 'ladder', repeats: 3, memory: 4 },
  'staircase-ladder': { kind: 'staircase-ladder', chunk: 3, passes: 2, repeats: 2, activation: 'gelu' },
  'transformer-xl (rope)': { kind: 'transformer-xl', memory: 5, position: { type: 'rope', base: 10000 } },
  'cached-staircase (rope)': { kind: 'cached-staircase', chunk: 2, passes: 2, cacheChunks: 2, position: { type: 'rope', base: 10000 } },
};
export const KINDS = Object.keys(tinyKinds);

export function tinyModel(kind: string): { model: Model; params: HostParams } {
  const model = createModel({ ...tinyBase, ...tinyKinds[kind] });
  return { model, params: initParams(model.paramSpecs(), 7) };
}

/** Deterministic pseudo-text. */
export function tokenStream(n: number, vocab = 11): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 7 + ((i * i) % 5) + 3) % vocab);
}

const { tf } = await selectBackend({ backend: 'cpu' });

export { tf };

/** The TensorFlow.js side: the same model and weights, streamed with the trainer's ops. */
export class TfjsReference {
  readonly ops = createTfjsOps(tf as Tf);
  readonly params: Record<string, Tensor>;
  state: ModelState<Tensor> | null = null;

  constructor(
    readonly model: Model,
    params: HostParams,
  ) {
    this.params = Object.fromEntries(model.paramSpecs().map((s) => [s.name, tf.tensor(params[s.name]!, [...s.shape])]));
  }

  /** Logits `[batch, length, V]` of `tokens` after the carried state. */
  append(tokens: ArrayLike<number>, batch: number, length: number): Float32Array {
    const previous = this.state;
    const out = tf.tidy(() => {
      const r = this.model.forward(this.ops, this.params, this.ops.constantInt(tokens, [batch, length]), previous);
      return { logits: r.logits, state: r.state as unknown as Tensor };
    });
    this.state = out.state as unknown as ModelState<Tensor>;
    disposeReplaced(previous, this.state);
    const values = out.logits.dataSync() as Float32Array;
    out.logits.dispose();
    return values;
  }

  /** Greedy continuation with the streaming step, as the trainer's `generate` does it. */
  async greedy(prompt: number[], count: number): Promise<number[]> {
    disposeReplaced(this.state, null);
    this.state = null;
    const V = this.model.config.vocabSize;
    const next = async (input: readonly number[]) => this.append(input, 1, input.length).subarray((input.length - 1) * V);
    const out: number[] = [];
    for await (const t of sampleTokens(next, prompt, count, { temperature: 0, topK: 0, topP: 1, seed: 0 })) out.push(t);
    return out;
  }
}

/** The K/V blocks of a state tree by path (the exporter names state tensors the same way). */
export function kvBlocks(tree: unknown, path = ''): Map<string, { k: unknown; v: unknown; bias?: unknown }> {
  const out = new Map<string, { k: unknown; v: unknown }>();
  const walk = (x: unknown, p: string) => {
    if (typeof x !== 'object' || x === null) return;
    const o = x as Record<string, unknown>;
    if ('k' in o && 'v' in o) {
      out.set(p, o as { k: unknown; v: unknown });
      return;
    }
    for (const [key, value] of Object.entries(o)) walk(value, p ? `${p}.${key}` : key);
  };
  walk(tree, path);
  return out;
}

/** Largest absolute difference of two arrays of equal length. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The ONNX devices this machine can run, and why the others are skipped. */
export const devices = await describeDevices();
export function skipReason(device: string): string | undefined {
  const d = devices.find((x) => x.device === device);
  return d?.available ? undefined : (d?.reason ?? `${device} not reported`);
}

/**
 * The TensorFlow.js side of a one-token step graph: the model's fixed-shape step (its `bounded`
 * model's for growing states, as the exporter traces), one token per row per call.
 */
export class TfjsFixedReference {
  readonly ops = createTfjsOps(tf as Tf);
  readonly params: Record<string, Tensor>;
  state: ModelState<Tensor>;
  private readonly fixed: NonNullable<Model['fixedStep']>;

  constructor(
    model: Model,
    params: HostParams,
    readonly batch: number,
  ) {
    const fixed = model.fixedStep;
    if (!fixed) throw new Error(`${model.kind} has no fixed-shape step`);
    this.fixed = fixed;
    this.params = Object.fromEntries(model.paramSpecs().map((s) => [s.name, tf.tensor(params[s.name]!, [...s.shape])]));
    this.state = tf.tidy(() => fixed.initialState(this.ops, batch) as unknown as Tensor) as unknown as ModelState<Tensor>;
  }

  /** Logits `[batch, 1, V]` of one token per row. */
  append(tokens: ArrayLike<number>): Float32Array {
    const previous = this.state;
    const out = tf.tidy(() => {
      const r = this.fixed.step(this.ops, this.params, this.ops.constantInt(tokens, [this.batch, 1]), previous);
      return { logits: r.logits, state: this.fixed.advance(this.ops, previous, r.entries) as unknown as Tensor };
    });
    this.state = out.state as unknown as ModelState<Tensor>;
    disposeReplaced(previous, this.state);
    const values = out.logits.dataSync() as Float32Array;
    out.logits.dispose();
    return values;
  }
}

/**
 * The one-line {@link OnnxModelError} message with which opening `files` fails (the test fails
 * when the files are accepted, or with any other error).
 */
export async function refusalOf(files: { step: Uint8Array; segment: Uint8Array }): Promise<string> {
  try {
    const m = await OnnxModel.load(files, { device: 'cpu', onWarning: () => {} });
    await m.release();
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxModelError);
    const message = (e as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error('the files were accepted');
}
