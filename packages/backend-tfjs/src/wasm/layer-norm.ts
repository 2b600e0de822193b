/**
 * LayerNorm over the last axis, forward and backward, as WebAssembly SIMD loops on the WASM
 * backend's memory (kernels `StaircaseLayerNorm` and `StaircaseLayerNormGrad`).
 *
 * Why: written with TensorFlow.js ops, one LayerNorm is ~9 whole-tensor kernels forward and ~10
 * backward (means, subtractions, products, a reciprocal square root), ~25 ms of a ~400 ms
 * Transformer-XL step at the reference size on one thread (5 LayerNorms). Here each direction is
 * one kernel of two or three passes per row, with the row in L1.
 *
 * The forward pass keeps each row's mean and `r = 1/√(var + eps)` (two floats per row) instead of
 * the normalised input, which the backward pass recomputes. The backward pass writes `dx` and
 * `dy · x̂`, whose column sums (the gain's gradient, with the bias's from `dy`) are left to the
 * caller's float64 row sums. The arithmetic is the same as `fused.ts`'s (two-pass variance, the
 * closed-form gradient) with sums over four float32 partial sums.
 */
import type { KernelBackend, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { SumRows } from '../fused.js';
import type { Tensor, Tf } from '../tf.js';
import {
  F32,
  F32_ADD,
  F32_DIV,
  F32_MUL,
  F32_SQRT,
  F32X4_ADD,
  F32X4_MUL,
  F32X4_SPLAT,
  F32X4_SUB,
  I32,
  LOOP,
  V128,
  V128_ZERO,
  type WasmFunction,
  advance,
  instantiate,
  countDown,
  f32Const,
  f32Load,
  f32Store,
  horizontal,
  localGet,
  localSet,
  localTee,
  overRow,
  v128Load,
  v128Store,
} from './asm.js';
import { internals, perBackend } from './matmul.js';

/** Names of the kernels registered on the `wasm` backend. */
export const WASM_LAYER_NORM_KERNEL = 'StaircaseLayerNorm';
export const WASM_LAYER_NORM_GRAD_KERNEL = 'StaircaseLayerNormGrad';

// Parameters: 7 i32 (pointers, rows, groups), then f32 1/width and eps; then the locals below.
const PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, F32, F32];
const [INV_WIDTH, EPS] = [8, 9];
const [G, S1, S2, S3, S4, S5] = [10, 11, 12, 13, 14, 15]; // i32: group counter, working pointers
const [ACC, ACC2, M, R, XH, DXH, A, B] = [16, 17, 18, 19, 20, 21, 22, 23]; // v128
const F = 24; // f32
const LOCALS: [number, number][] = [[6, I32], [8, V128], [1, F32]];

/** Pushes the mean over the row of v128 local `acc`'s lanes (sum times 1/width). */
const rowMean = (acc: number) => [...horizontal(acc, F32_ADD), ...localGet(INV_WIDTH), F32_MUL];

/** Sets v128 local `XH` to `(x − mean) · r` for the x vector at pointer local `S1`. */
const normalised = [...localGet(S1), ...v128Load(0), ...localGet(M), ...F32X4_SUB, ...localGet(R), ...F32X4_MUL, ...localSet(XH)];

/** `layerNorm(x, g, b, y, stats, rows, groups, _, invWidth, eps)`: `y = (x − mean) · r · g + b` per row; `stats` gets `[mean, r]` per row. */
function forwardFunction(): WasmFunction {
  const [X, GAIN, BIAS, Y, STATS, ROWS, GROUPS] = [0, 1, 2, 3, 4, 5, 6];
  const code = [...LOOP, ...V128_ZERO, ...localSet(ACC)];
  code.push(...overRow(G, GROUPS, [[S1, X]], [...localGet(ACC), ...localGet(S1), ...v128Load(0), ...F32X4_ADD, ...localSet(ACC)]));
  code.push(...localGet(STATS), ...rowMean(ACC), ...localTee(F), ...f32Store(0), ...localGet(F), ...F32X4_SPLAT, ...localSet(M));
  code.push(...V128_ZERO, ...localSet(ACC));
  const square = [...localGet(S1), ...v128Load(0), ...localGet(M), ...F32X4_SUB, ...localTee(XH), ...localGet(XH), ...F32X4_MUL];
  code.push(...overRow(G, GROUPS, [[S1, X]], [...localGet(ACC), ...square, ...F32X4_ADD, ...localSet(ACC)]));
  // r = 1 / √(var + eps)
  code.push(...localGet(STATS), ...f32Const(1), ...rowMean(ACC), ...localGet(EPS), F32_ADD, F32_SQRT, F32_DIV, ...localTee(F), ...f32Store(4));
  code.push(...localGet(F), ...F32X4_SPLAT, ...localSet(R));
  const affine = [...normalised, ...localGet(S4), ...localGet(XH), ...localGet(S2), ...v128Load(0), ...F32X4_MUL, ...localGet(S3), ...v128Load(0), ...F32X4_ADD, ...v128Store(0)];
  code.push(...overRow(G, GROUPS, [[S1, X], [S2, GAIN], [S3, BIAS], [S4, Y]], affine));
  code.push(...localGet(S1), ...localSet(X), ...localGet(S4), ...localSet(Y), ...advance(STATS, 8), ...countDown(ROWS));
  return { name: 'layerNorm', params: PARAMS, results: [], locals: LOCALS, code };
}

