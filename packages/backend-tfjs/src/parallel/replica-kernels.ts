/**
 * The data-parallel trainer's two loops over every parameter, in WebAssembly SIMD on the replicas'
 * shared memory: summing the replicas' gradients (with the squared norm) and the AdamW update. In
 * JavaScript they took 7–31 ms each per step at the reference size (1.7 M parameters); here 4
 * floats move per instruction.
 */
import {
  BR_IF_LOOP,
  END,
  F32,
  F32X4_ADD,
  F32X4_DIV,
  F32X4_MUL,
  F32X4_SPLAT,
  F32X4_SQRT,
  F32X4_SUB,
  F64,
  F64_ADD,
  F64X2_ADD,
  F64X2_MUL,
  F64X2_PROMOTE_LOW,
  I32,
  I32_ADD,
  I32_SUB,
  LOOP,
  V128,
  type WasmFunction,
  instantiate,
  f64x2ExtractLane,
  i32Const,
  localGet,
  localSet,
  localTee,
  shuffleLanes,
  v128Load,
  v128Store,
} from '../wasm/asm.js';

/**
 * `reduce(dst, src, stride, count, groups) → f64`: for `groups` × 4 floats, `dst = src₀ + src₁ + …`
 * over `count` vectors `stride` bytes apart (added in that order), returning the sum of the squared
 * results in float64. `dst` may be one of the sources: each group is read before it is written.
 */
function reduceFunction(): WasmFunction {
  const [DST, SRC, STRIDE, COUNT, GROUPS] = [0, 1, 2, 3, 4];
  const [R, P] = [5, 6];
  const [ACC, LOW, HIGH, TMP] = [7, 8, 9, 10];
  const square = (into: number) => [...localGet(TMP), ...localGet(TMP), ...F64X2_MUL, ...localGet(into), ...F64X2_ADD, ...localSet(into)];
  const code = [...LOOP];
  code.push(...localGet(SRC), ...v128Load(0), ...localSet(ACC), ...localGet(SRC), ...localSet(P));
  code.push(...localGet(COUNT), ...i32Const(1), I32_SUB, ...localSet(R));
  // block { loop { if r == 0 break; p += stride; acc += load(p); r -= 1; continue } }
  code.push(0x02, 0x40, ...LOOP, ...localGet(R), 0x45, 0x0d, 1);
  code.push(...localGet(P), ...localGet(STRIDE), I32_ADD, ...localTee(P), ...v128Load(0), ...localGet(ACC), ...F32X4_ADD, ...localSet(ACC));
  code.push(...localGet(R), ...i32Const(1), I32_SUB, ...localSet(R), 0x0c, 0, END, END);
  code.push(...localGet(DST), ...localGet(ACC), ...v128Store(0));
  code.push(...localGet(ACC), ...F64X2_PROMOTE_LOW, ...localSet(TMP), ...square(LOW));
  code.push(...localGet(ACC), ...localGet(ACC), ...shuffleLanes([2, 3, 0, 1]), ...F64X2_PROMOTE_LOW, ...localSet(TMP), ...square(HIGH));
  code.push(...localGet(SRC), ...i32Const(16), I32_ADD, ...localSet(SRC), ...localGet(DST), ...i32Const(16), I32_ADD, ...localSet(DST));
  code.push(...localGet(GROUPS), ...i32Const(1), I32_SUB, ...localTee(GROUPS), ...BR_IF_LOOP, END);
  code.push(...localGet(LOW), ...localGet(HIGH), ...F64X2_ADD, ...localTee(TMP), ...f64x2ExtractLane(0), ...localGet(TMP), ...f64x2ExtractLane(1), F64_ADD);
  return { name: 'reduce', params: [I32, I32, I32, I32, I32], results: [F64], locals: [[2, I32], [4, V128]], code };
}

/**
 * `adamw(g, p, m, v, p′, m′, v′, groups, β₁, β₂, 1−β₁, 1−β₂, lr/(1−β₁ᵗ), 1/(1−β₂ᵗ), ε, keep, scale)`:
 * AdamW on `groups` × 4 floats in float32: `g ← g·scale`, `m′ ← β₁m + (1−β₁)g`,
 * `v′ ← β₂v + (1−β₂)g²`, `p′ ← p·keep − m′·lr/(1−β₁ᵗ) ÷ (√(v′/(1−β₂ᵗ)) + ε)`, `keep` = 1 − lr·decay
 * (or 1). Each output may be its input (an update in place) or a separate array.
 */
