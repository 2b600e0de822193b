/**
 * WebGPU plumbing: providing `navigator.gpu` in Node through the `webgpu` package (Dawn), the fixes
 * onnxruntime-web needs on top of it, and probing for an adapter.
 */
import { isNode, nodeOnlyImport } from './environment.js';

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface AdapterLike {
  info?: AdapterInfoLike;
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}

/** What a WebGPU probe found. */
export interface AdapterProbe {
  /** Set when no usable adapter exists: the one-line reason. */
  error?: string;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, WARP…): correct but slow. */
  software: boolean;
  /** Human-readable adapter description. */
  description: string;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|warp|basic render/i;

/** True for adapters that are a CPU pretending to be a GPU; `auto` must not pick those. */
export function isSoftwareAdapter(adapter: AdapterLike): boolean {
  const info = adapter.info ?? {};
  if (adapter.isFallbackAdapter === true || info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => typeof s === 'string' && SOFTWARE.test(s));
}

/** One-line description of an adapter for reports. */
export function describeAdapter(adapter: AdapterLike): string {
  const info = adapter.info ?? {};
  const parts = [info.description || info.device, info.vendor, info.architecture].filter((s): s is string => !!s);
  return parts.length > 0 ? [...new Set(parts)].join(', ') : 'unnamed adapter';
}

let nodeSetup: Promise<void> | undefined;

/**
 * Makes `navigator.gpu` exist in Node, once, and only when WebGPU is asked for. Leaves an existing
 * `navigator.gpu` alone (a test harness or the user may have provided one).
 */
export function ensureNavigatorGpu(): Promise<void> {
  if (!isNode()) return Promise.resolve();
  nodeSetup ??= setupNode().catch((e) => {
    nodeSetup = undefined;
    throw e;
  });
  return nodeSetup;
}

async function setupNode(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    let webgpu: { create(flags: string[]): unknown; globals: Record<string, unknown> };
    try {
      webgpu = await nodeOnlyImport<typeof webgpu>('webgpu');
    } catch {
      throw new Error('WebGPU in Node needs the `webgpu` package (npm i webgpu) — use --device cpu');
    }
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (g.navigator) {
      // Node ≥ 21 has a global navigator without `gpu`; add the property instead of replacing it.
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    } else {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    }
  }
  patchWriteBuffer((globalThis as { GPUQueue?: { prototype: QueueLike } }).GPUQueue);
}

interface QueueLike {
  writeBuffer(buffer: unknown, offset: number, data: unknown, dataOffset?: number, size?: number): unknown;
}

/**
 * onnxruntime-web's wasm heap is a SharedArrayBuffer and Dawn's `queue.writeBuffer` rejects views of
 * shared memory ("Invalid argument"); copying such a view into a fresh ArrayBuffer first makes it work.
 * Written without closures over module state so it can also be shipped (via `toString`) to the
 * placement child process.
 */
export function patchWriteBuffer(GPUQueueCtor: { prototype: QueueLike } | undefined): void {
  if (!GPUQueueCtor || typeof SharedArrayBuffer === 'undefined') return;
  const proto = GPUQueueCtor.prototype as QueueLike & { __staircaseSharedCopy?: boolean };
  if (proto.__staircaseSharedCopy) return;
  const original = proto.writeBuffer;
  proto.writeBuffer = function writeBuffer(this: QueueLike, ...args: unknown[]) {
    // Forward exactly the arguments given (Dawn distinguishes "absent" from `undefined`), data copied.
    const d = args[2];
    if (ArrayBuffer.isView(d) && d.buffer instanceof SharedArrayBuffer) {
      const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
      // Keep the element type: dataOffset and size are counted in elements for typed arrays.
      const Ctor = d.constructor as new (b: ArrayBuffer) => ArrayBufferView;
      args[2] = d instanceof DataView ? new DataView(bytes.buffer) : new Ctor(bytes.buffer);
    } else if (d instanceof SharedArrayBuffer) {
      args[2] = new Uint8Array(d).slice().buffer;
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  proto.__staircaseSharedCopy = true;
}

/**
 * Looks for a WebGPU adapter (in Node, installing the `webgpu` package's provider first) and says
 * what it is: its one-line description, whether it is a software renderer (which `auto` skips), or
 * why there is none. Never throws.
 */
export async function probeWebGpu(): Promise<AdapterProbe> {
  try {
    await ensureNavigatorGpu();
  } catch (e) {
    return { error: (e as Error).message, software: false, description: '' };
  }
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return { error: 'WebGPU: this browser has no navigator.gpu — use --device wasm', software: false, description: '' };
  let adapter: AdapterLike | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { error: `WebGPU: requesting an adapter failed (${firstLine(e)}) — use --device ${cpuDevice()}`, software: false, description: '' };
  }
  if (!adapter) {
    const hint = isNode() ? 'install a Vulkan driver, e.g. mesa-vulkan-drivers' : 'enable WebGPU in the browser';
    return { error: `WebGPU: no adapter found (${hint}) — use --device ${cpuDevice()}`, software: false, description: '' };
  }
  return { software: isSoftwareAdapter(adapter), description: describeAdapter(adapter) };
}

function cpuDevice(): string {
  return isNode() ? 'cpu' : 'wasm';
}

function firstLine(e: unknown): string {
  return String((e as { message?: string } | null)?.message ?? e).split('\n')[0]!;
}

/**
 * V8 in Node compiles onnxruntime-web's asyncify wasm (the WebGPU build, tens of MB of code) with
 * TurboFan in the background, and Node's event loop waits for that compile to drain: measured here,
 * a session that runs in ~2 s took minutes (or never finished on a loaded 2-core machine). Compiling
 * it with the baseline compiler only avoids that; the flag is set just while the module is
 * instantiated and cleared afterwards, so other wasm in the process is unaffected.
 */
export async function withBaselineWasmCompile<T>(fn: () => Promise<T>): Promise<T> {
  if (!isNode()) return fn();
  const v8 = await nodeOnlyImport<typeof import('node:v8')>('node:v8');
  v8.setFlagsFromString('--liftoff-only');
  try {
    return await fn();
  } finally {
    v8.setFlagsFromString('--no-liftoff-only');
  }
}