/**
 * `layerNormGrad(x, stats, g, dy, dx, dyx, rows, groups, invWidth, _)`: with `x̂ = (x − mean) · r`
 * and `dx̂ = dy · g`, `dx = r · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂))` and `dyx = dy · x̂`.
 */
function backwardFunction(): WasmFunction {
  const [X, STATS, GAIN, DY, DX, DYX, ROWS, GROUPS] = [0, 1, 2, 3, 4, 5, 6, 7];
  const code = [...LOOP];
  code.push(...localGet(STATS), ...f32Load(0), ...F32X4_SPLAT, ...localSet(M), ...localGet(STATS), ...f32Load(4), ...F32X4_SPLAT, ...localSet(R));
  code.push(...V128_ZERO, ...localSet(ACC), ...V128_ZERO, ...localSet(ACC2));
  const gradient = [...normalised, ...localGet(S3), ...v128Load(0), ...localGet(S2), ...v128Load(0), ...F32X4_MUL, ...localSet(DXH)];
  const sums = [...gradient, ...localGet(ACC), ...localGet(DXH), ...F32X4_ADD, ...localSet(ACC)];
  sums.push(...localGet(ACC2), ...localGet(DXH), ...localGet(XH), ...F32X4_MUL, ...F32X4_ADD, ...localSet(ACC2));
  sums.push(...localGet(S4), ...localGet(S3), ...v128Load(0), ...localGet(XH), ...F32X4_MUL, ...v128Store(0));
  code.push(...overRow(G, GROUPS, [[S1, X], [S2, GAIN], [S3, DY], [S4, DYX]], sums));
  code.push(...rowMean(ACC), ...F32X4_SPLAT, ...localSet(A), ...rowMean(ACC2), ...F32X4_SPLAT, ...localSet(B));
  const dx = [...gradient, ...localGet(S5), ...localGet(DXH), ...localGet(A), ...F32X4_SUB, ...localGet(XH), ...localGet(B), ...F32X4_MUL, ...F32X4_SUB];
  dx.push(...localGet(R), ...F32X4_MUL, ...v128Store(0));
  code.push(...overRow(G, GROUPS, [[S1, X], [S2, GAIN], [S3, DY], [S5, DX]], dx));
  code.push(...localGet(S1), ...localSet(X), ...localGet(S3), ...localSet(DY), ...localGet(S5), ...localSet(DX), ...localGet(S4), ...localSet(DYX));
  code.push(...advance(STATS, 8), ...countDown(ROWS));
  return { name: 'layerNormGrad', params: PARAMS, results: [], locals: LOCALS, code };
}

interface Exports {
  layerNorm(x: number, g: number, b: number, y: number, stats: number, rows: number, groups: number, unused: number, invWidth: number, eps: number): void;
  layerNormGrad(x: number, stats: number, g: number, dy: number, dx: number, dyx: number, rows: number, groups: number, invWidth: number, unused: number): void;
}

const loopsOf = perBackend((memory) => instantiate<Exports>(memory, [forwardFunction(), backwardFunction()]));

type Inputs = Record<string, TensorInfo>;

/** Rows and width of `x` after checking the inputs (float32; `[..., width]`, width a positive multiple of 4; vectors of `width`). */
function checkedShape(kernel: string, x: TensorInfo, vectors: TensorInfo[], others: TensorInfo[]): [number, number] {
  const width = x.shape[x.shape.length - 1] ?? 0;
  if ([x, ...vectors, ...others].some((t) => t.dtype !== 'float32')) throw new Error(`${kernel}: float32 inputs only`);
  if (width === 0 || width % 4 !== 0) throw new Error(`${kernel}: the last axis must be a positive multiple of 4, got [${x.shape}]`);
  if (vectors.some((v) => v.shape.length !== 1 || v.shape[0] !== width)) throw new Error(`${kernel}: gain and bias must be [${width}]`);
  if (others.some((t) => t.shape.join() !== x.shape.join())) throw new Error(`${kernel}: dy must have x's shape [${x.shape}]`);
  return [x.shape.reduce((p, q) => p * q, 1) / width, width];
}

