/**
 * Column sums of a float32 `[rows, width]` matrix in float64, as one WebAssembly SIMD loop on the
 * WASM backend's memory: the bias, gain and LayerNorm gradients of `fused.ts` (`StaircaseSumRows`).
 * In JavaScript the loop took ~1 ms per `[1024, 1024]` gradient, 15 of them per Transformer-XL step
 * at the reference size; here each group of 4 floats is 1 load, 2 widenings and 2 float64x2 adds.
 */
import {
  BR_IF_LOOP,
  END,
  F64X2_ADD,
  F64X2_PROMOTE_LOW,
  I32,
  I32_ADD,
  I32_SUB,
  LOOP,
  V128,
  type WasmFunction,
  instantiate,
  i32Const,
  localGet,
  localSet,
  localTee,
  shuffleLanes,
  v128Load,
  v128Store,
} from './asm.js';
import type { HeapAllocator } from './gemm.js';

/**
 * `columnSums(src, acc, rows, groups, skip)`: for `rows` rows of `groups` × 4 floats from byte
 * `src` (each row followed by `skip` bytes, the columns past the last whole group), adds each
 * column into float64 `acc` (`4 · groups` doubles). `rows` and `groups` are at least 1.
 */
function columnSumsFunction(): WasmFunction {
  const [SRC, ACC, ROWS, GROUPS, SKIP] = [0, 1, 2, 3, 4];
  const [A, G] = [5, 6]; // i32 locals
  const X = 7; // v128 local
  // acc[offset] += widened lanes
  const add = (offset: number, widen: number[]) => [
    ...localGet(A),
    ...localGet(A),
    ...v128Load(offset),
    ...widen,
    ...F64X2_ADD,
    ...v128Store(offset),
  ];
  const code = [...LOOP]; // over rows
  code.push(...localGet(ACC), ...localSet(A), ...localGet(GROUPS), ...localSet(G));
  code.push(...LOOP); // over the row's groups
  code.push(...localGet(SRC), ...v128Load(0), ...localSet(X));
  code.push(...add(0, [...localGet(X), ...F64X2_PROMOTE_LOW]));
  code.push(...add(16, [...localGet(X), ...localGet(X), ...shuffleLanes([2, 3, 0, 1]), ...F64X2_PROMOTE_LOW]));
  code.push(...localGet(SRC), ...i32Const(16), I32_ADD, ...localSet(SRC), ...localGet(A), ...i32Const(32), I32_ADD, ...localSet(A));
  code.push(...localGet(G), ...i32Const(1), I32_SUB, ...localTee(G), ...BR_IF_LOOP, END);
  code.push(...localGet(SRC), ...localGet(SKIP), I32_ADD, ...localSet(SRC));
  code.push(...localGet(ROWS), ...i32Const(1), I32_SUB, ...localTee(ROWS), ...BR_IF_LOOP, END);
  return { name: 'columnSums', params: [I32, I32, I32, I32, I32], results: [], locals: [[2, I32], [1, V128]], code };
}

interface Exports {
  columnSums(src: number, acc: number, rows: number, groups: number, skip: number): void;
}

/** The loop on one memory. */
export class ColumnSums {
  private readonly exports: Exports;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly heap: HeapAllocator,
  ) {
    this.exports = instantiate<Exports>(memory, [columnSumsFunction()]);
  }

  /**
   * Writes the column sums of the float32 `[rows, width]` matrix at byte `src` to float32 `[width]`
   * at byte `dst`, accumulated in float64 (row by row, in order).
   */
  run(src: number, dst: number, rows: number, width: number): void {
    const groups = width >> 2;
    const acc = this.heap.malloc(8 * width + 16);
    try {
      const base = (acc + 15) & ~15;
      // Views are taken after malloc: allocating may grow (and so replace) the memory's buffer.
      const sums = new Float64Array(this.memory.buffer, base, width).fill(0);
      const x = new Float32Array(this.memory.buffer, src, rows * width);
      if (rows > 0 && groups > 0) this.exports.columnSums(src, base, rows, groups, 4 * (width - 4 * groups));
      for (let c = 4 * groups; c < width; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += x[r * width + c]!;
        sums[c] = s;
      }
      new Float32Array(this.memory.buffer, dst, width).set(sums);
    } finally {
      this.heap.free(acc);
    }
  }
}
