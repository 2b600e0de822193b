/**
 * Broadcast adds and multiplies and LayerNorm with hand-written gradients whose reductions over
 * rows are delegated to a caller-chosen `sumRows`.
 *
 * Why: TensorFlow.js differentiates a bias or gain broadcast over `[rows, width]` with a sum over
 * the leading axes, which tfjs-backend-wasm computes by transposing first (7.2 ms for a
 * `[1024, 1024]` bias gradient, against well under 1 ms for the row-sum kernel in `wasm/heap.ts`).
 * LayerNorm's autodiff graph also has about twice the kernels of its closed-form gradient.
 */
import type { Tensor, Tf } from './tf.js';

/** Sums a `[rows, width]` tensor over its rows, giving `[width]`. */
export type SumRows = (x: Tensor) => Tensor;

/** Ops whose gradients reduce rows with {@link SumRows}. */
export interface FusedOps {
  /** `x + b` with `b` broadcast over the leading axes of `x` (`b.shape` a suffix of `x.shape`). */
  addTrailing(x: Tensor, b: Tensor): Tensor;
  /** `x · g` with `g` broadcast over the leading axes of `x`. */
  mulTrailing(x: Tensor, g: Tensor): Tensor;
  /** LayerNorm over the last axis with gain `g` and bias `b` (`[width]`). */
  layerNorm(x: Tensor, g: Tensor, b: Tensor, eps: number): Tensor;
}

/**
 * Whether `b` is a vector (a bias or gain) broadcast over the leading axes of `x`. Only vectors:
 * the custom gradient always computes `b`'s, wasted on constants such as attention masks.
 */
export function isTrailing(x: Tensor, b: Tensor): boolean {
  return b.rank === 1 && x.rank > 1 && b.shape[0] === x.shape[x.rank - 1];
}

export function createFusedOps(tf: Tf, sumRows: SumRows): FusedOps {
  /** Sums `x` (`[..., ...shape]`) over its leading axes down to `shape`. */
  const reduceTo = (x: Tensor, shape: readonly number[]) => {
    const width = shape.reduce((p, q) => p * q, 1);
    return tf.reshape(sumRows(tf.reshape(x, [-1, width])), [...shape]);
  };
  const save = (s: unknown, ts: Tensor[]) => (s as (t: Tensor[]) => void)(ts);

  const addTrailing = tf.customGrad((x, b, s) => {
    save(s, [b as Tensor]);
    return {
      value: tf.add(x as Tensor, b as Tensor),
      gradFunc: (dy: Tensor, saved: Tensor[]) => [dy, reduceTo(dy, saved[0]!.shape)],
    };
  });

  const mulTrailing = tf.customGrad((x, g, s) => {
    save(s, [x as Tensor, g as Tensor]);
    return {
      value: tf.mul(x as Tensor, g as Tensor),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sg] = saved as [Tensor, Tensor];
        return [tf.mul(dy, sg), reduceTo(tf.mul(dy, sx), sg.shape)];
      },
    };
  });

  const layerNorms = new Map<number, (x: Tensor, g: Tensor, b: Tensor) => Tensor>();
  const layerNormWith = (eps: number) =>
    tf.customGrad((x, g, b, s) => {
      const xt = x as Tensor;
      const mean = tf.mean(xt, -1, true);
      const centred = tf.sub(xt, mean);
      const r = tf.rsqrt(tf.add(tf.mean(tf.mul(centred, centred), -1, true), tf.scalar(eps)));
      const normed = tf.mul(centred, r);
      save(s, [normed, r, g as Tensor]);
      return {
        value: tf.add(tf.mul(normed, g as Tensor), b as Tensor),
        // With x̂ = (x − μ)·r: dx = r · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), dx̂ = dy · g.
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [xh, sr, sg] = saved as [Tensor, Tensor, Tensor];
          const dxh = tf.mul(dy, sg);
          const inner = tf.sub(tf.sub(dxh, tf.mean(dxh, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxh, xh), -1, true)));
          return [tf.mul(inner, sr), reduceTo(tf.mul(dy, xh), sg.shape), reduceTo(dy, sg.shape)];
        },
      };
    });

  return {
    addTrailing: (x, b) => addTrailing(x, b),
    mulTrailing: (x, g) => mulTrailing(x, g),
    layerNorm: (x, g, b, eps) => {
      let f = layerNorms.get(eps);
      if (!f) {
        f = layerNormWith(eps);
        layerNorms.set(eps, f);
      }
      return f(x, g, b);
    },
  };
}
