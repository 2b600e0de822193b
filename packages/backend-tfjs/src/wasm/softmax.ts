/**
 * The gradient of softmax, and log-softmax forward and backward, over the last axis as WebAssembly
 * SIMD loops on the WASM backend's memory (kernels `StaircaseSoftmaxGrad`, `StaircaseLogSoftmax`
 * and `StaircaseLogSoftmaxGrad`), with an `exp` of 4 lanes at a time.
 *
 * Why: TensorFlow.js differentiates softmax with four whole-tensor kernels (multiply, sum,
 * subtract with a broadcast, multiply: ~5 ms for an attention's `[8, 4, 128, 256]` scores on this
 * project's machine, against ~0.7 ms here), and composes log-softmax of six, with an `exp` that
 * tfjs-backend-wasm 4.22 computes one element at a time (3.2 ms for the `[1024, 256]` logits of a
 * reference-size step). Softmax's value stays the backend's own kernel, which is faster than a
 * loop here.
 *
 * `exp` is Cephes' `expf`: `x = n·ln 2 + r` with `n` rounded to the nearest integer and `r` split in
 * two parts, a degree-6 polynomial for `eʳ`, and `2ⁿ` built in the exponent bits. It serves the
 * `x ≤ 0` these kernels feed it (a row's values minus their maximum, or log-probabilities):
 * below −87.34 the result is 0, as float32 underflows; above 88 it saturates at e⁸⁸. Sums use four
 * float32 partial sums, so results differ from TensorFlow.js's in the last bits only.
 */
import type { KernelBackend, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tensor, Tf } from '../tf.js';
import {
  F32,
  F32_ADD,
  F32_MAX,
  F32X4_ADD,
  F32X4_LT,
  F32X4_MUL,
  F32X4_PMAX,
  F32X4_PMIN,
  F32X4_SPLAT,
  F32X4_SUB,
  I32,
  I32X4_SHL,
  LOOP,
  V128,
  V128_ANDNOT,
  V128_ZERO,
  type WasmFunction,
  advance,
  instantiate,
  countDown,
  f32Load,
  f32Store,
  f32x4Const,
  i32Const,
  localGet,
  horizontal,
  localSet,
  localTee,
  overRow,
  v128Load,
  v128Store,
} from './asm.js';
import type { HeapAllocator } from './gemm.js';
import { internals, perBackend } from './matmul.js';

/** Names of the kernels registered on the `wasm` backend. */
export const WASM_SOFTMAX_GRAD_KERNEL = 'StaircaseSoftmaxGrad';
export const WASM_LOG_SOFTMAX_KERNEL = 'StaircaseLogSoftmax';
export const WASM_LOG_SOFTMAX_GRAD_KERNEL = 'StaircaseLogSoftmaxGrad';

const EXP_LO = -87.33654; // ln of the smallest normal float32: below it the result is 0
const EXP_HI = 88; // keeps 2ⁿ a finite float32 (n ≤ 127)
const LN2_HI = 0.693359375; // ln 2 = LN2_HI + LN2_LO, LN2_HI exact in a few bits
const LN2_LO = -2.12194440e-4;
const POLY = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
/**
 * 1.5·2²³ + 127: adding it to `x·log₂e` rounds to an integer `n` (the float spacing there is 1) and
 * leaves `n + 127` in the low mantissa bits, which a shift by 23 moves into the exponent: `2ⁿ`.
 */
const ROUNDER = 12582912 + 127;

/**
 * The constants `exp` uses, as v128 locals set once at a function's start (from `CONST`) rather
 * than a `v128.const` at each use, which V8 materialises with several instructions.
 */
const EXP_CONSTANTS: readonly number[] = [EXP_LO, EXP_HI, Math.LOG2E, ROUNDER, LN2_HI, LN2_LO, ...POLY, 1];

/**
 * Pushes `exp(x)` of v128 local `x` onto the stack, using v128 locals `t`, `n`, `r` as scratch. Only
 * single-instruction SIMD operations on x86 (V8 expands `f32x4.min`/`max`, `nearest` and the
 * float-to-int conversions into sequences).
 */
