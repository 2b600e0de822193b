/**
 * Helpers for tests of this package and of packages that train on it (model equivalence,
 * finite-difference checks of real models). Import from `@staircase/backend-tfjs/testing`.
 */
import { type BackendName, type BackendSelection, selectBackend } from './select.js';
import type { Tensor, Tf } from './tf.js';

export { toyBigramKind, toyBigramConfig, type ToyBigramConfig } from './toy-model.js';

/**
 * Runs `fn` with backend `name` active (loading it if needed), then re-activates the backend that
 * was active before. Fails like {@link selectBackend} when the backend cannot run.
 */
export async function withBackend<R>(name: BackendName, fn: (selection: BackendSelection) => R | Promise<R>): Promise<R> {
  const selection = await selectBackend({ backend: name });
  const { tf } = selection;
  const previous = tf.getBackend();
  await tf.setBackend(name === 'tfjs-node' || name === 'tfjs-node-gpu' ? 'tensorflow' : name);
  try {
    return await fn(selection);
  } finally {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  }
}

/** One coordinate's analytic and finite-difference derivative. */
export interface GradientSample {
  /** Which input, and which element of it (row-major). */
  readonly input: number;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
}

/** Options of {@link gradientSamples}. */
export interface GradientSampleOptions {
  /** Central-difference step. Default 1e-2 (float32). */
  readonly eps?: number;
  /** Coordinates per input, those with the largest analytic gradient. Default: all (up to 64). */
  readonly perInput?: number;
}

/**
 * Compares `tf.grads` of the scalar function `f` with central finite differences at `inputs`,
 * returning one {@link GradientSample} per checked coordinate. Assert, for instance,
 * `|analytic − numeric| < 2e-3 + 2e-2·|analytic|` in float32. Disposes what it creates.
 */
export function gradientSamples(tf: Tf, f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradientSampleOptions = {}): GradientSample[] {
  const eps = options.eps ?? 1e-2;
  const grads = tf.grads((...xs: Tensor[]) => f(...xs))([...inputs]);
  const out: GradientSample[] = [];
  try {
    for (const [i, x] of inputs.entries()) {
      const g = grads[i]!.dataSync();
      const base = x.dataSync();
      const order = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, options.perInput ?? 64);
      for (const j of order) {
        const at = (delta: number) => {
          const v = Float32Array.from(base);
          v[j]! += delta;
          return tf.tidy(() => {
            const moved = tf.tensor(v, x.shape, 'float32');
            const args = inputs.map((y, k) => (k === i ? moved : y));
            return f(...args).dataSync()[0]!;
          });
        };
        out.push({ input: i, index: j, analytic: g[j]!, numeric: (at(eps) - at(-eps)) / (2 * eps) });
      }
    }
  } finally {
    tf.dispose(grads);
  }
  return out;
}
