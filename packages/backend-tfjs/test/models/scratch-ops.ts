import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Ops } from '@staircase/core';

export function scratchOps(): Ops<tf.Tensor> {
  const gatherGrad = tf.customGrad((table: tf.Tensor, idx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([idx]);
    return {
      value: tf.gather(table, idx as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const i = saved[0]!;
        const n = table.shape[0]!;
        const oh = tf.oneHot(tf.reshape(i, [-1]) as tf.Tensor1D, n); // [m, n]
        const rest = table.shape.slice(1);
        const g = tf.matMul(tf.transpose(oh), tf.reshape(dy, [-1, rest.reduce((a, b) => a * b, 1)]));
        return [tf.reshape(g, table.shape), tf.zerosLike(i)];
      },
    };
  });
  return {
    name: 'scratch',
    constant: (v, s) => tf.tensor(Float32Array.from(v), [...s], 'float32'),
    constantInt: (v, s) => tf.tensor(Int32Array.from(v), [...s], 'int32'),
    zeros: (s) => tf.zeros([...s]),
    shape: (x) => [...x.shape],
    reshape: (x, s) => tf.reshape(x, [...s]),
    transpose: (x, p) => tf.transpose(x, [...p]),
    concat: (xs, a) => tf.concat([...xs], a),
    slice: (x, b, s) => tf.slice(x, [...b], [...s]),
    add: tf.add, sub: tf.sub, mul: tf.mul, scale: (x, s) => tf.mul(x, s),
    relu: tf.relu, gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))))),
    matMul: (a, b) => {
      if (a.rank > 2 && b.rank === 2) {
        const lead = a.shape.slice(0, -1);
        return tf.reshape(tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]!]), b), [...lead, b.shape[1]!]);
      }
      return tf.matMul(a, b);
    },
    softmax: (x) => tf.softmax(x), logSoftmax: (x) => tf.logSoftmax(x),
    layerNorm: (x, g, b, eps) => { const m = tf.moments(x, -1, true); return tf.add(tf.mul(tf.div(tf.sub(x, m.mean), tf.sqrt(tf.add(m.variance, eps))), g), b); },
    gather: (t, i) => { const s = i.shape; const flat = tf.reshape(i, [-1]); const r = gatherGrad(t, flat) as tf.Tensor; return tf.reshape(r, [...s, ...t.shape.slice(1)]); },
    oneHot: (i, d) => tf.cast(tf.oneHot(tf.cast(i, 'int32') as tf.Tensor1D, d), 'float32'),
    sum: (x, axes) => tf.sum(x, axes ? [...axes] : undefined),
    dropout: (x, r) => tf.dropout(x, r),
    stopGradient: (x) => tf.customGrad((y: tf.Tensor) => ({ value: tf.clone(y), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) }))(x) as tf.Tensor,
  };
}