function exp(x: number, t: number, n: number, r: number): number[] {
  const k = (name: (typeof EXP_NAMES)[number]) => localGet(CONST + EXP_NAMES.indexOf(name));
  const code = [...localGet(x), ...k('lo'), ...F32X4_PMAX, ...k('hi'), ...F32X4_PMIN, ...localSet(t)];
  // n + ROUNDER, then n itself
  code.push(...localGet(t), ...k('log2e'), ...F32X4_MUL, ...k('rounder'), ...F32X4_ADD, ...localTee(n), ...k('rounder'), ...F32X4_SUB, ...localSet(r));
  // r = t − n·ln 2 in two parts
  code.push(...localGet(t), ...localGet(r), ...k('ln2Hi'), ...F32X4_MUL, ...F32X4_SUB, ...localGet(r), ...k('ln2Lo'), ...F32X4_MUL, ...F32X4_SUB, ...localSet(r));
  code.push(...k('p0'));
  for (const c of ['p1', 'p2', 'p3', 'p4', 'p5'] as const) code.push(...localGet(r), ...F32X4_MUL, ...k(c), ...F32X4_ADD);
  // e^r ≈ p·r² + r + 1, times 2ⁿ from the exponent bits
  code.push(...localGet(r), ...F32X4_MUL, ...localGet(r), ...F32X4_MUL, ...localGet(r), ...F32X4_ADD, ...k('one'), ...F32X4_ADD);
  code.push(...localGet(n), ...i32Const(23), ...I32X4_SHL, ...F32X4_MUL);
  // 0 where x underflows (−∞ included); NaN stays NaN
  code.push(...localGet(x), ...k('lo'), ...F32X4_LT, ...V128_ANDNOT);
  return code;
}
const EXP_NAMES = ['lo', 'hi', 'log2e', 'rounder', 'ln2Hi', 'ln2Lo', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'one'] as const;

// Local layout shared by the functions: up to 5 i32 parameters, then these locals.
const P = 5;
const [G, S1, S2, S3] = [P, P + 1, P + 2, P + 3]; // i32: counter and working pointers
const [X, ACC, M, T, N, R] = [P + 4, P + 5, P + 6, P + 7, P + 8, P + 9]; // v128
const CONST = P + 10; // v128: EXP_CONSTANTS
const F = CONST + EXP_CONSTANTS.length; // f32
const LOCALS: [number, number][] = [[4, I32], [6 + EXP_CONSTANTS.length, V128], [1, F32]];
/** Sets the constants' locals; every function starts with it. */
const PROLOGUE = EXP_CONSTANTS.flatMap((c, i) => [...f32x4Const(c), ...localSet(CONST + i)]);

/** Every function takes `P` i32 parameters (unused ones last), so all share the local layout above. */
const PARAMS = new Array<number>(P).fill(I32);

/** `max` of the row at local `start` into v128 local `M` (all lanes). */
const rowMax = (start: number, groups: number) => [
  ...f32x4Const(Number.NEGATIVE_INFINITY),
  ...localSet(ACC),
  ...overRow(G, groups, [[S1, start]], [...localGet(ACC), ...localGet(S1), ...v128Load(0), ...F32X4_PMAX, ...localSet(ACC)]),
  ...horizontal(ACC, F32_MAX),
  ...localTee(F),
  ...F32X4_SPLAT,
  ...localSet(M),
];

/** `rowStats(src, stats, rows, groups)`: per row, its max and the sum of `exp(x − max)` as two floats. */
function rowStatsFunction(): WasmFunction {
  const [SRC, STATS, ROWS, GROUPS] = [0, 1, 2, 3];
  const code = [...LOOP, ...rowMax(SRC, GROUPS), ...localGet(STATS), ...localGet(F), ...f32Store(0), ...V128_ZERO, ...localSet(ACC)];
  const body = [...localGet(S1), ...v128Load(0), ...localGet(M), ...F32X4_SUB, ...localSet(X), ...localGet(ACC), ...exp(X, T, N, R), ...F32X4_ADD, ...localSet(ACC)];
  code.push(...overRow(G, GROUPS, [[S1, SRC]], body));
  code.push(...localGet(STATS), ...horizontal(ACC, F32_ADD), ...f32Store(4), ...advance(STATS, 8));
  code.push(...localGet(S1), ...localSet(SRC), ...countDown(ROWS));
  return { name: 'rowStats', params: PARAMS, results: [], locals: LOCALS, code: [...PROLOGUE, ...code] };
}

/** `subtractRows(src, dst, shifts, rows, groups)`: each row minus its float at `shifts`. */
function subtractRowsFunction(): WasmFunction {
  const [SRC, DST, SHIFTS, ROWS, GROUPS] = [0, 1, 2, 3, 4];
  const code = [...LOOP, ...localGet(SHIFTS), ...f32Load(0), ...F32X4_SPLAT, ...localSet(M), ...advance(SHIFTS, 4)];
  code.push(...overRow(G, GROUPS, [[S1, SRC], [S2, DST]], [...localGet(S2), ...localGet(S1), ...v128Load(0), ...localGet(M), ...F32X4_SUB, ...v128Store(0)]));
  code.push(...localGet(S1), ...localSet(SRC), ...localGet(S2), ...localSet(DST), ...countDown(ROWS));
  return { name: 'subtractRows', params: PARAMS, results: [], locals: LOCALS, code: [...PROLOGUE, ...code] };
}