function forward({ inputs, backend, attrs }: { inputs: NamedTensorMap; backend: unknown; attrs: NamedAttrMap }): TensorInfo[] {
  const { x, g, b } = inputs as unknown as Inputs;
  const be = internals(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_LAYER_NORM_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  const [rows, width] = checkedShape(WASM_LAYER_NORM_KERNEL, x!, [g!, b!], []);
  const y = be.makeOutput([...x!.shape], 'float32');
  const stats = be.makeOutput([rows, 2], 'float32');
  const at = (t: TensorInfo) => be.dataIdMap.get(t.dataId)!.memoryOffset;
  if (rows > 0) loopsOf(be).layerNorm(at(x!), at(g!), at(b!), at(y), at(stats), rows, width >> 2, 0, 1 / width, attrs['eps'] as number);
  return [y, stats];
}

function backward({ inputs, backend }: { inputs: NamedTensorMap; backend: unknown }): TensorInfo[] {
  const { x, stats, g, dy } = inputs as unknown as Inputs;
  const be = internals(backend as KernelBackend);
  if (!be) throw new Error(`${WASM_LAYER_NORM_GRAD_KERNEL}: the active backend is not tfjs-backend-wasm 4.x`);
  const [rows, width] = checkedShape(WASM_LAYER_NORM_GRAD_KERNEL, x!, [g!], [dy!]);
  const dx = be.makeOutput([...x!.shape], 'float32');
  const dyx = be.makeOutput([rows, width], 'float32');
  const at = (t: TensorInfo) => be.dataIdMap.get(t.dataId)!.memoryOffset;
  if (rows > 0) loopsOf(be).layerNormGrad(at(x!), at(stats!), at(g!), at(dy!), at(dx), at(dyx), rows, width >> 2, 1 / width, 0);
  return [dx, dyx];
}

/** Whether these kernels can normalise `x` with `[width]` `g` and `b`: WASM with its internals, float32, width a positive multiple of 4. */
export function wasmLayerNormApplies(tf: Tf, x: Tensor, g: Tensor, b: Tensor): boolean {
  const width = x.shape[x.rank - 1] ?? 0;
  const vector = (v: Tensor) => v.rank === 1 && v.shape[0] === width && v.dtype === 'float32';
  return tf.getBackend() === 'wasm' && x.dtype === 'float32' && width > 0 && width % 4 === 0 && vector(g) && vector(b) && internals(tf.backend()) !== null;
}

/**
 * A differentiable LayerNorm on these kernels (see {@link wasmLayerNormApplies}); the gain's and
 * bias's gradients are column sums by `sumRows`.
 */
export function createWasmLayerNorm(tf: Tf, sumRows: SumRows): (x: Tensor, g: Tensor, b: Tensor, eps: number) => Tensor {
  const register = () => {
    if (tf.getKernel(WASM_LAYER_NORM_KERNEL, 'wasm')) return;
    tf.registerKernel({ kernelName: WASM_LAYER_NORM_KERNEL, backendName: 'wasm', kernelFunc: forward as never });
    tf.registerKernel({ kernelName: WASM_LAYER_NORM_GRAD_KERNEL, backendName: 'wasm', kernelFunc: backward as never });
  };
  const byEps = new Map<number, (x: Tensor, g: Tensor, b: Tensor) => Tensor>();
  const withEps = (eps: number) =>
    tf.customGrad((x, g, b, save) => {
      register();
      const [y, stats] = tf.engine().runKernel(WASM_LAYER_NORM_KERNEL, { x, g, b } as unknown as NamedTensorMap, { eps }) as unknown as [Tensor, Tensor];
      (save as (ts: Tensor[]) => void)([x as Tensor, stats, g as Tensor]);
      return {
        value: y,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [sx, sstats, sg] = saved as [Tensor, Tensor, Tensor];
          const [dx, dyx] = tf.engine().runKernel(WASM_LAYER_NORM_GRAD_KERNEL, { x: sx, stats: sstats, g: sg, dy } as unknown as NamedTensorMap) as unknown as [Tensor, Tensor];
          const width = sg.shape[0]!;
          return [dx, sumRows(dyx), sumRows(tf.reshape(dy, [-1, width]))];
        },
      };
    });
  return (x, g, b, eps) => {
    let f = byEps.get(eps);
    if (!f) {
      f = withEps(eps);
      byEps.set(eps, f);
    }
    return f(x, g, b);
  };
}
