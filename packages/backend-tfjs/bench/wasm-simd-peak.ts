/**
 * The ceiling a WASM matmul kernel works under: peak f32x4 arithmetic of this machine's V8, one
 * thread, in a loop of 8 independent accumulators (no memory traffic), with separate
 * `f32x4.mul` + `f32x4.add` and with relaxed SIMD's fused `f32x4.relaxed_madd`. Compare with what
 * the matmul kernel reaches (`src/wasm/gemm.ts`; docs/BENCHMARKS.md, "The training speed").
 *
 * Build and run (from packages/backend-tfjs):
 *   pnpm exec tsup --config bench/tsup.config.ts && node .tmp/bench/wasm-simd-peak.js
 *
 * The module is assembled with this package's assembler (`src/wasm/asm.ts`). Liftoff is switched
 * off so that the single long call runs optimised (TurboFan) code, as a hot kernel does after tier-up.
 */
import v8 from 'node:v8';
import {
  BR_IF_LOOP,
  END,
  F32,
  F32X4_ADD,
  F32X4_MUL,
  F32X4_RELAXED_MADD,
  I32,
  I32_SUB,
  LOOP,
  V128,
  assembleModule,
  i32Const,
  localGet,
  localSet,
  localTee,
  simd,
} from '../src/wasm/asm.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
v8.setFlagsFromString('--no-liftoff');

const ACCUMULATORS = 8;
const v128Const = (x: number) => {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) view.setFloat32(4 * i, x, true);
  return [...simd(0x0c), ...bytes];
};

/** `run(n)`: n iterations of acc_k = acc_k + a·b for every accumulator; returns a lane of their sum. */
function kernelModule(fused: boolean): Uint8Array<ArrayBuffer> {
  const [n, a, b, acc] = [0, 1, 2, 3]; // local indices: the parameter, two operands, the accumulators
  const code = [...v128Const(1.0000001), ...localSet(a), ...v128Const(0.9999999), ...localSet(b), ...LOOP];
  for (let k = 0; k < ACCUMULATORS; k++) {
    if (fused) code.push(...localGet(a), ...localGet(b), ...localGet(acc + k), ...F32X4_RELAXED_MADD, ...localSet(acc + k));
    else code.push(...localGet(acc + k), ...localGet(a), ...localGet(b), ...F32X4_MUL, ...F32X4_ADD, ...localSet(acc + k));
  }
  code.push(...localGet(n), ...i32Const(1), I32_SUB, ...localTee(n), ...BR_IF_LOOP, END);
  code.push(...localGet(acc));
  for (let k = 1; k < ACCUMULATORS; k++) code.push(...localGet(acc + k), ...F32X4_ADD);
  code.push(...simd(31), 0); // f32x4.extract_lane 0
  return assembleModule([{ name: 'run', params: [I32], results: [F32], locals: [[2 + ACCUMULATORS, V128]], code }], { sharedMemory: false });
}

const iterations = 20_000_000;
for (const fused of [false, true]) {
  const name = fused ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add';
  let run: (n: number) => number;
  try {
    const memory = new WebAssembly.Memory({ initial: 1 });
    run = new WebAssembly.Instance(new WebAssembly.Module(kernelModule(fused)), { env: { memory } }).exports['run'] as (n: number) => number;
  } catch (e) {
    console.log(`${name}: not available (${(e as Error).message})`);
    continue;
  }
  run(1000);
  const t0 = performance.now();
  run(iterations);
  const seconds = (performance.now() - t0) / 1000;
  const flops = iterations * ACCUMULATORS * 4 * 2;
  console.log(`${name}: ${(flops / seconds / 1e9).toFixed(1)} GFLOP/s (one thread)`);
}
