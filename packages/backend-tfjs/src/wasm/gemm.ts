/**
 * A matrix product for WebAssembly memory: a register-blocked SIMD micro-kernel, assembled here
 * byte by byte, behind a packing driver in the style of BLIS/GotoBLAS.
 *
 * Why our own: tfjs-backend-wasm 4.22 multiplies through XNNPACK at 16–18 GFLOP/s on one core of
 * this project's reference machine, about 35 % of what its f32x4 units can do (42–50 GFLOP/s,
 * `bench/wasm-simd-peak.ts`), and runs transposed or batched products in a scalar loop. The
 * micro-kernel here keeps a 4 × 8 tile of the output in eight SIMD registers and, where the engine
 * supports relaxed SIMD, updates it with fused multiply-adds (`f32x4.relaxed_madd`): separate
 * multiplies and adds leave the kernel bound by instruction issue at about 25 GFLOP/s, the fused
 * form reaches 41–49 on the same machine. Where relaxed SIMD is missing it falls back to
 * multiply + add, with the same results up to rounding.
 *
 * The driver packs blocks of `op(A)` into 4-row panels and of `op(B)` into 8-column panels
 * (zero-padded at the edges), so one kernel serves every transpose and every size; the packed `A`
 * block (128 × 256) stays in L2, one `B` panel (256 × 8) in L1. Full panels are packed by SIMD
 * copies and 4 × 4 shuffles in the same module (packing in JavaScript cost 13–50 % of a product);
 * edges element by element.
 *
 * No WebAssembly toolchain is needed to build this package: the module is under 1.5 KB,
 * assembled by `asm.ts` from the instruction encodings of the WebAssembly core and SIMD
 * specifications.
 */

import {assembleModule, isShared, 
  BR_IF_LOOP, ELSE, END, F32X4_ADD, F32X4_MUL, F32X4_RELAXED_MADD, I32, I32_ADD, I32_SUB, IF, i32Const, LOOP, loadSplat, localGet, localSet, localTee, shuffleLanes, V128, V128_ZERO,v128Load, v128Store,
  type WasmFunction, 
} from './asm.js';

/** Rows of the output tile the micro-kernel keeps in registers. */
const MR = 4;
/** Columns of the output tile (two f32x4 vectors per row). */
const NR = 8;
/** Depth of one packed block: a 256 × 8 `B` panel is 8 KiB and stays in L1. */
const KC = 256;
/** Rows of one packed `A` block: 128 × 256 floats, 128 KiB, stays in L2. */
const MC = 128;

/**
 * `block(a, b, c, kc, panels, ldc, accumulate)`: for each of `panels` packed `A` panels (4 rows ×
 * kc, stored `[kc][4]`, consecutive from byte `a`) it multiplies by the packed `B` panel at `b`
 * (kc × 8, stored `[kc][8]`) and writes the 4 × 8 tile to `c` (row stride `ldc` bytes), adding to
 * what is there when `accumulate` ≠ 0; the next panel's tile is 4 rows further down.
 */