function adamwFunction(): WasmFunction {
  const [G, P, M, V, PO, MO, VO, GROUPS] = [0, 1, 2, 3, 4, 5, 6, 7];
  const scalars = 9; // parameters 8…16
  const splat = (j: number) => 8 + scalars + j; // their f32x4 splats, in the same order
  const [B1, B2, C1, C2, STEP, UNBIAS, EPS, KEEP, SCALE] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(splat) as number[];
  const [GV, M1, V1] = [8 + 2 * scalars, 9 + 2 * scalars, 10 + 2 * scalars];
  const code: number[] = [];
  for (let j = 0; j < scalars; j++) code.push(...localGet(8 + j), ...F32X4_SPLAT, ...localSet(splat(j)));
  code.push(...LOOP);
  code.push(...localGet(G), ...v128Load(0), ...localGet(SCALE!), ...F32X4_MUL, ...localSet(GV));
  code.push(...localGet(M), ...v128Load(0), ...localGet(B1!), ...F32X4_MUL, ...localGet(GV), ...localGet(C1!), ...F32X4_MUL, ...F32X4_ADD, ...localSet(M1));
  code.push(...localGet(V), ...v128Load(0), ...localGet(B2!), ...F32X4_MUL, ...localGet(GV), ...localGet(GV), ...F32X4_MUL, ...localGet(C2!), ...F32X4_MUL, ...F32X4_ADD, ...localSet(V1));
  code.push(...localGet(MO), ...localGet(M1), ...v128Store(0), ...localGet(VO), ...localGet(V1), ...v128Store(0));
  code.push(...localGet(PO), ...localGet(P), ...v128Load(0), ...localGet(KEEP!), ...F32X4_MUL);
  code.push(...localGet(M1), ...localGet(STEP!), ...F32X4_MUL, ...localGet(V1), ...localGet(UNBIAS!), ...F32X4_MUL, ...F32X4_SQRT, ...localGet(EPS!), ...F32X4_ADD, ...F32X4_DIV);
  code.push(...F32X4_SUB, ...v128Store(0));
  for (const ptr of [G, P, M, V, PO, MO, VO]) code.push(...localGet(ptr), ...i32Const(16), I32_ADD, ...localSet(ptr));
  code.push(...localGet(GROUPS), ...i32Const(1), I32_SUB, ...localTee(GROUPS), ...BR_IF_LOOP, END);
  return { name: 'adamw', params: [...new Array<number>(8).fill(I32), ...new Array<number>(scalars).fill(F32)], results: [], locals: [[scalars + 3, V128]], code };
}

/** AdamW's constants for one update (see {@link ReplicaKernels.adamw}). */
export interface AdamWConstants {
  readonly b1: number;
  readonly b2: number;
  /** lr / (1 − β₁ᵗ). */
  readonly step: number;
  /** 1 / (1 − β₂ᵗ). */
  readonly unbias2: number;
  readonly eps: number;
  /** 1 − lr · weight decay, or 1 for parameters without decay. */
  readonly keep: number;
  /** Gradient scale (clipping). */
  readonly scale: number;
}

interface Exports {
  reduce(dst: number, src: number, stride: number, count: number, groups: number): number;
  adamw(g: number, p: number, m: number, v: number, pOut: number, mOut: number, vOut: number, groups: number, b1: number, b2: number, c1: number, c2: number, step: number, unbias2: number, eps: number, keep: number, scale: number): void;
}

/** Where {@link ReplicaKernels.adamw} writes its results: views of the same memory, each as long as the inputs. */
export interface AdamWOutputs {
  readonly p: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/**
 * The two loops on one memory (the replicas' shared memory, or the WASM backend's own for the
 * single-process trainer); arrays passed in must be views of that memory.
 */
export class ReplicaKernels {
  private readonly exports: Exports;

  constructor(memory: WebAssembly.Memory) {
    this.exports = instantiate<Exports>(memory, [reduceFunction(), adamwFunction()]);
  }

  /**
   * `dst[i] = Σⱼ sources[j][i]` in the order given, for every `i` of `dst`; returns `Σ dst[i]²` in
   * float64. `sources` are equally spaced views of the same length as `dst`; `dst` may be one of them.
   */
  reduce(dst: Float32Array, sources: readonly Float32Array[]): number {
    const n = dst.length;
    const stride = sources.length > 1 ? sources[1]!.byteOffset - sources[0]!.byteOffset : 0;
    const groups = n >> 2;
    let squares = groups > 0 ? this.exports.reduce(dst.byteOffset, sources[0]!.byteOffset, stride, sources.length, groups) : 0;
    for (let i = 4 * groups; i < n; i++) {
      let s = 0;
      for (const src of sources) s = Math.fround(s + src[i]!);
      dst[i] = s;
      squares += s * s;
    }
    return squares;
  }

  /**
   * One AdamW update from `g` of `p`, `m`, `v` (all views of equal length), in place, or into
   * `out` leaving the inputs as they were.
   */
  adamw(g: Float32Array, p: Float32Array, m: Float32Array, v: Float32Array, c: AdamWConstants, out: AdamWOutputs = { p, m, v }): void {
    const n = g.length;
    const groups = n >> 2;
    if (groups > 0) {
      this.exports.adamw(g.byteOffset, p.byteOffset, m.byteOffset, v.byteOffset, out.p.byteOffset, out.m.byteOffset, out.v.byteOffset, groups, c.b1, c.b2, 1 - c.b1, 1 - c.b2, c.step, c.unbias2, c.eps, c.keep, c.scale);
    }
    const f = Math.fround;
    for (let i = 4 * groups; i < n; i++) {
      const gi = f(g[i]! * c.scale);
      const m1 = f(f(m[i]! * c.b1) + f(gi * f(1 - c.b1)));
      const v1 = f(f(v[i]! * c.b2) + f(f(gi * gi) * f(1 - c.b2)));
      out.m[i] = m1;
      out.v[i] = v1;
      out.p[i] = f(p[i]! * c.keep) - f(m1 * c.step) / (f(Math.sqrt(f(v1 * c.unbias2))) + c.eps);
    }
  }
}
