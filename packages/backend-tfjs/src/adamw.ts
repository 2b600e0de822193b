import type { HostParams, ParamSpec } from '@staircase/core';
import type { Variable } from '@tensorflow/tfjs-core';
import type { Tensor, Tf } from './tf.js';
import { wasmAdamW, wasmAdamWSupported } from './wasm/adamw.js';

/** AdamW's hyper-parameters. */
export interface AdamWOptions {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
}

/** AdamW's state in host memory: first and second moments by parameter name, and the update count. */
export interface AdamWState {
  readonly step: number;
  readonly m: HostParams;
  readonly v: HostParams;
}

/**
 * AdamW (Loshchilov & Hutter) with decoupled weight decay, as PyTorch's `AdamW`:
 * `p ← p·(1 − lr·wd) − lr · m̂ / (√v̂ + eps)`, where decay applies only to parameters whose
 * {@link ParamSpec.decay} is set (not norms, biases, embeddings, position tables).
 */
export class AdamW {
  private readonly m = new Map<string, Variable>();
  private readonly v = new Map<string, Variable>();
  private readonly decays = new Map<string, boolean>();
  /** Updates applied so far. */
  step = 0;

  /**
   * @param wasmKernel - on the WASM backend, update each parameter with one SIMD loop
   *   (`wasm/adamw.ts`) instead of ~16 TensorFlow.js kernels; default true, ignored elsewhere.
   */
  constructor(
    private readonly tf: Tf,
    specs: readonly ParamSpec[],
    readonly options: AdamWOptions,
    private readonly wasmKernel = true,
  ) {
    for (const s of specs) {
      // tidy frees the zeros a variable is initialised from (variables themselves outlive it).
      this.m.set(s.name, tf.tidy(() => tf.variable(tf.zeros([...s.shape]), false)));
      this.v.set(s.name, tf.tidy(() => tf.variable(tf.zeros([...s.shape]), false)));
      this.decays.set(s.name, s.decay);
    }
  }

  /** Names of the parameters weight decay applies to. */
  decayed(): string[] {
    return [...this.decays].filter(([, d]) => d).map(([n]) => n);
  }

  /**
   * One update of `params` from `grads` (missing = zero) multiplied by `gradScale` (clipping),
   * at learning rate `lr`.
   */
  apply(params: ReadonlyMap<string, Variable>, grads: Readonly<Record<string, Tensor>>, lr: number, gradScale: number): void {
    const { tf } = this;
    const [b1, b2] = this.options.betas;
    const t = this.step + 1;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const fused = this.wasmKernel && wasmAdamWSupported(tf);
    tf.tidy(() => {
      for (const [name, p] of params) {
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const raw = grads[name];
        if (fused) {
          const keep = this.decays.get(name) ? 1 - lr * this.options.weightDecay : 1;
          const [p1, m1, v1] = wasmAdamW(tf, raw ?? tf.zerosLike(p), p, m, v, { b1, b2, step: lr / bc1, unbias2: 1 / bc2, eps: this.options.eps, keep, scale: gradScale });
          m.assign(m1);
          v.assign(v1);
          p.assign(p1);
          continue;
        }
        const g = raw ? tf.mul(raw, tf.scalar(gradScale)) : tf.zerosLike(p);
        const m1 = tf.add(tf.mul(m, tf.scalar(b1)), tf.mul(g, tf.scalar(1 - b1)));
        const v1 = tf.add(tf.mul(v, tf.scalar(b2)), tf.mul(tf.mul(g, g), tf.scalar(1 - b2)));
        const update = tf.div(tf.div(m1, tf.scalar(bc1)), tf.add(tf.sqrt(tf.div(v1, tf.scalar(bc2))), tf.scalar(this.options.eps)));
        const decayed = this.decays.get(name) ? tf.mul(p, tf.scalar(1 - lr * this.options.weightDecay)) : p;
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(update, tf.scalar(lr))));
      }
    });
    this.step = t;
  }

  /** Copies the moments to host memory. */
  async state(): Promise<AdamWState> {
    const m: HostParams = {};
    const v: HostParams = {};
    for (const [name, x] of this.m) m[name] = ((await x.data()) as Float32Array).slice();
    for (const [name, x] of this.v) v[name] = ((await x.data()) as Float32Array).slice();
    return { step: this.step, m, v };
  }

  /** Restores moments and step (shapes were checked by the caller). */
  load(state: AdamWState): void {
    const { tf } = this;
    for (const [name, x] of this.m) assignHost(tf, x, state.m[name], `optimizer moment m of "${name}"`);
    for (const [name, x] of this.v) assignHost(tf, x, state.v[name], `optimizer moment v of "${name}"`);
    this.step = state.step;
  }

  dispose(): void {
    for (const x of this.m.values()) x.dispose();
    for (const x of this.v.values()) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Assigns host values to a variable, failing with `what` when absent or of the wrong size. */
export function assignHost(tf: Tf, target: Variable, values: Float32Array | undefined, what: string): void {
  if (!values) throw new Error(`${what} is missing`);
  if (values.length !== target.size) {
    throw new Error(`${what} has ${values.length} values, expected ${target.size} for shape [${target.shape.join(', ')}]`);
  }
  const t = tf.tensor(values, target.shape, 'float32');
  target.assign(t);
  t.dispose();
}