function blockFunction(fma: boolean): WasmFunction {
  const V = NR / 4;
  const [A, B, C, K, PANELS, LDC, ACCUMULATE] = [0, 1, 2, 3, 4, 5, 6]; // parameters
  const [STEP, AP, CP, PTR] = [7, 8, 9, 10]; // i32 locals
  const acc = (r: number, v: number) => 11 + r * V + v; // v128 locals
  const bv = (v: number) => 11 + MR * V + v;
  const av = 11 + MR * V + V;

  const code: number[] = [...localGet(A), ...localSet(AP), ...localGet(C), ...localSet(CP)];
  code.push(...LOOP); // over panels
  // The tile starts from C (accumulate) or from zero.
  code.push(...localGet(ACCUMULATE), ...IF, ...localGet(CP), ...localSet(PTR));
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < V; v++) code.push(...localGet(PTR), ...v128Load(16 * v), ...localSet(acc(r, v)));
    if (r < MR - 1) code.push(...localGet(PTR), ...localGet(LDC), I32_ADD, ...localSet(PTR));
  }
  code.push(ELSE);
  for (let r = 0; r < MR; r++) for (let v = 0; v < V; v++) code.push(...V128_ZERO, ...localSet(acc(r, v)));
  code.push(END);
  // Over the depth: two B vectors, then each A element broadcast and multiplied into a row.
  code.push(...localGet(K), ...localSet(STEP), ...localGet(B), ...localSet(PTR));
  code.push(...LOOP);
  for (let v = 0; v < V; v++) code.push(...localGet(PTR), ...v128Load(16 * v), ...localSet(bv(v)));
  for (let r = 0; r < MR; r++) {
    code.push(...localGet(AP), ...loadSplat(4 * r), ...localSet(av));
    for (let v = 0; v < V; v++) {
      if (fma) code.push(...localGet(av), ...localGet(bv(v)), ...localGet(acc(r, v)), ...F32X4_RELAXED_MADD);
      else code.push(...localGet(acc(r, v)), ...localGet(av), ...localGet(bv(v)), ...F32X4_MUL, ...F32X4_ADD);
      code.push(...localSet(acc(r, v)));
    }
  }
  code.push(...localGet(AP), ...i32Const(4 * MR), I32_ADD, ...localSet(AP));
  code.push(...localGet(PTR), ...i32Const(4 * NR), I32_ADD, ...localSet(PTR));
  code.push(...localGet(STEP), ...i32Const(1), I32_SUB, ...localTee(STEP), ...BR_IF_LOOP, END);
  // Store the tile; CP moves on to the next panel's rows.
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < V; v++) code.push(...localGet(CP), ...localGet(acc(r, v)), ...v128Store(16 * v));
    code.push(...localGet(CP), ...localGet(LDC), I32_ADD, ...localSet(CP));
  }
  code.push(...localGet(PANELS), ...i32Const(1), I32_SUB, ...localTee(PANELS), ...BR_IF_LOOP, END);
  return { name: 'block', params: new Array<number>(7).fill(I32), results: [], locals: [[4, I32], [MR * V + V + 1, V128]], code };
}

/**
 * `copy(src, ldSrc, dst, count)`: `count` times, copies `vectors` × 4 floats from `src` to `dst`,
 * then steps `src` by `ldSrc` bytes and `dst` by the copied width. Packs a panel whose rows are
 * contiguous in the source (`B` as stored, `A` stored transposed).
 */
function copyFunction(name: string, vectors: number): WasmFunction {
  const [SRC, LD, DST, COUNT] = [0, 1, 2, 3];
  const code: number[] = [...LOOP];
  for (let v = 0; v < vectors; v++) code.push(...localGet(DST), ...localGet(SRC), ...v128Load(16 * v), ...v128Store(16 * v));
  code.push(...localGet(SRC), ...localGet(LD), I32_ADD, ...localSet(SRC));
  code.push(...localGet(DST), ...i32Const(16 * vectors), I32_ADD, ...localSet(DST));
  code.push(...localGet(COUNT), ...i32Const(1), I32_SUB, ...localTee(COUNT), ...BR_IF_LOOP, END);
  return { name, params: [I32, I32, I32, I32], results: [], locals: [], code };
}

/**
 * `transpose(src, ldSrc, dst, groups)`: 4 source rows (`ldSrc` bytes apart), 4 × `groups` floats
 * each, into `[4·groups][4]` at `dst`, one output row every `dstStride` bytes. Packs `A` as stored
 * (4 rows into a panel) and `B` stored transposed (two calls fill the 8-wide panel's halves).
 */