/** `softmaxGrad(y, dy, dx, rows, groups)`: `dx = y · (dy − Σ y·dy)` per row. */
function softmaxGradFunction(): WasmFunction {
  const [Y, DY, DX, ROWS, GROUPS] = [0, 1, 2, 3, 4];
  const code = [...LOOP, ...V128_ZERO, ...localSet(ACC)];
  code.push(...overRow(G, GROUPS, [[S1, Y], [S2, DY]], [...localGet(ACC), ...localGet(S1), ...v128Load(0), ...localGet(S2), ...v128Load(0), ...F32X4_MUL, ...F32X4_ADD, ...localSet(ACC)]));
  code.push(...horizontal(ACC, F32_ADD), ...F32X4_SPLAT, ...localSet(M));
  const body = [...localGet(S3), ...localGet(S1), ...v128Load(0), ...localGet(S2), ...v128Load(0), ...localGet(M), ...F32X4_SUB, ...F32X4_MUL, ...v128Store(0)];
  code.push(...overRow(G, GROUPS, [[S1, Y], [S2, DY], [S3, DX]], body));
  code.push(...localGet(S1), ...localSet(Y), ...localGet(S2), ...localSet(DY), ...localGet(S3), ...localSet(DX), ...countDown(ROWS));
  return { name: 'softmaxGrad', params: PARAMS, results: [], locals: LOCALS, code: [...PROLOGUE, ...code] };
}

/** `logSoftmaxGrad(out, dy, dx, rows, groups)`: `dx = dy − exp(out) · Σ dy` per row. */
function logSoftmaxGradFunction(): WasmFunction {
  const [OUT, DY, DX, ROWS, GROUPS] = [0, 1, 2, 3, 4];
  const code = [...LOOP, ...V128_ZERO, ...localSet(ACC)];
  code.push(...overRow(G, GROUPS, [[S2, DY]], [...localGet(ACC), ...localGet(S2), ...v128Load(0), ...F32X4_ADD, ...localSet(ACC)]));
  code.push(...horizontal(ACC, F32_ADD), ...F32X4_SPLAT, ...localSet(M));
  const body = [...localGet(S1), ...v128Load(0), ...localSet(X), ...localGet(S3), ...localGet(S2), ...v128Load(0)];
  body.push(...exp(X, T, N, R), ...localGet(M), ...F32X4_MUL, ...F32X4_SUB, ...v128Store(0));
  code.push(...overRow(G, GROUPS, [[S1, OUT], [S2, DY], [S3, DX]], body));
  code.push(...localGet(S1), ...localSet(OUT), ...localGet(S2), ...localSet(DY), ...localGet(S3), ...localSet(DX), ...countDown(ROWS));
  return { name: 'logSoftmaxGrad', params: PARAMS, results: [], locals: LOCALS, code: [...PROLOGUE, ...code] };
}

interface Exports {
  rowStats(src: number, stats: number, rows: number, groups: number, unused: number): void;
  subtractRows(src: number, dst: number, shifts: number, rows: number, groups: number): void;
  softmaxGrad(y: number, dy: number, dx: number, rows: number, groups: number): void;
  logSoftmaxGrad(out: number, dy: number, dx: number, rows: number, groups: number): void;
}

/** The loops on one memory; arguments are byte offsets of float32 `[rows, width]` matrices, `width` a multiple of 4. */
export class SoftmaxLoops {
  private readonly exports: Exports;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly heap: HeapAllocator,
  ) {
    this.exports = instantiate<Exports>(memory, [rowStatsFunction(), subtractRowsFunction(), softmaxGradFunction(), logSoftmaxGradFunction()]);
  }

  /** `x − max − ln Σ exp(x − max)` per row; the logarithm is taken in JavaScript, once per row. */
  logSoftmax(src: number, dst: number, rows: number, width: number): void {
    if (rows === 0) return;
    const stats = this.heap.malloc(8 * rows + 16);
    try {
      const base = (stats + 15) & ~15;
      this.exports.rowStats(src, base, rows, width >> 2, 0);
      // View taken after the allocation: allocating may grow (and so replace) the memory's buffer.
      const f = new Float32Array(this.memory.buffer, base, 2 * rows);
      for (let r = 0; r < rows; r++) f[r] = f[2 * r]! + Math.log(f[2 * r + 1]!); // r ≤ 2r: read before written
      this.exports.subtractRows(src, dst, base, rows, width >> 2);
    } finally {
      this.heap.free(stats);
    }
  }

  softmaxGrad(y: number, dy: number, dx: number, rows: number, width: number): void {
    if (rows > 0) this.exports.softmaxGrad(y, dy, dx, rows, width >> 2);
  }

  logSoftmaxGrad(out: number, dy: number, dx: number, rows: number, width: number): void {
    if (rows > 0) this.exports.logSoftmaxGrad(out, dy, dx, rows, width >> 2);
  }
}

