import '@staircase/ladder';
import '@staircase/staircase';
import { type Model, type ModelState, createModel } from '@staircase/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTfjsOps } from '../../src/ops.js';
import { selectBackend } from '../../src/select.js';
import { tensorParams, tinyBase, tinyKinds } from './kinds.js';

await selectBackend({ backend: 'cpu' });
const ops = createTfjsOps(tf);
const base = tinyBase;
const kinds = tinyKinds;
const paramsOf = (model: Model) => tensorParams(tf, model);

const B = 2;
const T = 17;
const tokens = Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 11);

function run(model: Model, params: Record<string, tf.Tensor>, toks: number[], cuts: number[], carry = true): number[][] {
  let state: ModelState<tf.Tensor> | null = null;
  const parts: tf.Tensor[] = [];
  let t0 = 0;
  for (const cut of cuts) {
    const seg = [];
    for (let b = 0; b < B; b++) seg.push(...toks.slice(b * T + t0, b * T + cut));
    const out: ReturnType<Model['forward']> = model.forward(ops, params, ops.constantInt(seg, [B, cut - t0]), state);
    parts.push(out.logits as tf.Tensor);
    state = carry ? (out.state as ModelState<tf.Tensor>) : null;
    t0 = cut;
  }
  // One array of vocabulary logits per (row, position), rows first.
  return (tf.concat(parts, 1).arraySync() as number[][][]).flat();
}

function relErr(a: number[][], b: number[][]): number {
  let num = 0;
  let den = 0;
  for (const [i, row] of a.entries()) {
    for (const [j, v] of row.entries()) {
      num = Math.max(num, Math.abs(v - b[i]![j]!));
      den = Math.max(den, Math.abs(v));
    }
  }
  return num / den;
}

describe.each(Object.keys(kinds))('%s', (kind) => {
  for (const position of [base.position, { type: 'rope', base: 10000 }]) {
    const model = createModel({ ...base, position, ...kinds[kind] });
    const params = paramsOf(model);
    it(`one call == segments == token by token (${position.type})`, () => {
      const whole = run(model, params, tokens, [T]);
      const segs = run(model, params, tokens, [5, 6, 11, 17]);
      const stream = run(model, params, tokens, Array.from({ length: T }, (_, i) => i + 1));
      expect(relErr(whole, segs)).toBeLessThan(1e-5);
      expect(relErr(whole, stream)).toBeLessThan(1e-5);
      // The carried state matters: dropping it changes the outputs.
      expect(relErr(whole, run(model, params, tokens, [5, 11, 17], false))).toBeGreaterThan(1e-3);
    });

    it(`is causal (${position.type})`, () => {
      const whole = run(model, params, tokens, [T]);
      for (const t of [0, 6, 13]) {
        const changed = [...tokens];
        for (let b = 0; b < B; b++) changed[b * T + t] = (changed[b * T + t]! + 5) % 11;
        const other = run(model, params, changed, [T]);
        for (let b = 0; b < B; b++) {
          const rows = (x: number[][]) => x.slice(b * T, b * T + t);
          if (t > 0) expect(relErr(rows(whole), rows(other))).toBeLessThan(1e-6);
          expect(relErr(whole.slice(b * T + t, (b + 1) * T), other.slice(b * T + t, (b + 1) * T))).toBeGreaterThan(1e-4);
        }
      }
    });
  }
});

describe('passes and special cases', () => {
  it('every token gets exactly n passes of R·L layer applications, in one call and streaming', () => {
    for (const cfg of [kinds.staircase, kinds['cached-staircase'], kinds['global-staircase'], kinds['staircase-ladder']]) {
      const model = createModel({ ...base, ...cfg });
      const { passes, repeats = 1 } = cfg as { passes: number; repeats?: number };
      const params = paramsOf(model);
      for (const cuts of [[T], Array.from({ length: T }, (_, i) => i + 1)]) {
        const seen = Array.from({ length: T }, () => [] as number[]);
        let apps = 0;
        let state: ModelState<tf.Tensor> | null = null;
        let t0 = 0;
        for (const cut of cuts) {
          const out: ReturnType<Model['forward']> = model.forward(ops, params, ops.constantInt(tokens.slice(0, cut - t0), [1, cut - t0]), state, {
            onPass: (e) => {
              for (let t = e.start; t < e.end; t++) seen[t]!.push(e.pass);
              apps += (e.end - e.start) * e.layerApplications;
            },
          });
          state = out.state as ModelState<tf.Tensor>;
          t0 = cut;
        }
        for (const s of seen) expect(s).toEqual(Array.from({ length: passes }, (_, i) => i + 1));
        expect(apps).toBe(T * model.cost().layerApplicationsPerToken);
        expect(model.cost().layerApplicationsPerToken).toBe(passes * repeats * base.layers);
      }
    }
  });

  it('Ladder with R = 1 equals the Transformer', () => {
    const xl = createModel({ ...base, kind: 'transformer-xl', memory: 4 });
    const lad = createModel({ ...base, kind: 'ladder', repeats: 1, memory: 4 });
    const params = paramsOf(xl);
    expect(relErr(run(xl, params, tokens, [6, 17]), run(lad, params, tokens, [6, 17]))).toBeLessThan(1e-6);
    const lad2 = createModel({ ...base, kind: 'ladder', repeats: 2, memory: 4 });
    expect(relErr(run(xl, params, tokens, [17]), run(lad2, params, tokens, [17]))).toBeGreaterThan(1e-3);
  });

  it('Staircase with one chunk covering the input and n = 1 equals the Transformer', () => {
    const xl = createModel({ ...base, kind: 'transformer-xl', memory: T });
    const st = createModel({ ...base, kind: 'staircase', chunk: T, passes: 1 });
    const params = paramsOf(xl);
    expect(relErr(run(xl, params, tokens, [T]), run(st, params, tokens, [T]))).toBeLessThan(1e-5);
  });
});