function transposeFunction(name: string, dstStride: number): WasmFunction {
  const [SRC, LD, DST, GROUPS] = [0, 1, 2, 3];
  const ROW = 4; // i32 local: the current source row
  const v = (i: number) => 5 + i; // v128 locals: 4 rows in, 4 half-interleaved
  const t = (i: number) => 9 + i;
  const code: number[] = [...LOOP];
  code.push(...localGet(SRC), ...localSet(ROW));
  for (let r = 0; r < 4; r++) {
    code.push(...localGet(ROW), ...v128Load(0), ...localSet(v(r)));
    if (r < 3) code.push(...localGet(ROW), ...localGet(LD), I32_ADD, ...localSet(ROW));
  }
  // (r0 r1 interleaved, r2 r3 interleaved), low then high halves; then pairs of those make columns.
  code.push(...localGet(v(0)), ...localGet(v(1)), ...shuffleLanes([0, 4, 1, 5]), ...localSet(t(0)));
  code.push(...localGet(v(2)), ...localGet(v(3)), ...shuffleLanes([0, 4, 1, 5]), ...localSet(t(1)));
  code.push(...localGet(v(0)), ...localGet(v(1)), ...shuffleLanes([2, 6, 3, 7]), ...localSet(t(2)));
  code.push(...localGet(v(2)), ...localGet(v(3)), ...shuffleLanes([2, 6, 3, 7]), ...localSet(t(3)));
  const columns: [number, number, [number, number, number, number]][] = [[0, 1, [0, 1, 4, 5]], [0, 1, [2, 3, 6, 7]], [2, 3, [0, 1, 4, 5]], [2, 3, [2, 3, 6, 7]]];
  columns.forEach(([x, y, lanes], i) => {
    code.push(...localGet(DST), ...localGet(t(x)), ...localGet(t(y)), ...shuffleLanes(lanes), ...v128Store(i * dstStride));
  });
  code.push(...localGet(SRC), ...i32Const(16), I32_ADD, ...localSet(SRC));
  code.push(...localGet(DST), ...i32Const(4 * dstStride), I32_ADD, ...localSet(DST));
  code.push(...localGet(GROUPS), ...i32Const(1), I32_SUB, ...localTee(GROUPS), ...BR_IF_LOOP, END);
  return { name, params: [I32, I32, I32, I32], results: [], locals: [[1, I32], [8, V128]], code };
}

/**
 * The kernel module: `block` (the micro-kernel), `copyA`/`copyB` and `transposeA`/`transposeB`
 * (packing into 4- and 8-wide panels). Memory is imported as `env.memory`.
 */
export function gemmModule(options: { fma: boolean; sharedMemory: boolean }): Uint8Array<ArrayBuffer> {
  return assembleModule(
    [blockFunction(options.fma), copyFunction('copyA', MR / 4), copyFunction('copyB', NR / 4), transposeFunction('transposeA', 4 * MR), transposeFunction('transposeB', 4 * NR)],
    options,
  );
}

/** The module's exports (byte addresses, see the functions' comments). */
interface Kernels {
  block(a: number, b: number, c: number, kc: number, panels: number, ldc: number, accumulate: number): void;
  copyA(src: number, ldSrc: number, dst: number, count: number): void;
  copyB(src: number, ldSrc: number, dst: number, count: number): void;
  transposeA(src: number, ldSrc: number, dst: number, groups: number): void;
  transposeB(src: number, ldSrc: number, dst: number, groups: number): void;
}

/** One product `C = op(A) · op(B)` per batch entry; offsets and strides in bytes / floats as named. */
export interface GemmProblem {
  /** Rows of `op(A)` and `C`. */
  readonly m: number;
  /** Columns of `op(B)` and `C`. */
  readonly n: number;
  /** Columns of `op(A)`, rows of `op(B)`. */
  readonly k: number;
  /** `A` is stored `[k, m]` (row-major) and used transposed; otherwise stored `[m, k]`. */
  readonly transposeA: boolean;
  /** `B` is stored `[n, k]` and used transposed; otherwise stored `[k, n]`. */
  readonly transposeB: boolean;
  /** Number of products. */
  readonly batch: number;
  /** Byte offsets of the first `A`, `B` and `C` in memory. */
  readonly a: number;
  readonly b: number;
  readonly c: number;
  /** Floats between consecutive batch entries of `A` and `B` (0 broadcasts one matrix to all). */
  readonly strideA: number;
  readonly strideB: number;
}

/** Allocates and frees bytes of the memory the kernel runs on (the WASM backend's `malloc`). */
export interface HeapAllocator {
  malloc(bytes: number): number;
  free(pointer: number): void;
}