const loopsOf = perBackend((memory, heap) => new SoftmaxLoops(memory, heap));

type Loop = 'logSoftmax' | 'softmaxGrad' | 'logSoftmaxGrad';

/** A kernel running one loop on its inputs (in order) into a new tensor of the first input's shape. */
function rowKernel(kernelName: string, loop: Loop, names: readonly string[]) {
  return ({ inputs, backend }: { inputs: NamedTensorMap; backend: unknown }): TensorInfo => {
    const be = internals(backend as KernelBackend);
    if (!be) throw new Error(`${kernelName}: the active backend is not tfjs-backend-wasm 4.x`);
    const ins = names.map((n) => (inputs as unknown as Record<string, TensorInfo>)[n]!);
    const shape = ins[0]!.shape;
    if (ins.some((t) => t.dtype !== 'float32' || t.shape.join() !== shape.join())) throw new Error(`${kernelName}: float32 inputs of one shape only`);
    const width = shape[shape.length - 1] ?? 0;
    if (width === 0 || width % 4 !== 0) throw new Error(`${kernelName}: the last axis must be a positive multiple of 4, got [${shape}]`);
    const rows = shape.reduce((p, q) => p * q, 1) / width;
    const out = be.makeOutput([...shape], 'float32');
    const at = (t: TensorInfo) => be.dataIdMap.get(t.dataId)!.memoryOffset;
    const loops = loopsOf(be);
    if (loop === 'logSoftmax') loops.logSoftmax(at(ins[0]!), at(out), rows, width);
    else loops[loop](at(ins[0]!), at(ins[1]!), at(out), rows, width);
    return out;
  };
}

/** Whether these kernels can run `x`: the WASM backend with its internals, float32, a last axis of a positive multiple of 4. */
export function wasmSoftmaxApplies(tf: Tf, x: Tensor): boolean {
  const width = x.shape[x.rank - 1] ?? 0;
  return tf.getBackend() === 'wasm' && x.dtype === 'float32' && x.rank >= 1 && width > 0 && width % 4 === 0 && internals(tf.backend()) !== null;
}

/** Registers the kernels once per tfjs-core instance. */
function register(tf: Tf): void {
  if (tf.getKernel(WASM_LOG_SOFTMAX_KERNEL, 'wasm')) return;
  const kernels: [string, Loop, string[]][] = [
    [WASM_LOG_SOFTMAX_KERNEL, 'logSoftmax', ['x']],
    [WASM_SOFTMAX_GRAD_KERNEL, 'softmaxGrad', ['y', 'dy']],
    [WASM_LOG_SOFTMAX_GRAD_KERNEL, 'logSoftmaxGrad', ['out', 'dy']],
  ];
  for (const [kernelName, loop, names] of kernels) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: rowKernel(kernelName, loop, names) as never });
}

/** Differentiable softmax and log-softmax over the last axis on these kernels (see {@link wasmSoftmaxApplies}). */
export interface WasmSoftmax {
  softmax(x: Tensor): Tensor;
  logSoftmax(x: Tensor): Tensor;
}

/** Creates the differentiable ops (each saves its output for the backward pass). */
export function createWasmSoftmax(tf: Tf): WasmSoftmax {
  const run = (name: string, inputs: Record<string, Tensor>) => {
    register(tf);
    return tf.engine().runKernel(name, inputs as unknown as NamedTensorMap) as Tensor;
  };
  const save = (s: unknown, ts: Tensor[]) => (s as (t: Tensor[]) => void)(ts);
  const softmax = tf.customGrad((x, s) => {
    // The value from the backend's own kernel (XNNPACK's, 2.0 ms for [8, 4, 128, 256] against
    // 2.8 ms for a loop here); its TensorFlow.js gradient is the slow part.
    const y = tf.softmax(x as Tensor);
    save(s, [y]);
    return { value: y, gradFunc: (dy: Tensor, saved: Tensor[]) => run(WASM_SOFTMAX_GRAD_KERNEL, { y: saved[0]!, dy }) };
  });
  const logSoftmax = tf.customGrad((x, s) => {
    const out = run(WASM_LOG_SOFTMAX_KERNEL, { x: x as Tensor });
    save(s, [out]);
    return { value: out, gradFunc: (dy: Tensor, saved: Tensor[]) => run(WASM_LOG_SOFTMAX_GRAD_KERNEL, { out: saved[0]!, dy }) };
  });
  return { softmax: (x) => softmax(x), logSoftmax: (x) => logSoftmax(x) };
}
