/**
 * The ceiling a WASM matmul kernel works under: peak f32x4 arithmetic of this machine's V8, one
 * thread, in a loop of 8 independent accumulators (no memory traffic), with separate
 * `f32x4.mul` + `f32x4.add` and with relaxed SIMD's fused `f32x4.relaxed_madd`. Compare with what
 * the matmul kernel reaches (`src/wasm-gemm.ts`; docs/BENCHMARKS.md, "The training speed").
 *
 *   node packages/backend-tfjs/bench/wasm-simd-peak.mjs
 *
 * The module is assembled here byte by byte (no WebAssembly toolchain is installed on these
 * machines). Liftoff is switched off so that the single long call runs optimised (TurboFan) code,
 * as a hot kernel does after tier-up.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
v8.setFlagsFromString('--no-liftoff');

const ACCUMULATORS = 8;
const leb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
const simd = (op) => [0xfd, ...leb(op)];
const OP = { v128Const: 12, extractLane: 31, add: 228, mul: 230, relaxedMadd: 0x105 };
const f32x4 = (x) => {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) view.setFloat32(4 * i, x, true);
  return [...bytes];
};

/** `run(n)`: n iterations of acc_k = acc_k + a·b for every accumulator; returns a lane of their sum. */
function kernelModule(fused) {
  const [n, a, b, acc] = [0, 1, 2, 3]; // local indices: the parameter, two operands, the accumulators
  const code = [...simd(OP.v128Const), ...f32x4(1.0000001), 0x21, a, ...simd(OP.v128Const), ...f32x4(0.9999999), 0x21, b];
  code.push(0x03, 0x40); // loop
  for (let k = 0; k < ACCUMULATORS; k++) {
    if (fused) code.push(0x20, a, 0x20, b, 0x20, acc + k, ...simd(OP.relaxedMadd), 0x21, acc + k);
    else code.push(0x20, acc + k, 0x20, a, 0x20, b, ...simd(OP.mul), ...simd(OP.add), 0x21, acc + k);
  }
  code.push(0x20, n, 0x41, 1, 0x6b, 0x22, n, 0x0d, 0, 0x0b); // n -= 1; continue while n ≠ 0; end
  code.push(0x20, acc);
  for (let k = 1; k < ACCUMULATORS; k++) code.push(0x20, acc + k, ...simd(OP.add));
  code.push(...simd(OP.extractLane), 0, 0x0b);
  const fn = [0x01, 2 + ACCUMULATORS, 0x7b, ...code]; // one run of v128 locals, then the code
  const section = (id, bytes) => [id, ...leb(bytes.length), ...bytes];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // type (i32) → f32
    ...section(3, [1, 0]),
    ...section(7, [1, 3, ...new TextEncoder().encode('run'), 0, 0]),
    ...section(10, [1, ...leb(fn.length), ...fn]),
  ]);
}

const iterations = 20_000_000;
for (const fused of [false, true]) {
  const name = fused ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add';
  let run;
  try {
    run = new WebAssembly.Instance(new WebAssembly.Module(kernelModule(fused))).exports.run;
  } catch (e) {
    console.log(`${name}: not available (${e.message})`);
    continue;
  }
  run(1000);
  const t0 = performance.now();
  run(iterations);
  const seconds = (performance.now() - t0) / 1000;
  const flops = iterations * ACCUMULATORS * 4 * 2;
  console.log(`${name}: ${(flops / seconds / 1e9).toFixed(1)} GFLOP/s (one thread)`);
}
