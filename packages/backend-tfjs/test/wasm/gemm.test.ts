import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { WasmGemm, gemmModule } from '../../src/wasm/gemm.js';

// Node 20's V8 ships relaxed SIMD behind a flag (the WASM backend's loader sets it the same way).
setFlagsFromString('--experimental-wasm-relaxed-simd');

/** A bump allocator over a fresh memory, counting live allocations. */
function heapOf(memory: WebAssembly.Memory) {
  let top = 1024;
  let live = 0;
  return {
    live: () => live,
    malloc(bytes: number) {
      const at = top;
      top += bytes;
      if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
      live++;
      return at;
    },
    free() {
      live--;
    },
  };
}

/** `op(A)·op(B)` in float64 by the definition. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!);
      out[i * n + j] = s;
    }
  return out;
}

const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7919 + i * 12.9898) * 2);

describe('WasmGemm', () => {
  it('assembles a module that validates, fused and not, shared memory and not', () => {
    for (const fma of [false, true]) for (const sharedMemory of [false, true]) expect(WebAssembly.validate(gemmModule({ fma, sharedMemory }))).toBe(true);
  });

  for (const preferFused of [true, false]) {
    it(`matches the definition for every transpose, edge sizes and depth blocks (${preferFused ? 'fused' : 'multiply + add'})`, () => {
      const memory = new WebAssembly.Memory({ initial: 16 });
      const heap = heapOf(memory);
      const gemm = new WasmGemm(memory, heap, { preferFused });
      expect(gemm.fused).toBe(preferFused);
      // Sizes straddle the tile (4 × 8), the A block (128 rows) and the depth block (256).
      const shapes: [number, number, number][] = [[1, 1, 1], [3, 7, 5], [4, 8, 256], [13, 17, 300], [130, 9, 513], [5, 64, 31], [129, 33, 257]];
      for (const [m, n, k] of shapes)
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const batch = 2;
            const a = random(batch * m * k, m + k);
            const b = random(batch * k * n, n + 2 * k);
            const pa = heap.malloc(4 * a.length);
            const pb = heap.malloc(4 * b.length);
            const pc = heap.malloc(4 * batch * m * n);
            new Float32Array(memory.buffer, pa, a.length).set(a);
            new Float32Array(memory.buffer, pb, b.length).set(b);
            new Float32Array(memory.buffer, pc, batch * m * n).fill(Number.NaN); // overwritten, never read
            gemm.run({ m, n, k, transposeA: ta, transposeB: tb, batch, a: pa, b: pb, c: pc, strideA: m * k, strideB: k * n });
            const c = new Float32Array(memory.buffer, pc, batch * m * n);
            for (let e = 0; e < batch; e++) {
              const want = reference(a.subarray(e * m * k), b.subarray(e * k * n), m, n, k, ta, tb);
              let err = 0;
              for (let i = 0; i < m * n; i++) err = Math.max(err, Math.abs(c[e * m * n + i]! - want[i]!));
              expect(err, `[${m}, ${n}, ${k}] ta=${ta} tb=${tb} entry ${e}`).toBeLessThan(1e-5 * k + 1e-6);
            }
          }
    });
  }

  it('broadcasts a stride-0 operand, writes zeros for k = 0, keeps one packing buffer and frees it', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const heap = heapOf(memory);
    const gemm = new WasmGemm(memory, heap);
    const [m, n, k] = [6, 10, 12];
    const a = random(m * k, 1);
    const b = random(3 * k * n, 2);
    const pa = heap.malloc(4 * a.length);
    const pb = heap.malloc(4 * b.length);
    const pc = heap.malloc(4 * 3 * m * n);
    new Float32Array(memory.buffer, pa, a.length).set(a);
    new Float32Array(memory.buffer, pb, b.length).set(b);
    gemm.run({ m, n, k, transposeA: false, transposeB: false, batch: 3, a: pa, b: pb, c: pc, strideA: 0, strideB: k * n });
    const c = new Float32Array(memory.buffer, pc, 3 * m * n);
    for (let e = 0; e < 3; e++) {
      const want = reference(a, b.subarray(e * k * n), m, n, k, false, false);
      for (let i = 0; i < m * n; i++) expect(c[e * m * n + i]).toBeCloseTo(want[i]!, 4);
    }
    gemm.run({ m, n, k, transposeA: false, transposeB: false, batch: 3, a: pa, b: pb, c: pc, strideA: 0, strideB: k * n });
    expect(heap.live()).toBe(4); // a, b, c and one packing buffer, kept across runs
    c.fill(5);
    gemm.run({ m, n, k: 0, transposeA: false, transposeB: false, batch: 3, a: pa, b: pb, c: pc, strideA: 0, strideB: 0 });
    expect([...new Float32Array(memory.buffer, pc, 3 * m * n)].every((v) => v === 0)).toBe(true);
    gemm.dispose();
    expect(heap.live()).toBe(3);
  });
});