/** Matrix products on one `WebAssembly.Memory`, see the module comment. */
export class WasmGemm {
  /**
   * Whether the micro-kernel uses fused multiply-adds: relaxed SIMD validates here and
   * `preferFused` (default true) was not set to false.
   */
  readonly fused: boolean;
  private readonly kernels: Kernels;
  private buffer = { pointer: 0, bytes: 0 };

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly heap: HeapAllocator,
    options: { preferFused?: boolean } = {},
  ) {
    const sharedMemory = isShared(memory);
    const fusedBytes = gemmModule({ fma: true, sharedMemory });
    this.fused = options.preferFused !== false && WebAssembly.validate(fusedBytes);
    const bytes = this.fused ? fusedBytes : gemmModule({ fma: false, sharedMemory });
    this.kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Kernels;
  }

  /** Runs `problem`, overwriting `C`. Operands must not overlap `C`. */
  run(problem: GemmProblem): void {
    const { m, n, k, batch } = problem;
    if (m === 0 || n === 0 || batch === 0) return;
    if (k === 0) {
      new Float32Array(this.memory.buffer, problem.c, batch * m * n).fill(0);
      return;
    }
    const nPanels = Math.ceil(n / NR);
    const packedB = Math.min(KC, k) * nPanels * NR;
    const packedA = Math.min(KC, k) * Math.ceil(Math.min(MC, m) / MR) * MR;
    const base = this.scratch(4 * (packedB + packedA + MR * NR));
    // The view is taken after the allocation: growing the memory replaces its buffer.
    const space: Space = { f: new Float32Array(this.memory.buffer), bp: base >> 2, ap: (base >> 2) + packedB, tile: (base >> 2) + packedB + packedA };
    for (let e = 0; e < batch; e++) {
      this.product(problem, space, (problem.a >> 2) + e * problem.strideA, (problem.b >> 2) + e * problem.strideB, (problem.c >> 2) + e * m * n);
    }
  }

  /** Frees the packing buffer (the instance allocates a new one if used again). */
  dispose(): void {
    if (this.buffer.bytes > 0) this.heap.free(this.buffer.pointer);
    this.buffer = { pointer: 0, bytes: 0 };
  }

  /**
   * A 16-byte aligned packing buffer of at least `bytes`, kept between calls (at most ~1.2 MiB at
   * d 1024): one allocation per size increase instead of a malloc and free per product.
   */
  private scratch(bytes: number): number {
    if (this.buffer.bytes < bytes) {
      this.dispose();
      this.buffer = { pointer: this.heap.malloc(bytes + 16), bytes };
    }
    return (this.buffer.pointer + 15) & ~15;
  }

  /** One product; `a0`, `b0`, `c0` are float indices into `space.f`. */
  private product(p: GemmProblem, space: Space, a0: number, b0: number, c0: number): void {
    const { m, n, k } = p;
    const { f, bp, ap, tile } = space;
    const { block } = this.kernels;
    const nPanels = Math.ceil(n / NR);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      if (p.transposeB) this.packBTransposed(f, b0, k, pc, kc, n, bp);
      else this.packB(f, b0, n, pc, kc, n, bp);
      const accumulate = pc > 0 ? 1 : 0;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        if (p.transposeA) this.packATransposed(f, a0, m, ic, mc, pc, kc, ap);
        else this.packA(f, a0, k, ic, mc, pc, kc, ap);
        const full = Math.floor(mc / MR);
        const mPanels = Math.ceil(mc / MR);
        for (let j = 0; j < nPanels; j++) {
          const width = Math.min(NR, n - j * NR);
          const panelB = 4 * (bp + j * kc * NR);
          const first = width === NR ? full : 0;
          if (first > 0) block(4 * ap, panelB, 4 * (c0 + ic * n + j * NR), kc, first, 4 * n, accumulate);
          // Edge tiles (fewer than 4 rows or 8 columns left) go through a scratch tile.
          for (let i = first; i < mPanels; i++) {
            block(4 * (ap + i * kc * MR), panelB, 4 * tile, kc, 1, 4 * NR, 0);
            const rows = Math.min(MR, mc - i * MR);
            for (let r = 0; r < rows; r++) {
              const out = c0 + (ic + i * MR + r) * n + j * NR;
              for (let x = 0; x < width; x++) f[out + x] = (accumulate ? f[out + x]! : 0) + f[tile + r * NR + x]!;
            }
          }
        }
      }
    }
  }

  /** Packs rows `pc..pc+kc` of `B` (`[k, n]`, row stride `ldb`) into 8-column panels `[kc][8]`. */
  private packB(f: Float32Array, b0: number, ldb: number, pc: number, kc: number, n: number, dst: number): void {
    for (let j = 0; j * NR < n; j++) {
      const width = Math.min(NR, n - j * NR);
      const out = dst + j * kc * NR;
      const src = b0 + pc * ldb + j * NR;
      if (width === NR) this.kernels.copyB(4 * src, 4 * ldb, 4 * out, kc);
      else packSlow(f, kc, NR, width, (p, x) => f[src + p * ldb + x]!, out);
    }
  }

  /** As {@link packB} for `B` stored `[n, k]` (row stride `ldb`) and used transposed. */
  private packBTransposed(f: Float32Array, b0: number, ldb: number, pc: number, kc: number, n: number, dst: number): void {
    const groups = kc >> 2;
    for (let j = 0; j * NR < n; j++) {
      const width = Math.min(NR, n - j * NR);
      const out = dst + j * kc * NR;
      const src = b0 + j * NR * ldb + pc;
      if (width < NR) {
        packSlow(f, kc, NR, width, (p, x) => f[src + x * ldb + p]!, out);
        continue;
      }
      if (groups > 0) {
        this.kernels.transposeB(4 * src, 4 * ldb, 4 * out, groups);
        this.kernels.transposeB(4 * (src + 4 * ldb), 4 * ldb, 4 * (out + 4), groups);
      }
      for (let p = 4 * groups; p < kc; p++) for (let x = 0; x < NR; x++) f[out + p * NR + x] = f[src + x * ldb + p]!;
    }
  }

  /** Packs rows `ic..ic+mc`, columns `pc..pc+kc` of `A` (`[m, k]`, row stride `lda`) into 4-row panels `[kc][4]`. */
  private packA(f: Float32Array, a0: number, lda: number, ic: number, mc: number, pc: number, kc: number, dst: number): void {
    const groups = kc >> 2;
    for (let i = 0; i * MR < mc; i++) {
      const rows = Math.min(MR, mc - i * MR);
      const out = dst + i * kc * MR;
      const src = a0 + (ic + i * MR) * lda + pc;
      if (rows < MR) {
        packSlow(f, kc, MR, rows, (p, r) => f[src + r * lda + p]!, out);
        continue;
      }
      if (groups > 0) this.kernels.transposeA(4 * src, 4 * lda, 4 * out, groups);
      for (let p = 4 * groups; p < kc; p++) for (let r = 0; r < MR; r++) f[out + p * MR + r] = f[src + r * lda + p]!;
    }
  }

  /** As {@link packA} for `A` stored `[k, m]` (row stride `lda`) and used transposed. */
  private packATransposed(f: Float32Array, a0: number, lda: number, ic: number, mc: number, pc: number, kc: number, dst: number): void {
    for (let i = 0; i * MR < mc; i++) {
      const rows = Math.min(MR, mc - i * MR);
      const out = dst + i * kc * MR;
      const src = a0 + pc * lda + ic + i * MR;
      if (rows === MR) this.kernels.copyA(4 * src, 4 * lda, 4 * out, kc);
      else packSlow(f, kc, MR, rows, (p, r) => f[src + p * lda + r]!, out);
    }
  }
}

/** Where one product's packed blocks and edge tile lie (float indices into `f`). */
interface Space {
  f: Float32Array;
  bp: number;
  ap: number;
  tile: number;
}

/** An edge panel, element by element: `[kc][width]` from `at(p, x)` for `x < used`, zeros beyond. */
function packSlow(f: Float32Array, kc: number, width: number, used: number, at: (p: number, x: number) => number, out: number): void {
  for (let p = 0; p < kc; p++) for (let x = 0; x < width; x++) f[out + p * width + x] = x < used ? at(p, x) : 0;
}
