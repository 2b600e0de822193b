/**
 * A tiny WebAssembly assembler: the instruction encodings this package's kernels use (WebAssembly
 * core and SIMD specifications), and a module with one imported memory and exported functions.
 * It lets the kernels ship as TypeScript, with no WebAssembly toolchain in the build.
 */

/** Unsigned LEB128. */
export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
/** Signed LEB128. */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
};

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

export const simd = (op: number) => [0xfd, ...uleb(op)];
export const localGet = (i: number) => [0x20, ...uleb(i)];
export const localSet = (i: number) => [0x21, ...uleb(i)];
export const localTee = (i: number) => [0x22, ...uleb(i)];
export const i32Const = (v: number) => [0x41, ...sleb(v)];
export const I32_ADD = 0x6a;
export const I32_SUB = 0x6b;
export const F64_ADD = 0xa0;
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const ELSE = 0x05;
export const END = 0x0b;
/** `br_if 0`: inside a `loop`, jump back to its start. */
export const BR_IF_LOOP = [0x0d, 0];
/** `v128.load` / `v128.store` / `v128.load32_splat` with a constant byte offset (alignment hint 4 bytes). */
export const v128Load = (offset: number) => [...simd(0x00), 2, ...uleb(offset)];
export const v128Store = (offset: number) => [...simd(0x0b), 2, ...uleb(offset)];
export const loadSplat = (offset: number) => [...simd(0x09), 2, ...uleb(offset)];
export const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
export const F32X4_SPLAT = simd(0x13);
export const F32X4_SQRT = simd(0xe3);
export const F32X4_ADD = simd(0xe4);
export const F32X4_SUB = simd(0xe5);
export const F32X4_MUL = simd(0xe6);
export const F32X4_DIV = simd(0xe7);
/** `f32x4.pmin` / `f32x4.pmax`: `b < a ? b : a` / `a < b ? b : a`, one x86 instruction each (`min`/`max` are a sequence). */
export const F32X4_PMIN = simd(0xea);
export const F32X4_PMAX = simd(0xeb);
export const F32X4_LT = simd(0x43);
/** `v128.andnot(a, b)` = `a & ~b`. */
export const V128_ANDNOT = simd(0x4f);
export const I32X4_SHL = simd(0xab);
export const f32x4ExtractLane = (lane: number) => [...simd(0x1f), lane];
/** `v128.const` of four equal float32 lanes. */
export const f32x4Const = (v: number) => [...simd(0x0c), ...Array.from({ length: 4 }, () => [...new Uint8Array(new Float32Array([v]).buffer)]).flat()];
export const F32_ADD = 0x92;
export const F32_MUL = 0x94;
export const F32_SQRT = 0x91;
export const F32_DIV = 0x95;
export const F32_MAX = 0x97;
/** `f32.const`. */
export const f32Const = (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
/** `f32.load` / `f32.store` with a constant byte offset. */
export const f32Load = (offset: number) => [0x2a, 2, ...uleb(offset)];
export const f32Store = (offset: number) => [0x38, 2, ...uleb(offset)];
export const F64X2_ADD = simd(0xf0);
export const F64X2_MUL = simd(0xf2);
/** `f64x2.promote_low_f32x4`: lanes 0 and 1 as doubles. */
export const F64X2_PROMOTE_LOW = simd(0x5f);
export const f64x2ExtractLane = (lane: number) => [...simd(0x21), lane];
/** `f32x4.relaxed_madd(a, b, c)` = a·b + c, fused where the CPU has FMA (relaxed SIMD). */
export const F32X4_RELAXED_MADD = simd(0x105);
/** `i8x16.shuffle` picking f32 lanes: 0–3 from the first operand, 4–7 from the second. */
export const shuffleLanes = (lanes: readonly [number, number, number, number]) => [
  ...simd(0x0d),
  ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
];

/** One exported function: its signature, extra locals (runs of `[count, type]`) and code (without the final `end`). */
export interface WasmFunction {
  readonly name: string;
  readonly params: readonly number[];
  readonly results: readonly number[];
  readonly locals: readonly (readonly [number, number])[];
  readonly code: readonly number[];
}

/** Whether `memory` is shared (a module using it must then declare it so). */
export const isShared = (memory: WebAssembly.Memory): boolean => typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;

/** Assembles `functions` into a module for `memory` (shared or not, as it is) and instantiates it there: the exports. */
export function instantiate<E>(memory: WebAssembly.Memory, functions: readonly WasmFunction[]): E {
  const bytes = assembleModule(functions, { sharedMemory: isShared(memory) });
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as E;
}

/**
 * A module importing `env.memory` (shared with a maximum of 65 536 pages where `sharedMemory`, as
 * a shared memory must be declared) and exporting `functions`.
 */
export function assembleModule(functions: readonly WasmFunction[], options: { sharedMemory: boolean }): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
  const limits = options.sharedMemory ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  const types = functions.flatMap((f) => [0x60, f.params.length, ...f.params, f.results.length, ...f.results]);
  const bodies = functions.map((f) => {
    const body = [f.locals.length, ...f.locals.flatMap(([count, type]) => [...uleb(count), type]), ...f.code, END];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [functions.length, ...types]), // one type per function
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...limits]),
    ...section(3, [functions.length, ...functions.map((_, i) => i)]),
    ...section(7, [functions.length, ...functions.flatMap((f, i) => [...name(f.name), 0x00, i])]),
    ...section(10, [functions.length, ...bodies.flat()]),
  ]);
}

/** Pushes the four lanes of v128 local `v` combined pairwise by scalar `op` (`F32_ADD`, `F32_MAX`). */
export const horizontal = (v: number, op: number): number[] => [
  ...localGet(v),
  ...f32x4ExtractLane(0),
  ...localGet(v),
  ...f32x4ExtractLane(1),
  op,
  ...localGet(v),
  ...f32x4ExtractLane(2),
  ...localGet(v),
  ...f32x4ExtractLane(3),
  op,
  op,
];

/** Adds `bytes` to i32 local `pointer`. */
export const advance = (pointer: number, bytes: number): number[] => [...localGet(pointer), ...i32Const(bytes), I32_ADD, ...localSet(pointer)];

/** Ends a `loop` that runs while i32 local `counter`, decremented here, is non-zero. */
export const countDown = (counter: number): number[] => [...localGet(counter), ...i32Const(1), I32_SUB, ...localTee(counter), ...BR_IF_LOOP, END];

/**
 * A loop over one row of `groups` × 4 floats (`groups` an i32 local, at least 1): each i32 local
 * `pointer` of `pointers` starts from local `start` and steps 16 bytes after `body`; local `counter`
 * counts the groups. After it, each pointer is at its row's end.
 */
export function overRow(counter: number, groups: number, pointers: readonly (readonly [pointer: number, start: number])[], body: readonly number[]): number[] {
  const code = [...localGet(groups), ...localSet(counter)];
  for (const [pointer, start] of pointers) code.push(...localGet(start), ...localSet(pointer));
  code.push(...LOOP, ...body);
  for (const [pointer] of pointers) code.push(...advance(pointer, 16));
  code.push(...countDown(counter));
  return code;
}
